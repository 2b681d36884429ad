"""Typed results: what a check decides about one graded item.

Data flows one way: captured answer -> check -> :class:`Judgement` (a fraction of the
item's points) -> :class:`ItemResult` (points, for nbgrader and the reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Verdict(str, Enum):
    """How an answer was judged."""

    CORRECT = "correct"
    """proven equivalent to the answer key (or agreed numerically everywhere)"""
    PARTIAL = "partial"
    """earns part of the points: right result, a step skipped or merged"""
    INCORRECT = "incorrect"
    """a wrong answer"""
    INVALID = "invalid"
    """the answer could not be read: wrong type, unparsable, raised an exception"""
    MISSING = "missing"
    """no answer was captured: the name was never defined, or the cell did not run"""
    TIMEOUT = "timeout"
    """the answer was too complex to check within the time limit"""


@dataclass(frozen=True)
class Judgement:
    """What a check concludes, independent of how many points the item is worth."""

    fraction: float
    """share of the item's points earned, in [0, 1]"""
    verdict: Verdict
    """the kind of outcome"""
    tag: str
    """a stable machine tag: ``ok``, a misconception tag, or an error tag"""
    message: str
    """feedback for the student: teaches, never reveals the answer"""
    detail: str = ""
    """extra information for the instructor only"""

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction must lie in [0, 1], got {self.fraction!r}")


@dataclass(frozen=True)
class ItemResult:
    """The graded outcome of one registry item for one submission."""

    item: str
    """the registry id of the item (also the nbgrader grade_id)"""
    score: float
    """points earned"""
    max_score: float
    """points available"""
    verdict: Verdict
    """the kind of outcome"""
    tag: str
    """stable machine tag, used by the class report"""
    message: str
    """feedback shown to the student"""
    detail: str = ""
    """information for the instructor only (never shown to students)"""

    @classmethod
    def from_judgement(cls, item: str, points: float, judgement: Judgement) -> ItemResult:
        """Scale a judgement by the item's points (rounded to 1/100 of a point)."""
        return cls(
            item=item,
            score=round(points * judgement.fraction, 2),
            max_score=points,
            verdict=judgement.verdict,
            tag=judgement.tag,
            message=judgement.message,
            detail=judgement.detail,
        )


@dataclass(frozen=True)
class NotebookReport:
    """All graded items of one notebook."""

    notebook: str
    """the notebook (= nbgrader assignment) name"""
    items: tuple[ItemResult, ...] = field(default_factory=tuple)
    """one result per auto-graded item, in notebook order"""
    problems: tuple[str, ...] = field(default_factory=tuple)
    """reasons the notebook could not be graded in full (empty when all went well)"""

    @property
    def score(self) -> float:
        """Total points earned on auto-graded items."""
        return round(sum(r.score for r in self.items), 2)

    @property
    def max_score(self) -> float:
        """Total points available on auto-graded items."""
        return round(sum(r.max_score for r in self.items), 2)

    def by_item(self) -> dict[str, ItemResult]:
        """Results keyed by item id."""
        return {r.item: r for r in self.items}


def correct(message: str = "Correct.", detail: str = "") -> Judgement:
    """Full marks."""
    return Judgement(1.0, Verdict.CORRECT, "ok", message, detail)


def wrong(tag: str, message: str, detail: str = "", verdict: Verdict = Verdict.INCORRECT
          ) -> Judgement:
    """No marks, with a tag that says why."""
    return Judgement(0.0, verdict, tag, message, detail)


@dataclass(frozen=True)
class GradeRecord:
    """One nbgrader grade cell of a graded submission, as the gradebook holds it."""

    name: str
    """the grade cell's grade_id"""
    auto_score: float | None
    """points from autograding (None for a manually graded cell)"""
    max_score: float
    """points available"""
    needs_manual_grade: bool
    """True when an instructor still has to grade the cell"""


@dataclass(frozen=True)
class SubmissionResult:
    """Everything grading one student's notebook produced; saved as the job's journal entry."""

    student: str
    """the student id"""
    assignment: str
    """the assignment id"""
    items: tuple[ItemResult, ...]
    """one result per registry item of the assignment"""
    grades: tuple[GradeRecord, ...] = ()
    """the nbgrader grade cells, to merge into the class gradebook"""
    problem: str = ""
    """a stable tag when the submission could not be graded (empty otherwise)"""
    detail: str = ""
    """the explanation of the problem"""
    notes: tuple[str, ...] = ()
    """warnings that did not stop grading"""

    @property
    def score(self) -> float:
        """Points earned so far (auto-graded, plus manual grades once given)."""
        return round(sum(g.auto_score or 0.0 for g in self.grades), 2)

    @property
    def max_score(self) -> float:
        """Points available, manually graded cells included."""
        return round(sum(g.max_score for g in self.grades), 2)

    def to_dict(self) -> dict:
        """Plain data for the JSON journal."""
        return {
            "student": self.student, "assignment": self.assignment,
            "items": [{**r.__dict__, "verdict": r.verdict.value} for r in self.items],
            "grades": [g.__dict__ for g in self.grades], "problem": self.problem,
            "detail": self.detail, "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        """Rebuild from :meth:`to_dict` data."""
        return cls(
            student=data["student"], assignment=data["assignment"],
            items=tuple(ItemResult(**{**r, "verdict": Verdict(r["verdict"])})
                        for r in data["items"]),
            grades=tuple(GradeRecord(**g) for g in data["grades"]),
            problem=data["problem"], detail=data["detail"], notes=tuple(data["notes"]),
        )
