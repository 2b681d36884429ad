"""Misconception catalogues: the wrong answers students actually give, and what to say.

Each entry is recognised by value (numeric agreement at the item's sample points), so any
algebraic form of the same slip is caught.  Messages teach; none states the answer.
"""

from __future__ import annotations

import sympy as sp

from grader.symbolic import Misconception
from solutions.derivation import LAM, SYMBOLS

b, d, m, m_l, lam, i = (SYMBOLS[k] for k in ("b", "d", "m", "m_l", "lam", "i"))
r = m / m_l

HIGHEST_FREQUENCY = Misconception(
    "highest_frequency_pair",
    "You matched the highest-frequency pair (i = 0). Its frequency is theta_0 = b**0 = 1 for "
    "every base, so no change of base can stretch its period: that equation has no solution "
    "for lam. Some course material calls the matched pair 'the highest frequency component'; "
    "that is wrong. Match the pair whose period is longest.",
    sp.Integer(1),
)

LAM_CATALOGUE: tuple[Misconception, ...] = (
    Misconception(
        "pi_factor",
        "m/m_l is position interpolation's factor: it stretches every period equally. Base "
        "scaling multiplies the base, and the matched period grows only like a power (less "
        "than 1) of the base, so lam must differ from m/m_l. Also check the index of the last "
        "pair: indices run 0 .. d/2 - 1.",
        r,
    ),
    Misconception(
        "inverted_exponent",
        "You raised m/m_l to the exponent e itself. From lam**e = m/m_l, undo the power: take "
        "both sides to the reciprocal power.",
        r ** ((d - 2) / d),
    ),
    Misconception(
        "matched_frequency",
        "This lam is below 1, so it would shrink the base and shorten the periods. PI "
        "multiplies periods by m/m_l (it divides frequencies by m/m_l): match periods, with "
        "the new length m in the numerator.",
        r ** (-d / (d - 2)),
    ),
    Misconception(
        "second_to_last_pair",
        "You matched pair i = d/2 - 2, one before the last pair. Count again which index the "
        "last pair has when indices start at 0 (the book's k = d/2).",
        r ** (d / (d - 4)),
    ),
    HIGHEST_FREQUENCY,
    Misconception(
        "per_step_ratio",
        "This is the extra stretch factor (m/m_l)**(2/(d-2)) that appears between lam and "
        "m/m_l, not the factor on the base itself. Solve the matching equation for lam.",
        r ** (2 / (d - 2)),
    ),
    Misconception(
        "half_d_exponent",
        "The exponent d/2 counts the pairs. lam's exponent comes from the matched pair's "
        "period exponent instead: undo that power.",
        r ** (d / 2),
    ),
    Misconception(
        "missing_factor_2",
        "Your exponent is twice too large: the frequencies are b**(-2*i/d), with the factor 2 "
        "in the exponent.",
        r ** (2 * d / (d - 2)),
    ),
    Misconception(
        "square_root",
        "You took a square root somewhere. Solve your equation lam**e = m/m_l exactly, with "
        "the matched pair's own exponent e: no square root appears.",
        sp.sqrt(r),
    ),
)
"""Recognised wrong values of lambda, as expressions in m, m_l, d."""

CONTAINS_B = Misconception(
    "contains_b",
    "Your lam still contains b. Both sides carry the same power of b, which cancels: "
    "lam cannot depend on the base.",
)
CONTAINS_LAM = Misconception(
    "contains_lam", "Your answer still contains lam: solve for it, so lam appears only on the "
    "left of lam = ...",
)
NOT_SYMBOLIC = Misconception(
    "not_symbolic",
    "You gave a number. Keep it as a sympy expression in m, m_l and d, so it holds for every "
    "model; the numbers come later.",
)

OFF_BY_ONE_EQUATION = Misconception(
    "off_by_one_index",
    "Your equation uses exponent 1, which is pair i = d/2. That pair does not exist: with "
    "d/2 pairs counted from 0, which index does the last one have?",
    sp.Eq(2 * sp.pi * lam * b, r * 2 * sp.pi * b),
)
HIGHEST_FREQUENCY_EQUATION = Misconception(
    "highest_frequency_pair", HIGHEST_FREQUENCY.message, sp.Eq(2 * sp.pi, r * 2 * sp.pi),
)

EXPONENT_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("reciprocal_exponent", "That is the reciprocal of the exponent: read it off "
                  "the last pair's period, with your i_star put in.", d / (d - 2)),
    Misconception("off_by_one_index", "Exponent 1 belongs to pair i = d/2, which does not "
                  "exist: with indices from 0, which index does the last pair have?",
                  sp.Integer(1)),
    Misconception("missing_factor_2", "Your exponent is half the right size: compare it with "
                  "the exponent in your period_i.", (d - 2) / (2 * d)),
    Misconception("second_to_last_pair", "That is pair d/2 - 2, one before the last pair.",
                  (d - 4) / d),
)

I_STAR_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("off_by_one_index", "There is no pair d/2: the d/2 pairs are counted from "
                  "0. Which index does the last one get?", d / 2),
    Misconception("highest_frequency_pair", HIGHEST_FREQUENCY.message, sp.Integer(0)),
    Misconception("dimension_not_pair", "d - 1 is the last dimension of the vector; pairs are "
                  "counted in twos.", d - 1),
)

THETA_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("one_based_index", "That is the book's 1-based formula theta_k = "
                  "b**(-2(k-1)/d) with i put in for k. The book's pair k is our pair i = k - 1: "
                  "check that your theta is 1 at i = 0.", b ** (-2 * (i - 1) / d)),
    Misconception("period_not_frequency", "That grows with i: it is a period-like quantity. "
                  "The frequencies fall as i grows.", b ** (2 * i / d)),
    Misconception("missing_factor_2", "Your exponent is half the right size: compare it with "
                  "the book's exponent, -2(k-1)/d.", b ** (-i / d)),
)

PERIOD_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("missing_2pi", "One full turn is 2*pi radians: the period is 2*pi divided "
                  "by the frequency.", b ** (2 * i / d)),
    Misconception("frequency_not_period", "That is 2*pi times the frequency. The period is "
                  "2*pi DIVIDED by the frequency.", 2 * sp.pi * b ** (-2 * i / d)),
)

REL_ERROR_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("ratio_not_error", "That is the ratio lam/(m/m_l); the relative error "
                  "subtracts 1.", r ** (2 / (d - 2))),
    Misconception("relative_to_lam", "Measure the error relative to the colleague's m/m_l, not "
                  "to lam.", 1 - r ** (-2 / (d - 2))),
    Misconception("absolute_error", "That is the absolute error; divide by m/m_l.", LAM - r),
)

DLAM_DD_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("wrong_variable", "That is the derivative with respect to m; differentiate "
                  "with respect to d.", sp.diff(LAM, m)),
    Misconception("zero_derivative", "Your derivative is 0, but lambda depends on d. If your "
                  "lam_solution has d in it, differentiate with respect to the notebook's own "
                  "symbol d: the string 'd', or a new sp.Symbol('d') without its assumptions, "
                  "is another variable to sympy.", sp.Integer(0)),
)
