"""Tests for the sympy derivation in ``solutions.derivation``.

The expected numbers come from mpmath at 50 digits, and the expected formulas are written out
independently here; neither is taken from the module under test.
"""

from __future__ import annotations

import itertools

import mpmath
import pytest
import sympy as sp

from solutions import derivation as D
from solutions.scaling import ntk_scaled_base, ntk_scaling_factor

b, d, m, m_l, lam, i = (D.SYMBOLS[name] for name in ("b", "d", "m", "m_l", "lam", "i"))
CLOSED_FORM = (m / m_l) ** (d / (d - 2))
LAST_EXPONENT = (d - 2) / d


def _same(expr: sp.Expr, expected: sp.Expr) -> bool:
    """Are the two expressions mathematically equal (difference simplifies to zero)?"""
    return sp.simplify(expr - expected) == 0


def _mp_lambda(m_new: int, m_orig: int, dim: int) -> mpmath.mpf:
    with mpmath.workdps(50):
        return mpmath.power(mpmath.mpf(m_new) / m_orig, mpmath.mpf(dim) / (dim - 2))


# ---------------------------------------------------------------------------------------------
# Reference numbers
# ---------------------------------------------------------------------------------------------
def test_lambda_for_4096_to_16384_matches_mpmath():
    """Is lambda(4096 -> 16384, d = 128) = 4.088994243 to 10 significant figures?"""
    exact = _mp_lambda(16384, 4096, 128)
    assert mpmath.nstr(exact, 10) == "4.088994243"
    for value in (ntk_scaling_factor(16384, 4096, 128), D.lambda_value(16384, 4096, 128)):
        assert f"{value:.10g}" == "4.088994243"
        assert abs(value - float(exact)) <= 1e-14 * float(exact)


def test_scaled_base_for_4096_to_16384_matches_mpmath():
    """Does NTK scaling turn base 10000 into 40889.94243 for 4096 -> 16384 at d = 128?"""
    exact = 10000 * _mp_lambda(16384, 4096, 128)
    assert mpmath.nstr(exact, 10) == "40889.94243"
    value = ntk_scaled_base(10000.0, 16384, 4096, 128)
    assert f"{value:.10g}" == "40889.94243"
    assert abs(value - float(exact)) <= 1e-14 * float(exact)


def test_doubling_factor_matches_mpmath():
    """Is 2**(128/126) = 2.022126169, both from LAM_DOUBLE and from the numpy formula?"""
    exact = _mp_lambda(2, 1, 128)
    assert mpmath.nstr(exact, 10) == "2.022126169"
    from_sympy = float(D.LAM_DOUBLE.subs(d, 128).evalf(30))
    for value in (from_sympy, ntk_scaling_factor(8192, 4096, 128)):
        assert abs(value - float(exact)) <= 1e-14 * float(exact)


# ---------------------------------------------------------------------------------------------
# Symbols and building blocks
# ---------------------------------------------------------------------------------------------
def test_symbols_are_named_and_assumed_as_the_grader_expects():
    """Does each SYMBOLS entry carry its own name and the agreed assumptions?"""
    assert list(D.SYMBOLS) == ["b", "d", "m", "m_l", "lam", "i"]
    for name, symbol in D.SYMBOLS.items():
        assert symbol.name == name
    for symbol in (b, m, m_l, lam, d):
        assert symbol.is_positive
    assert d.is_even
    assert i.is_integer and i.is_nonnegative


def test_theta_uses_zero_based_pairs_and_matches_the_book():
    """Is theta(i) = b**(-2i/d) with i from 0, i.e. the book's theta_k with k = i + 1?"""
    k = sp.Symbol("k", integer=True, positive=True)
    book_theta_k = b ** (-2 * (k - 1) / d)
    assert _same(D.theta(k - 1), book_theta_k)
    assert D.theta(0, base=12345) == 1
    assert _same(D.theta(D.I_STAR), b ** (-LAST_EXPONENT))


def test_period_is_two_pi_over_theta():
    """Is period(i) the wavelength 2*pi/theta(i) for a general pair and base?"""
    assert _same(D.period(i) - 2 * sp.pi / D.theta(i), 0)
    assert _same(D.period(i, lam * b), 2 * sp.pi * (lam * b) ** (2 * i / d))


def test_matched_pair_is_the_last_one():
    """Is I_STAR = d/2 - 1, the highest index (lowest frequency, longest period)?"""
    assert _same(D.I_STAR, d / 2 - 1)
    assert D.I_STAR.subs(d, 128) == 63


# ---------------------------------------------------------------------------------------------
# Derivation steps
# ---------------------------------------------------------------------------------------------
def test_steps_are_listed_in_order():
    """Does DERIVATION_STEPS list the five steps in the order of the derivation?"""
    assert list(D.DERIVATION_STEPS) == [
        "MATCHING_EQUATION",
        "EQ_CANCEL_2PI",
        "EQ_SPLIT",
        "EQ_CANCEL_B",
        "EXPONENT",
    ]
    assert D.DERIVATION_STEPS["EQ_SPLIT"] is D.EQ_SPLIT
    for name in ("MATCHING_EQUATION", "EQ_CANCEL_2PI", "EQ_SPLIT", "EQ_CANCEL_B"):
        assert isinstance(D.DERIVATION_STEPS[name], sp.Equality), name


def test_exponent_is_d_minus_2_over_d():
    """Is EXPONENT the simplified 2*I_STAR/d = (d - 2)/d?"""
    assert _same(D.EXPONENT, LAST_EXPONENT)
    assert D.EXPONENT.subs(d, 128) == sp.Rational(63, 64)


def test_matching_equation_puts_new_period_left_and_pi_period_right():
    """Is step 1 'new model's last-pair period = m/m_l times the original one'?"""
    eq = D.MATCHING_EQUATION
    assert _same(eq.lhs, 2 * sp.pi * (lam * b) ** LAST_EXPONENT)
    assert _same(eq.rhs, (m / m_l) * 2 * sp.pi * b**LAST_EXPONENT)
    numbers = {d: 128, b: 10000, lam: 3, m: 16384, m_l: 4096}
    left = float(eq.lhs.subs(numbers))
    assert left == pytest.approx(2 * mpmath.pi * 30000 ** (126 / 128), rel=1e-14)


def test_cancelling_two_pi_leaves_the_unsplit_power():
    """Does step 2 drop 2*pi and keep (lam*b)**e as one power?"""
    eq = D.EQ_CANCEL_2PI
    assert not eq.has(sp.pi)
    assert eq.lhs == (lam * b) ** D.EXPONENT
    assert _same(eq.rhs, (m / m_l) * b**LAST_EXPONENT)


def test_split_writes_the_power_as_a_product():
    """Does step 3 turn (lam*b)**e into lam**e * b**e, keeping the right side?"""
    eq = D.EQ_SPLIT
    assert isinstance(eq.lhs, sp.Mul)
    assert set(eq.lhs.args) == {lam**D.EXPONENT, b**D.EXPONENT}
    assert eq.lhs != D.EQ_CANCEL_2PI.lhs  # a genuinely different form ...
    assert _same(sp.powsimp(eq.lhs, force=True), D.EQ_CANCEL_2PI.lhs)  # ... of the same value
    assert eq.rhs == D.EQ_CANCEL_2PI.rhs


def test_cancelling_b_leaves_lam_to_the_e_equal_m_over_m_l():
    """Is step 4 exactly Eq(lam**((d - 2)/d), m/m_l), with b gone?"""
    eq = D.EQ_CANCEL_B
    assert b not in eq.free_symbols
    assert eq.lhs == lam**D.EXPONENT
    assert _same(eq.rhs, m / m_l)


def test_lam_is_the_closed_form():
    """Is the solved LAM equivalent to (m/m_l)**(d/(d - 2))?"""
    assert _same(D.LAM, CLOSED_FORM)
    assert D.LAM.equals(CLOSED_FORM)
    assert not D.LAM.equals(m / m_l)  # it is not simply PI's factor


def test_both_equations_solve_to_lam():
    """Do the first and the last equation of the derivation both give LAM?"""
    for equation in (D.MATCHING_EQUATION, D.EQ_CANCEL_B):
        solutions = D.solve_for_lambda(equation)
        assert len(solutions) == 1
        assert _same(solutions[0], D.LAM)


def _denest(expr: sp.Expr) -> sp.Expr:
    """(x**a)**c -> x**(a*c). sympy will not do this unaided here: d = 2 is allowed by the
    assumptions (positive, even), and there d/(d - 2) is not a real number."""
    return sp.powdenest(sp.expand_power_base(expr, force=True), force=True)


def test_lam_satisfies_every_step():
    """Does substituting LAM make every equation of the derivation an identity?"""
    for name in ("MATCHING_EQUATION", "EQ_CANCEL_2PI", "EQ_SPLIT", "EQ_CANCEL_B"):
        eq = D.DERIVATION_STEPS[name]
        assert _same(_denest((eq.lhs - eq.rhs).subs(lam, D.LAM)), 0), name
    wrong = D.EQ_CANCEL_B.lhs.subs(lam, m / m_l) - D.EQ_CANCEL_B.rhs
    assert not _same(_denest(wrong), 0)


@pytest.mark.parametrize(
    ("m_new", "m_orig", "dim"),
    list(itertools.product([8192, 16384, 32768, 100000], [2048, 4096], [4, 8, 64, 128, 256])),
)
def test_sympy_lam_agrees_with_numpy_formula(m_new, m_orig, dim):
    """Does the numerically evaluated sympy LAM match ntk_scaling_factor to 1e-12?"""
    expected = ntk_scaling_factor(m_new, m_orig, dim)
    assert D.lambda_value(m_new, m_orig, dim) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# The highest-frequency pair cannot be matched
# ---------------------------------------------------------------------------------------------
def test_highest_frequency_pair_has_no_solution():
    """Is there no lam that matches the i = 0 pair, whose theta is 1 whatever the base?"""
    equation = D.highest_frequency_equation()
    assert lam not in equation.free_symbols
    assert D.highest_frequency_solutions() == []
    assert D.theta(0, lam * b) == 1


def test_solve_for_lambda_handles_evaluated_booleans():
    """Does solve_for_lambda return [] for False and refuse an identity?"""
    assert D.solve_for_lambda(sp.Eq(2 * sp.pi, 4 * sp.pi)) == []
    with pytest.raises(ValueError, match="every lam"):
        D.solve_for_lambda(sp.Eq(lam, lam))


# ---------------------------------------------------------------------------------------------
# Extras
# ---------------------------------------------------------------------------------------------
def test_doubling_factor_formula():
    """Is LAM_DOUBLE = 2**(d/(d - 2))?"""
    assert _same(D.LAM_DOUBLE, 2 ** (d / (d - 2)))


def test_relative_error_formula():
    """Is RELATIVE_ERROR = lam/(m/m_l) - 1 = (m/m_l)**(2/(d - 2)) - 1?"""
    assert _same(D.RELATIVE_ERROR, (m / m_l) ** (2 / (d - 2)) - 1)
    value = D.RELATIVE_ERROR.subs({m: 16384, m_l: 4096, d: 128})
    assert float(value) == pytest.approx(4.088994243248622 / 4 - 1, rel=1e-12)


def test_derivative_in_d_is_negative_for_extension():
    """Is DLAM_DD the d-derivative of LAM, and negative when m > m_l?"""
    assert _same(D.DLAM_DD, sp.diff(CLOSED_FORM, d))
    for dim in (4, 16, 128):
        assert D.DLAM_DD.subs({m: 16384, m_l: 4096, d: dim}) < 0


def test_limit_for_wide_heads_is_pi_factor():
    """Does lam tend to m/m_l as d grows without bound?"""
    assert _same(D.LAM_LIMIT, m / m_l)


def test_period_stretch_runs_from_one_to_m_over_m_l():
    """Does base scaling stretch pair i by lam**(2i/d): 1 at i = 0, m/m_l at I_STAR?"""
    assert _same(D.period_stretch(i), lam ** (2 * i / d))
    assert D.period_stretch(0) == 1
    assert _same(_denest(D.period_stretch(D.I_STAR).subs(lam, D.LAM)), m / m_l)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((16384, 4096, 2), "single rotary pair"),
        ((16384, 4096, 7), "even"),
        ((16384, 4096, 0), "positive even"),
        ((16384, 4096, 127.5), "even integer"),
        ((16384, 4096, True), "boolean"),
        ((0, 4096, 128), "m_new must be a positive"),
        ((16384, -4096, 128), "m_orig must be a positive"),
        ((16384, float("nan"), 128), "finite"),
        ((True, 4096, 128), "boolean"),
    ],
)
def test_lambda_value_rejects_bad_input(args, message):
    """Does lambda_value refuse arguments for which lam is undefined, saying why?"""
    with pytest.raises(ValueError, match=message):
        D.lambda_value(*args)
