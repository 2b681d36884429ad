"""The derivation continued from a student's own equation (grader.steps): from the key's
matching equation it is the key's derivation, step for step; from any other it applies the
same operations, or says it cannot."""

from __future__ import annotations

import sympy as sp

from grader import steps
from solutions import derivation as D

b, lam, m, m_l, d, i = D.b, D.lam, D.m, D.m_l, D.d, D.i
KEY_CHAIN = (D.MATCHING_EQUATION, D.EQ_CANCEL_2PI, D.EQ_SPLIT, D.EQ_CANCEL_B,
             sp.Eq(lam, D.LAM))


def test_from_the_keys_matching_equation_it_is_the_keys_derivation() -> None:
    chain = steps.continued(D.MATCHING_EQUATION, 0)
    assert tuple(eq for _, eq in chain) == KEY_CHAIN
    assert [name for name, _ in chain] == list(steps.STEP_NAMES)
    for start in range(1, 4):  # from any later step of the key's, the rest of the key's
        assert tuple(eq for _, eq in steps.continued(KEY_CHAIN[start], start)) == KEY_CHAIN[
            start:]
    built = steps.matching(D.period(i), m / m_l, D.I_STAR)
    assert sp.simplify(built.lhs - D.MATCHING_EQUATION.lhs) == 0
    assert sp.simplify(built.rhs - D.MATCHING_EQUATION.rhs) == 0
    assert steps.solution(D.EQ_CANCEL_B) == D.LAM


def test_from_a_students_own_equation() -> None:
    """Sides swapped, the second-to-last pair, a period without 2*pi: the same operations
    lead to the lam that equation gives (checked against sympy's own solve)."""
    e = (d - 4) / d
    cases = {
        "sides swapped": sp.Eq(D.MATCHING_EQUATION.rhs, D.MATCHING_EQUATION.lhs),
        "second-to-last pair": sp.Eq(2 * sp.pi * (lam * b) ** e, m / m_l * 2 * sp.pi * b ** e),
        "no 2*pi, stretch 2*pi*m/m_l": sp.Eq((lam * b) ** e, 2 * sp.pi * m / m_l * b ** e),
    }
    for name, eq in cases.items():
        reference, chain, lam_value = steps.carried(eq, 0, 3)
        assert lam not in lam_value.free_symbols and b not in lam_value.free_symbols, name
        assert b not in reference.free_symbols, name  # b**e cancelled
        (expected,) = sp.solve(eq, lam)
        at = {b: 7, m: 16384, m_l: 4096, d: 128}
        assert abs(float((lam_value / expected).subs(at)) - 1) < 1e-12, name
        assert chain[0] == ("the period-matching equation", eq)


def test_where_the_derivation_cannot_go_on() -> None:
    """No lam (the i = 0 equation), lam on both sides, not an equation: nothing to carry."""
    assert steps.continued(sp.Eq(2 * sp.pi, 2 * sp.pi * m / m_l), 0) is None
    assert steps.carried(sp.Eq(lam * b, lam ** 2 * m / m_l), 0, 1) is None
    assert steps.carried(lam * b, 0, 1) is None
    assert steps.solution(sp.Eq(lam ** 2, m / m_l)) == sp.sqrt(m / m_l)
    assert steps.solution(sp.Eq(lam, m / m_l)) == m / m_l  # already solved (exponent 1)
    assert steps.solution(sp.Eq(m / m_l, lam)) == m / m_l
    assert steps.solution(sp.Eq(lam, lam * m / m_l)) is None
