"""The fast mpmath walk agrees with sympy's evalf (the oracle), or declines to answer."""

from __future__ import annotations

import pytest
import sympy as sp

from grader.domain import sample_points
from grader.equivalence import value_at
from grader.mpeval import NO_VALUE, UNSURE, fast_value
from solutions.derivation import LAM, b, d, lam, m, m_l

R = m / m_l
EXPRESSIONS = [
    LAM, R ** (1 + 2 / (d - 2)), sp.exp(d * sp.log(R) / (d - 2)), 1 / (m_l / m) ** (d / (d - 2)),
    2 * sp.pi * (lam * b) ** ((d - 2) / d), sp.log(b) * d / 2 + sp.sin(m) * sp.cos(m_l),
    (R ** (d / (d - 2)) - R) / R, sp.atan(R) + sp.Abs(1 - R) + sp.tan(1 / d), sp.E ** R,
    sp.Float("0.125", 30) * m + sp.Rational(7, 3) * b ** sp.Rational(-2, 7),
    (1 + m) ** 999 / (1 + m) ** 998,
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
def test_fast_values_match_evalf_to_40_digits(expr: sp.Expr) -> None:
    """At every lam_solution sample point, is the fast value evalf's to 40 digits?"""
    for point in sample_points("lam_solution"):
        full = {**point, lam: sp.Rational(41, 10)}
        fast = fast_value(expr, full, 45)
        assert fast is not UNSURE
        oracle = expr.evalf(50, subs=full)
        assert abs(sp.Float(fast, 45) - oracle) <= sp.Float(10) ** -40 * max(abs(oracle), 1)


@pytest.mark.parametrize("expr", [
    sp.exp(m) + R - sp.exp(m + sp.Rational(1, 10**70)),  # cancellation beyond 60 digits
    (-m) ** sp.Rational(1, 3),  # complex on the way
    sp.sign(sp.log(m) - sp.log(m + sp.Rational(1, 10**70))),  # a sign too near zero
    sp.gamma(R), sp.zoo * m, sp.log(m - m),  # unknown functions, infinities
], ids=str)
def test_doubtful_values_are_left_to_evalf(expr: sp.Expr) -> None:
    """Does the fast walk decline (UNSURE) where it cannot vouch for its digits, and does
    value_at then still give evalf's answer?"""
    point = sample_points("lam_solution")[0]
    assert fast_value(expr, point, 45) is UNSURE
    got, oracle = value_at(expr, point), expr.evalf(45, subs=dict(point))
    if got is None:
        assert not (oracle.is_real and oracle.is_finite and oracle.is_Number)
    else:
        assert abs(got - oracle) <= sp.Float(10) ** -30 * max(abs(oracle), 1)


@pytest.mark.parametrize(("expr", "m_at"), [
    (R ** (d / (d - 4)), 5), (d / (d - 4), 5), (sp.log(d - 4), 5), (sp.exp(1 / (d - 4)), 5),
    (1 / (m - m_l), 3),
], ids=str)
def test_a_singular_point_has_no_value(expr: sp.Expr, m_at: int) -> None:
    """At a point where the expression divides by zero (d = 4 in d/(d - 4), m = m_l), is
    there no value, rather than evalf's huge number made of a rounding residue?"""
    point = {d: sp.Integer(4), m: sp.Integer(m_at), m_l: sp.Integer(3)}
    assert value_at(expr, point) is None


@pytest.mark.parametrize(("expr", "expected"), [
    (sp.sqrt(d - 4) + 1, 1), (sp.I * (d - 4) + 1, 1), (R ** (d / (d - 2)), 1),
    (sp.sin(sp.pi * d) + 2, 2),
], ids=str)
def test_a_regular_value_next_to_a_zero_is_kept(expr: sp.Expr, expected: int) -> None:
    """Are values that merely involve a zero (sqrt(0), 0·I, 1**x, sin(4π)) still values?"""
    point = {d: sp.Integer(4), m: sp.Integer(3), m_l: sp.Integer(3)}
    assert value_at(expr, point) == pytest.approx(expected, abs=1e-30)


@pytest.mark.parametrize(("expr", "expected"), [
    (sp.exp(sp.oo * sp.sign(sp.log(sp.sqrt(m) / sp.sqrt(m_l)))), None),  # sympy's limit, left
    (sp.oo * (R - 1), None), (sp.exp(-sp.oo) + R, "R"), (sp.atan(sp.oo * R), "pi/2"),
], ids=str)
def test_infinities_are_walked_like_evalf(expr: sp.Expr, expected: str | None) -> None:
    """Does the fast walk give an explicit infinity the value evalf gives it (none, for oo,
    nan; a number, for exp(-oo) or atan(oo)), without falling back to evalf?"""
    point = sample_points("lam_solution")[0]
    fast = fast_value(expr, point, 45)
    assert fast is not UNSURE
    oracle = expr.evalf(45, subs=dict(point))
    if expected is None:
        assert fast is NO_VALUE and value_at(expr, point) is None
        assert not (oracle.is_finite and oracle.is_real)
    else:
        assert abs(value_at(expr, point) - oracle) <= sp.Float(10) ** -40
