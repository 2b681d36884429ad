"""Checks for symbolic and numeric answers: expressions, equations, numbers, choices.

Each check is a small frozen dataclass with ``judge(answer, item_id, params)`` returning
a :class:`~grader.results.Judgement`.  Wrong answers are matched against the item's
misconception catalogue so the feedback names the slip, not just "wrong".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from grader import equivalence as eqv
from grader.parse import AnswerError, ParseError, parse_student
from grader.payload import (
    Answer,
    BoolAnswer,
    NumberAnswer,
    SequenceAnswer,
    SympyAnswer,
    TextAnswer,
    UnsupportedAnswer,
)
from grader.results import Judgement, Verdict, correct, wrong
from grader.srepr import parse_srepr
from solutions.derivation import SYMBOLS

Params = Mapping[str, Any]
LAM = SYMBOLS["lam"]
FLOAT_PI = ("Right, except that pi is a float here, so the answer is no longer exact: np.pi or "
            "math.pi was used, or a float such as 2.0 made sympy evaluate pi. Use sympy's sp.pi, "
            "and integers or sp.Rational instead of floats.")
FLOAT_PI_TAG = "float_pi"


@dataclass(frozen=True)
class Misconception:
    """A recognised wrong answer and what to tell the student about it."""

    tag: str
    """stable tag, counted in the class report"""
    message: str
    """the targeted feedback (teaches; never states the answer)"""
    answer: Any = None
    """the wrong answer it recognises: a sympy expression, an Eq, or a tuple of numbers"""
    fraction: float = 0.0
    """share of the points it still earns"""

    def judgement(self, detail: str = "") -> Judgement:
        """The judgement for an answer that shows this misconception."""
        verdict = Verdict.PARTIAL if self.fraction > 0 else Verdict.INCORRECT
        return Judgement(self.fraction, verdict, self.tag, self.message, detail)


_STRING_NOTE = (" (The question asks for a sympy expression: yours is a string, which the "
                "notebook's own check refuses. Build it from the notebook's symbols.)")


def to_sympy(answer: Answer) -> sp.Basic:
    """Rebuild a captured or typed answer as a sympy object, safely."""
    if isinstance(answer, SympyAnswer):
        return parse_srepr(answer.srepr, SYMBOLS)
    if isinstance(answer, TextAnswer):
        return parse_student(answer.text, SYMBOLS)
    raise TypeError(type(answer).__name__)


def invalid(answer: Answer, expected: str) -> Judgement:
    """The judgement for an answer of the wrong kind."""
    if isinstance(answer, UnsupportedAnswer):
        got = f"a {answer.type_name}"
    elif isinstance(answer, SequenceAnswer):
        got = "a list"
    else:
        got = {NumberAnswer: "a number", BoolAnswer: "True/False", TextAnswer: "a string",
               SympyAnswer: "a sympy object"}.get(type(answer), type(answer).__name__)
    return wrong("wrong_type", f"Expected {expected}, but got {got}.", verdict=Verdict.INVALID)


def _parse_failure(exc: AnswerError) -> Judgement:
    text = exc.caret() if isinstance(exc, ParseError) else ""
    msg = f"{exc}\n{text}".rstrip()
    return wrong("unparsable", msg, detail=type(exc).__name__, verdict=Verdict.INVALID)


def symbol_names(expr: sp.Basic) -> set[str]:
    return {s.name for s in expr.free_symbols}


@dataclass(frozen=True)
class ExprCheck:
    """An expression answer, judged for equivalence (not form) with the reference."""

    reference: sp.Expr
    """the answer key's expression"""
    variables: tuple[str, ...]
    """the symbols the answer may use"""
    hint: str
    """feedback for a wrong answer that matches no misconception"""
    catalogue: tuple[Misconception, ...] = ()
    """recognised wrong answers"""
    forbidden: Mapping[str, Misconception] = field(default_factory=dict)
    """symbols whose presence is itself a known slip (e.g. b left in lambda)"""
    not_symbolic: Misconception | None = None
    """what to say when a plain number is given instead of an expression"""

    def warm(self, item_id: str, params: Params) -> None:
        """Evaluate the grader's own expressions once, before any student answer."""
        eqv.values(self.reference, item_id)
        for m in self.catalogue:
            if isinstance(m.answer, sp.Expr):
                eqv.values(m.answer, item_id)

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge one answer."""
        if isinstance(answer, NumberAnswer) and self.not_symbolic:
            return self.not_symbolic.judgement()
        if not isinstance(answer, (SympyAnswer, TextAnswer)):
            return invalid(answer, "a sympy expression")
        try:
            expr = to_sympy(answer)
        except AnswerError as exc:
            return _parse_failure(exc)
        if not isinstance(expr, sp.Expr):
            return wrong("wrong_type", "Expected an expression (not an equation, list or "
                         "True/False).", detail=sp.srepr(expr)[:200], verdict=Verdict.INVALID)
        judgement = self.judge_expr(eqv.rationalise(expr), item_id)
        exact = eqv.exact_pi(expr) if judgement.fraction < 1 else None
        if exact is not None and self.judge_expr(eqv.rationalise(exact), item_id).fraction == 1:
            return Judgement(0.5, Verdict.PARTIAL, FLOAT_PI_TAG, FLOAT_PI)
        if isinstance(answer, TextAnswer) and judgement.fraction >= 1:
            return dataclasses.replace(judgement, message=judgement.message + _STRING_NOTE)
        return judgement

    def judge_expr(self, expr: sp.Expr, item_id: str) -> Judgement:
        """Judge an already-rebuilt expression."""
        names = symbol_names(expr)
        if names - set(self.variables):  # a symbol may cancel: (lam*b)**e/b**e uses no b,
            # nor exp(log(b**e*m/m_l)/e)/b, which no simplification undoes: tested in value
            expr = sp.expand_power_base(expr, force=True)
            for sym in sorted(expr.free_symbols, key=str):
                if sym.name not in self.variables:
                    expr = eqv.drop_unused(expr, sym, item_id) or expr
            names = symbol_names(expr)
        for name in sorted(names):
            if name in self.forbidden:
                return self.forbidden[name].judgement()
        outcome = eqv.compare(expr, self.reference, item_id)
        if outcome is not eqv.Equivalence.DIFFERENT:
            return correct(detail=f"equivalence: {outcome.value}")
        student = eqv.values(expr, item_id)
        for m in self.catalogue:
            if isinstance(m.answer, sp.Expr) and eqv.agree(student, eqv.values(m.answer, item_id)):
                return m.judgement()
        if not names and self.reference.free_symbols and self.not_symbolic:
            return self.not_symbolic.judgement()
        if not names and _worked_case(expr, self.reference):
            return wrong("not_symbolic", "Your answer is a number: the right one for the "
                         "notebook's worked case, but the question asks for a sympy expression "
                         f"in {', '.join(self.variables)}, which holds for every value of them.",
                         detail=str(expr)[:300])
        extra = names - set(self.variables)
        if extra:
            return wrong("extra_symbol", f"Your answer uses {', '.join(sorted(extra))}, but it "
                         f"should depend only on {', '.join(self.variables)}.")
        return wrong("wrong_expression", self.hint, detail=str(expr)[:300])


_WORKED_CASE = {SYMBOLS["d"]: 128, SYMBOLS["m"]: 16_384, SYMBOLS["m_l"]: 4096,
                SYMBOLS["b"]: 10_000}
"""The notebook's worked case: 4096 -> 16384 tokens, d = 128, base 10,000."""


def _worked_case(number: sp.Expr, reference: sp.Expr) -> bool:
    """Is ``number`` the reference's value in the worked case (``i_star = 63``)?"""
    if not reference.free_symbols:
        return False
    value = reference.subs(_WORKED_CASE)
    if value.free_symbols:
        return False
    try:
        return abs(float(number) - float(value)) <= 1e-9 * max(1.0, abs(float(value)))
    except (TypeError, ValueError, OverflowError):
        return False


@dataclass(frozen=True)
class StepForm:
    """What a step's equation must show beyond its value. Two steps can be equal as equations
    (``(lam*b)**e = ...`` and ``lam**e*b**e = ...``): ``done(eq)`` says whether this step's
    own operation was carried out, and ``message`` what is left to do (never the result)."""

    done: Callable[[sp.Equality], bool]
    message: str


def _lam_side(eq: sp.Equality) -> str:
    """Which side of ``eq`` holds lam: "lhs", "rhs" or "" (both or neither)."""
    sides = [name for name, side in (("lhs", eq.lhs), ("rhs", eq.rhs))
             if LAM in side.free_symbols]
    return sides[0] if len(sides) == 1 else ""


@dataclass(frozen=True)
class EquationCheck:
    """An equation answer, checked as an equation (sides, orientation, solution for lam)."""

    reference: sp.Equality
    """the answer key's equation"""
    chain: tuple[tuple[str, sp.Equality], ...]
    """the derivation's steps in order, named, to say which step was skipped or merged"""
    solution: sp.Expr
    """the value of lam the equation must give"""
    hint: str
    """feedback for an unrecognised wrong equation"""
    lam_catalogue: tuple[Misconception, ...] = ()
    """misconceptions recognised from the lam the student's equation gives"""
    catalogue: tuple[Misconception, ...] = ()
    """misconceptions recognised from the equation itself"""
    allow_factor: bool = True
    """accept sides scaled by one common constant (e.g. 2*pi not yet cancelled)"""
    partial: float = 0.5
    """share of the points for a right equation in the wrong form"""
    no_lambda: Misconception | None = None
    """what to say about an equation without lam"""
    form: StepForm | None = None
    """the step's own operation, checked on an equation of the right value"""
    orientation: str = ""
    """said beside full marks when lam is on the other side than in the reference (the same
    equation, but the notebook reads one side of it later)"""

    def warm(self, item_id: str, params: Params) -> None:
        """Evaluate the grader's own expressions once."""
        for m in self.lam_catalogue:
            if isinstance(m.answer, sp.Expr):
                eqv.values(m.answer, item_id)

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge one answer."""
        if not isinstance(answer, (SympyAnswer, TextAnswer)):
            return invalid(answer, "a sympy equation, Eq(left, right)")
        try:
            eq = to_sympy(answer)
        except AnswerError as exc:
            return _parse_failure(exc)
        if isinstance(eq, sp.logic.boolalg.BooleanAtom):
            return wrong("evaluated_equation", "Your Eq(...) evaluated to True or False before it "
                         "reached the grader: sympy decided it at once. Build the two sides "
                         "from the symbols so the equation stays an equation.")
        if not isinstance(eq, sp.Equality):
            return wrong("not_equation", "Expected an equation: use Eq(left, right).",
                         verdict=Verdict.INVALID)
        judgement = self._judge_equation(eqv.rationalise(eq), item_id)
        exact = eqv.exact_pi(eq) if judgement.fraction < 1 else None
        if exact is not None and self._judge_equation(eqv.rationalise(exact),
                                                      item_id).fraction == 1:
            return Judgement(0.5, Verdict.PARTIAL, FLOAT_PI_TAG, FLOAT_PI)
        return judgement

    def _judge_equation(self, eq: sp.Equality, item_id: str) -> Judgement:
        if eqv.same_up_to_constant(eq, self.reference, item_id, self.allow_factor,
                                   strict=True):
            if self.form is not None and not self.form.done(eq):
                return Judgement(self.partial, Verdict.PARTIAL, "step_form", self.form.message)
            if self.orientation and _lam_side(eq) != _lam_side(self.reference):
                return correct(f"Correct. {self.orientation}")
            return correct()
        for m in self.catalogue:
            if eqv.same_up_to_constant(eq, m.answer, item_id):
                return m.judgement()
        if LAM not in eq.free_symbols:
            return (self.no_lambda or Misconception(
                "no_lambda", "Your equation does not contain lam, so it cannot determine it."
            )).judgement()
        if eqv.satisfied_by(eq, LAM, self.solution, item_id, strict=True):
            return Judgement(self.partial, Verdict.PARTIAL, "step_form", self._step_message(eq,
                             item_id))
        return self._wrong_lambda(eq, item_id)

    def _step_message(self, eq: sp.Equality, item_id: str) -> str:
        names = [name for name, _ in self.chain]
        target = next(i for i, (_, e) in enumerate(self.chain) if e == self.reference)
        # steps that are equal as equations (cancel 2*pi / split the power) cannot be told
        # apart by value: credit the student with the furthest one their equation matches
        for k, (_name, step) in reversed(list(enumerate(self.chain))):
            if eqv.same_up_to_constant(eq, step, item_id, allow_factor=False):
                if k < target:
                    todo = ", then ".join(names[k + 1: target + 1])
                    return (f"Your equation is right but this step is not done yet: {todo}. "
                            "It still gives the right lam.")
                return (f"Your equation is right but goes past this step (you already did: "
                        f"{', '.join(names[target + 1: k + 1])}). Give the equation as it "
                        "stands after this step.")
        return ("Your equation gives the right lam, but it is not the equation this step asks "
                "for: it is in another form (both sides multiplied by something, or a step "
                "skipped or merged). Write it as this step describes.")

    def _wrong_lambda(self, eq: sp.Equality, item_id: str) -> Judgement:
        """Name the slip from the lam the equation gives: a catalogued lam that satisfies it
        at every sample point (no solving, so no equation is too slow to recognise)."""
        for m in self.lam_catalogue:
            if isinstance(m.answer, sp.Expr) and eqv.satisfied_by(eq, LAM, m.answer, item_id,
                                                                   where_defined=True):
                return m.judgement(detail=f"solves to {m.answer}")
        return wrong("wrong_equation", self.hint, detail=str(eq)[:300])
