"""Misconception catalogues: the wrong answers students actually give, and what to say.

Each entry is recognised by value (numeric agreement at the item's sample points), so any
algebraic form of the same slip is caught.  Messages teach; none states the answer.
"""

from __future__ import annotations

import sympy as sp

from grader.symbolic import Misconception
from solutions.derivation import SYMBOLS

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
        "You matched pair i = d/2 - 2. With indices from 0, the last pair is i = d/2 - 1 "
        "(the book's k = d/2).",
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
        "The exponent d/2 counts the pairs. The matched pair's exponent is 2*i*/d for "
        "i* = d/2 - 1; invert that exponent.",
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
        "You took a square root somewhere. The matched pair's period exponent is 2*i*/d with "
        "i* = d/2 - 1; solve lam**((d-2)/d) = m/m_l exactly.",
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
    "Your equation uses exponent 1, which is pair i = d/2. That pair does not exist: indices "
    "run 0 .. d/2 - 1, so the last pair's exponent is 2*(d/2 - 1)/d.",
    sp.Eq(2 * sp.pi * lam * b, r * 2 * sp.pi * b),
)
HIGHEST_FREQUENCY_EQUATION = Misconception(
    "highest_frequency_pair", HIGHEST_FREQUENCY.message, sp.Eq(2 * sp.pi, r * 2 * sp.pi),
)

EXPONENT_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("reciprocal_exponent", "That is the reciprocal: the exponent of the last "
                  "pair's period is 2*i*/d with i* = d/2 - 1.", d / (d - 2)),
    Misconception("off_by_one_index", "Exponent 1 belongs to pair i = d/2, which does not "
                  "exist: the last index is d/2 - 1.", sp.Integer(1)),
    Misconception("missing_factor_2", "The period exponent is 2*i/d; you dropped the 2.",
                  (d - 2) / (2 * d)),
    Misconception("second_to_last_pair", "That is pair d/2 - 2; the last pair is d/2 - 1.",
                  (d - 4) / d),
)

I_STAR_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("off_by_one_index", "Indices run from 0, so there is no pair d/2: the last "
                  "one is one less.", d / 2),
    Misconception("highest_frequency_pair", HIGHEST_FREQUENCY.message, sp.Integer(0)),
    Misconception("dimension_not_pair", "d - 1 is the last dimension of the vector; pairs are "
                  "counted in twos.", d - 1),
)

THETA_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("one_based_index", "That is the book's 1-based formula theta_k = "
                  "b**(-2(k-1)/d) with i put in for k. In 0-based code, pair i has "
                  "exponent -2i/d, so theta_0 = 1.", b ** (-2 * (i - 1) / d)),
    Misconception("period_not_frequency", "That grows with i: it is a period-like quantity. "
                  "The frequencies fall as i grows.", b ** (2 * i / d)),
    Misconception("missing_factor_2", "The exponent is -2i/d; you dropped the 2.",
                  b ** (-i / d)),
)

PERIOD_CATALOGUE: tuple[Misconception, ...] = (
    Misconception("missing_2pi", "One full turn is 2*pi radians: the period is 2*pi divided "
                  "by the frequency.", b ** (2 * i / d)),
    Misconception("frequency_not_period", "That is 2*pi times the frequency. The period is "
                  "2*pi DIVIDED by the frequency.", 2 * sp.pi * b ** (-2 * i / d)),
)
