"""Answers judged while the notebook still runs (grader.earlyjudge): the judgement is the
one ScoreCaptures would make, it is used only for the very answer and parameters it was made
for, and everything else is judged at the end as before."""

from __future__ import annotations

import nbformat
import pytest

from grader import earlyjudge, scoring
from grader import payload as P
from grader.capture import capture_value
from grader.items import DEFAULT_PARAMS, REGISTRY

LAM = REGISTRY["lam_solution"]
STAR = REGISTRY["i_star"]
RIGHT = capture_value("(m/m_l)**(d/(d-2))")
SLIP = capture_value("(m/m_l)**(d/(d-1))")
OFF_BY_ONE = capture_value("d/2")


def _cell(item_id: str, answer: P.Answer | None) -> nbformat.NotebookNode:
    """An executed hidden-test cell of ``item_id`` holding ``answer``'s capture."""
    cell = nbformat.v4.new_code_cell("grade(...)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": item_id,
                                 "points": REGISTRY[item_id].points}
    if answer is not None:
        cell.outputs = [nbformat.v4.new_output("display_data", data={
            P.MIME: {"item": item_id, "answer": P.to_json(answer)}})]
    return cell


@pytest.fixture
def count_judged(monkeypatch):
    """How many answers ``scoring.judge_all`` was asked to judge, call by call."""
    calls: list[list[str]] = []
    real = scoring.judge_all

    def spy(pending, *args, **kwargs):
        calls.append([item.id for item, _ in pending])
        return real(pending, *args, **kwargs)

    monkeypatch.setattr(scoring, "judge_all", spy)
    return calls


def test_early_judgements_are_the_late_ones(count_judged) -> None:
    """Judged in the background, then scored: the same results (score, tag) as judging at
    the end, and ScoreCaptures judges nothing again."""
    cells = [_cell("lam_solution", RIGHT), _cell("i_star", OFF_BY_ONE)]
    late = scoring.score_cells(cells)
    count_judged.clear()
    judge = earlyjudge.EarlyJudge(DEFAULT_PARAMS, scoring.CHECK_SECONDS)
    judge.submit(LAM, RIGHT)
    judge.submit(STAR, OFF_BY_ONE)
    judge.submit(LAM, RIGHT)  # a repeat is not judged twice
    judge.close()
    early = scoring.score_cells(cells, early=lambda item, answer: judge.judgement(
        item, answer, DEFAULT_PARAMS, scoring.CHECK_SECONDS))
    assert [(r.score, r.tag) for r in early] == [(r.score, r.tag) for r in late] == [
        (3.0, "ok"), (0.0, "off_by_one_index")]
    assert count_judged == []  # both were judged early, in the judge's own child


def test_only_the_very_answer_and_parameters_reuse_a_judgement(count_judged) -> None:
    """A judgement made for one answer is not used for another, nor under other parameters
    or another time limit: those are judged at the end."""
    judge = earlyjudge.EarlyJudge(DEFAULT_PARAMS, scoring.CHECK_SECONDS)
    judge.submit(LAM, RIGHT)
    judge.close()
    assert judge.judgement(LAM, RIGHT, DEFAULT_PARAMS, scoring.CHECK_SECONDS).fraction == 1
    assert judge.judgement(LAM, SLIP, DEFAULT_PARAMS, scoring.CHECK_SECONDS) is None
    assert judge.judgement(LAM, RIGHT, {**DEFAULT_PARAMS, "d": 64}, 10.0) is None
    assert judge.judgement(LAM, RIGHT, DEFAULT_PARAMS, 3.0) is None
    count_judged.clear()
    [result] = scoring.score_cells([_cell("lam_solution", SLIP)], early=lambda item, answer:
                                   judge.judgement(item, answer, DEFAULT_PARAMS,
                                                   scoring.CHECK_SECONDS))
    assert (result.score, count_judged) == (0.0, [["lam_solution"]])


def test_a_missing_answer_and_a_closed_or_disabled_judge() -> None:
    """A cell with no capture is 'missing' whatever the early judge holds; after close, or
    with no positive time limit, nothing more is queued (and nothing waits)."""
    judge = earlyjudge.EarlyJudge(DEFAULT_PARAMS, scoring.CHECK_SECONDS)
    judge.close()
    judge.submit(LAM, RIGHT)
    assert judge.judgement(LAM, RIGHT, DEFAULT_PARAMS, scoring.CHECK_SECONDS) is None
    off = earlyjudge.EarlyJudge({}, -1.0)
    off.submit(LAM, RIGHT)
    assert off._thread is None
    [result] = scoring.score_cells([_cell("lam_solution", None)],
                                   early=lambda item, answer: pytest.fail("asked"))
    assert (result.score, result.tag) == (0.0, "missing")
