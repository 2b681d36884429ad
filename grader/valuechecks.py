"""Checks of values: a number or a list of numbers (:class:`NumberCheck`), a choice
(:class:`ChoiceCheck`), and the list of solutions ``sympy.solve`` returns
(:class:`SolutionsCheck`).  Expressions and equations are in :mod:`grader.symbolic`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from grader import equivalence as eqv
from grader.parse import AnswerError
from grader.payload import (
    Answer,
    BoolAnswer,
    NumberAnswer,
    SequenceAnswer,
    SympyAnswer,
    TextAnswer,
    UnsupportedAnswer,
)
from grader.results import Judgement, correct, wrong
from grader.symbolic import Misconception, Params, invalid, symbol_names, to_sympy


def _as_number(answer: Answer) -> float | None:
    if isinstance(answer, NumberAnswer):
        return answer.value
    if isinstance(answer, (SympyAnswer, TextAnswer)):
        try:
            expr = to_sympy(answer)
        except AnswerError:
            return None
        if isinstance(expr, sp.Expr) and expr.is_number:
            value = eqv.value_at(expr, {})
            return float("nan") if value is None else float(value)  # nan: oo, zoo, complex
    return None


@dataclass(frozen=True)
class NumberCheck:
    """One number, or a fixed-length list of numbers, compared to within a relative tolerance."""

    reference: Callable[[Params], tuple[float, ...]]
    """the answer key's values for the given problem parameters"""
    rel_tol: float
    """accepted relative error (matches the precision the question asks for)"""
    hint: str
    """feedback for an unrecognised wrong value"""
    catalogue: tuple[tuple[Misconception, Callable[[Params], tuple[float, ...]]], ...] = ()
    """misconceptions with the values they would produce"""
    python_float: bool = True
    """the question asks for Python floats (its visible check tests the type): a right value
    of another type is told so; False where a sympy number is what it asks for (a limit)"""

    def warm(self, item_id: str, params: Params) -> None:
        """Nothing to precompute."""

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge one answer."""
        expected = self.reference(params)
        items = answer.items if isinstance(answer, SequenceAnswer) else (answer,)
        if len(expected) == 1 and isinstance(answer, SequenceAnswer):
            return invalid(answer, "a single number")
        if len(items) != len(expected):
            what = "a number" if len(expected) == 1 else f"a list of {len(expected)} numbers"
            return invalid(answer, what)
        got = [_as_number(a) for a in items]
        if any(g is None for g in got):
            symbols = _freesymbol_names(items)
            if symbols:
                return wrong("not_a_number", "Expected a number, but your answer still contains "
                             f"{', '.join(symbols)}: substitute values and evaluate it.")
            return invalid(answer, "numbers (floats)")
        if _close_all(got, expected, self.rel_tol):
            return correct("Correct." + self._type_note(answer))
        for m, values in self.catalogue:
            if _close_all(got, values(params), self.rel_tol):
                return m.judgement(detail=f"got {got}")
        digits = ROUNDED_DIGITS
        if self._rounded(got, expected, digits):
            return correct("Correct (rounded; the digits you kept are right)." +
                           self._type_note(answer),
                           detail=f"got {got}, rounded from {expected}")
        # two digits at least: one is too easily hit (2.0 from lam = m/m_l is 2.045 "rounded")
        if self._rounded(got, expected, 2):
            return wrong("rounded_too_far", f"The digits you kept are right, but too few: keep "
                         f"at least {digits} significant digits (give the value as computed, "
                         "not rounded).", detail=f"got {got}, rounded from {expected}")
        return wrong("wrong_value", self.hint, detail=f"got {got}, expected {expected}")

    def _type_note(self, answer: Answer) -> str:
        return _float_note(answer) if self.python_float else ""

    def _rounded(self, got: list[float | None], expected: tuple[float, ...], fewest: int
                 ) -> bool:
        """Is each value right, or the key's rounded to the (at least ``fewest``) significant
        digits it shows?"""
        return all(g is not None and (_close_all([g], (e,), self.rel_tol)
                                      or _rounded_from(g, e, fewest))
                   for g, e in zip(got, expected))


_FLOATS = ("", "float", "numpy.float64")  # "": captured before types were kept
_LISTS = ("", "list", "tuple")


def _float_note(answer: Answer) -> str:
    """What to change when a right value is not of the type the question asks for (Python
    floats, in a list for several), which the notebook's own checks test; "" when it is.
    numpy's float64 is a float; a float32, an int, a sympy number or an array is not."""
    items = answer.items if isinstance(answer, SequenceAnswer) else (answer,)
    typed = ("string" if any(isinstance(a, TextAnswer) for a in items) else
             "sympy number" if any(isinstance(a, SympyAnswer) for a in items) else "")
    if typed:
        return (f" (Give it as a Python float, float(...), as the question asks: yours is a "
                f"{typed}.)")
    if isinstance(answer, SequenceAnswer) and answer.type_name not in _LISTS:
        return (f" (The question asks for a list of Python floats: yours is a "
                f"{answer.type_name}; .tolist() turns an array into one.)")
    odd = sorted({a.type_name for a in items
                  if isinstance(a, NumberAnswer) and a.type_name not in _FLOATS})
    if odd:
        return (f" (Give {'each value' if len(items) > 1 else 'it'} as a Python float, "
                f"float(...), as the question asks: yours {'has' if len(items) > 1 else 'is'} "
                f"{' and '.join(odd)}.)")
    return ""


def _freesymbol_names(items: tuple[Answer, ...]) -> list[str]:
    names: set[str] = set()
    for a in items:
        if isinstance(a, (SympyAnswer, TextAnswer)):
            try:
                expr = to_sympy(a)
            except AnswerError:
                continue
            if isinstance(expr, sp.Basic):
                names |= symbol_names(expr)
    return sorted(names)


ROUNDED_DIGITS = 4
"""A value rounded to at least this many significant digits is right when its digits are:
one rule for every number the notebooks ask for, as they state it."""


def _rounded_from(got: float, expected: float, fewest: int = ROUNDED_DIGITS) -> bool:
    """Is ``got`` ``expected`` rounded to the significant digits ``got`` shows (at least
    ``fewest`` of them): ``round(x, 4)`` or ``f"{x:.4g}"``, in any position?"""
    if not (math.isfinite(got) and math.isfinite(expected)):
        return False
    mantissa, _, exponent = f"{abs(got):.15e}".partition("e")
    digits = len(mantissa.replace(".", "").rstrip("0"))
    if not fewest <= digits < 15:
        return False
    last = 10.0 ** (int(exponent) - digits + 1)  # the place of the last digit shown
    return abs(got - expected) <= 0.5 * last * (1 + 1e-9)


def _close_all(got: list[float | None], expected: tuple[float, ...], rel: float) -> bool:
    return all(g is not None and abs(g - e) <= rel * abs(e) + 1e-300 for g, e in zip(got, expected))


@dataclass(frozen=True)
class ChoiceCheck:
    """A decision: True/False or one of a few letters."""

    answer: bool | str
    """the right choice"""
    hint: str
    """feedback for a wrong choice without its own misconception"""
    wrong_choices: Mapping[Any, Misconception] = field(default_factory=dict)
    """targeted feedback per wrong choice"""

    def warm(self, item_id: str, params: Params) -> None:
        """Nothing to precompute."""

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge one answer."""
        if isinstance(self.answer, bool):
            if isinstance(answer, SympyAnswer) and answer.srepr.strip() in ("true", "false"):
                answer = BoolAnswer(answer.srepr.strip() == "true")  # sympy's own booleans
            if not isinstance(answer, BoolAnswer):
                return invalid(answer, "True or False")
            got: Any = answer.value
        else:
            if not isinstance(answer, TextAnswer):
                return invalid(answer, "one of the letters as a string, e.g. 'a'")
            got = answer.text.strip().lower().strip("()'\". ")
        if got == self.answer:
            if isinstance(answer, BoolAnswer) and answer.type_name not in ("", "bool"):
                return correct(f"Correct. (Answer with a Python bool, as the question asks: "
                               f"yours is a {answer.type_name}; bool(...) converts it.)")
            return correct()
        if got in self.wrong_choices:
            return self.wrong_choices[got].judgement()
        return wrong("wrong_choice", self.hint)


@dataclass(frozen=True)
class SolutionsCheck:
    """The list ``sympy.solve`` returns, compared as a set of expressions."""

    expected: tuple[sp.Expr, ...]
    """the answer key's solutions (empty when there is none)"""
    hint: str
    """feedback for a wrong list"""

    def warm(self, item_id: str, params: Params) -> None:
        """Nothing to precompute."""

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge one answer."""
        if not isinstance(answer, (SympyAnswer, SequenceAnswer)):
            return invalid(answer, "the list returned by sympy.solve")
        if isinstance(answer, SequenceAnswer) and any(
                isinstance(a, UnsupportedAnswer) and a.type_name == "dict" for a in answer.items):
            return wrong("solved_for_every_symbol", "That is a list of dicts: sympy.solve "
                         "given no unknown solves for all the symbols it can. Name the unknown, "
                         "sympy.solve(equation, lam), and keep the list it returns.")
        try:
            if isinstance(answer, SympyAnswer):
                got = to_sympy(answer)
                sols = list(got) if isinstance(got, (list, tuple, sp.Tuple, sp.FiniteSet)) \
                    else None
                if got is sp.S.EmptySet:
                    sols = []
            else:
                sols = [to_sympy(a) for a in answer.items]
        except (AnswerError, TypeError):
            return invalid(answer, "the list returned by sympy.solve")
        if sols is None:
            return invalid(answer, "the list returned by sympy.solve")
        if len(sols) == len(self.expected) and all(
            any(eqv.compare(s, e, item_id) is not eqv.Equivalence.DIFFERENT for e in self.expected)
            for s in sols
        ):
            return correct()
        return wrong("wrong_solutions", self.hint, detail=str(sols)[:300])
