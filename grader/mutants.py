"""Known slips in the numpy kernels, written as the functions a student with the slip
would have written.  Plain, deliberately simple numpy; no answer-key code is reused, so
a mutant can never coincide with the reference by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from grader.kernels import Mutant
from grader.symbolic import Misconception


def _freqs(d: int, base: float, shift: int = 0, factor: float = 2.0, sign: float = -1.0
           ) -> np.ndarray:
    i = np.arange(d // 2, dtype=np.float64) + shift
    return float(base) ** (sign * factor * i / d)


def rotate(x: np.ndarray, angles: np.ndarray, layout: str) -> np.ndarray:
    """Rotate pairs by ``angles`` (seq, d/2) via the complex form."""
    x64 = np.asarray(x, dtype=np.float64)
    h = x64.shape[-1] // 2
    a, b = (x64[..., 0::2], x64[..., 1::2]) if layout == "interleaved" else (x64[..., :h],
                                                                            x64[..., h:])
    z = (a + 1j * b) * np.exp(1j * angles).astype(np.complex128)  # float32 angles: complex64
    out = np.empty_like(x64)
    if layout == "interleaved":
        out[..., 0::2], out[..., 1::2] = z.real, z.imag
    else:
        out[..., :h], out[..., h:] = z.real, z.imag
    return out.astype(x.dtype)


def _rope(layout: str, direction: float = 1.0, angles_in: type = np.float64, **slip: float):
    """A rotation kernel of ``layout``; ``slip`` goes to :func:`_freqs` (a frequency slip);
    ``angles_in`` is the dtype the angles and their cos/sin are computed in."""
    def fn(x: np.ndarray, positions: np.ndarray, base: float = 10000.0) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.float64).astype(angles_in)
        freqs = _freqs(x.shape[-1], base, **slip).astype(angles_in)
        angles = direction * pos[:, None] * freqs[None, :]
        return rotate(x, angles, layout)
    return fn


OTHER_LAYOUT = Misconception(
    "other_layout", "Your function pairs the coordinates the other way round. Check which "
    "coordinates form a pair in this layout: (2i, 2i+1) for interleaved, (i, i + d/2) for "
    "half-split.")
SIN_SIGN = Misconception(
    "sin_sign", "Your rotation goes the wrong way: check the sign of the sin terms, or of the "
    "angle in a table of e^(i*p*theta) (your rotation_table, if you rotate with it). A pair "
    "(x0, x1) at angle a becomes (x0*cos a - x1*sin a, x0*sin a + x1*cos a).")
ONE_BASED = Misconception(
    "one_based_index", "Your frequencies are shifted by one pair: with 0-based indices, "
    "theta_0 = base**0 = 1. The book's k runs from 1, and its exponent uses k - 1.")


FLOAT32_ANGLES = Misconception(
    "float32_angles", "Your rotation is right only to float32 precision: your angles p*theta "
    "(or their cos and sin) are computed in float32. Angles reach thousands of radians, where "
    "float32 is off by about 1e-4 rad; compute them in float64 and cast the result to x's "
    "dtype at the end.", fraction=0.5)


FREQUENCY_SLIPS: tuple[tuple[Misconception, dict[str, float]], ...] = (
    (ONE_BASED, {"shift": 1}),
    (Misconception("missing_factor_2", "Your exponent is half the right size: a factor 2 is "
                   "missing."), {"factor": 1.0}),
    (Misconception("period_not_frequency", "Your values grow with i, but frequencies fall: "
                   "check the sign of the exponent."), {"sign": 1.0}),
)
"""Slips in the frequencies, with what they change in :func:`_freqs`.  Every kernel built on
the frequencies has a mutant for each, under the same tag: a later kernel done right on the
student's own slipped ``rope_frequencies`` is recognised, and credited (:mod:`grader.carry`)."""


def rotation_mutants(layout: str) -> tuple[Mutant, ...]:
    """Slips for a rotation kernel of ``layout``."""
    other = "half" if layout == "interleaved" else "interleaved"
    return (Mutant(OTHER_LAYOUT, _rope(other)), Mutant(SIN_SIGN, _rope(layout, direction=-1.0)),
            *(Mutant(slip, _rope(layout, **change)) for slip, change in FREQUENCY_SLIPS),
            # float32 rounding depends on the order of operations: a student's float32 angles
            # are off from the key's by about as much as these, not by exactly as much
            Mutant(FLOAT32_ANGLES, _rope(layout, angles_in=np.float32), within=4.0))


def score_mutants() -> tuple[Mutant, ...]:
    """Slips for ``rope_score(q, k, p, r, base)``: the dot product of two vectors rotated by
    an interleaved kernel with one of its slips (the same tags as ``apply_rope``'s)."""
    def score(rope):
        def fn(q, k, p, r, base=10000.0):
            q64, k64 = np.asarray(q, np.float64)[None], np.asarray(k, np.float64)[None]
            return float(rope(q64, [p], base)[0] @ rope(k64, [r], base)[0])
        return fn
    return tuple(Mutant(_SCORE_SIN_SIGN if m.slip is SIN_SIGN else m.slip, score(m.fn), m.within)
                 for m in rotation_mutants("interleaved"))


_SCORE_SIN_SIGN = Misconception(
    "sin_sign", "Your score is the one for the opposite offset: rotate q by its position p "
    "and k by its position r (not the other way round), and check that your rotation turns "
    "the right way (the sign of its sin terms).")
"""rope_score's sin_sign: a rotation the wrong way and swapped positions give the same score,
which depends on r - p only."""


FREQUENCY_MUTANTS: tuple[Mutant, ...] = tuple(
    Mutant(slip, lambda d, base=10000.0, change=change: _freqs(d, base, **change))
    for slip, change in FREQUENCY_SLIPS)

ANGLE_MUTANTS: tuple[Mutant, ...] = (
    *(Mutant(slip, lambda positions, d, base=10000.0, change=change:
             np.outer(np.asarray(positions, np.float64), _freqs(d, base, **change)))
      for slip, change in FREQUENCY_SLIPS),
    Mutant(Misconception("transposed", "Your table is transposed: rows are positions, "
                         "columns are pairs."),
           lambda positions, d, base=10000.0:
           np.outer(_freqs(d, base), np.asarray(positions, np.float64))),
)

WAVELENGTH_MUTANTS: tuple[Mutant, ...] = (
    Mutant(Misconception("missing_2pi", "One full turn is 2*pi radians: the period is 2*pi "
                         "divided by the frequency."),
           lambda d, base=10000.0: 1.0 / _freqs(d, base)),
    Mutant(Misconception("frequency_not_period", "That is 2*pi times the frequency; the period "
                         "is 2*pi divided by it."),
           lambda d, base=10000.0: 2 * np.pi * _freqs(d, base)),
    *(Mutant(slip, lambda d, base=10000.0, change=change: 2 * np.pi / _freqs(d, base, **change))
      for slip, change in FREQUENCY_SLIPS),
)

PI_MUTANTS: tuple[Mutant, ...] = (
    Mutant(Misconception("pi_inverted", "Position interpolation squeezes the new, longer "
                         "context into the trained range: positions shrink by m_l/m."),
           lambda positions, m, m_l: np.asarray(positions, np.float64) * m / m_l),
)


def _lam_mutant(tag: str, message: str, exponent):
    return (Misconception(tag, message), exponent)


_LAM_SLIPS = (
    _lam_mutant("pi_factor", "m/m_l is position interpolation's factor; base scaling needs a "
                "larger factor, because the last pair's period grows like a power below 1 of "
                "the base.", lambda d: 1.0),
    _lam_mutant("inverted_exponent", "You used the exponent (d-2)/d itself; solve "
                "lam**((d-2)/d) = m/m_l for lam.", lambda d: (d - 2) / d),
    _lam_mutant("matched_frequency", "Your factor shrinks the base: PI multiplies periods by "
                "m/m_l, so the base must grow.", lambda d: -d / (d - 2)),
)


def base_mutants() -> tuple[Mutant, ...]:
    """Slips for ``ntk_scaled_base(base, m, m_l, d)``."""
    out = [Mutant(slip, lambda base, m, m_l, d, e=e: base * (m / m_l) ** e(d))
           for slip, e in _LAM_SLIPS]
    out.append(Mutant(Misconception("missing_base", "That is lam alone; the new base is "
                                    "lam times the old base."),
                      lambda base, m, m_l, d: (m / m_l) ** (d / (d - 2))))
    return tuple(out)


def _bisection(periods):
    """``find_lambda`` done right on the periods ``periods(d, base)``: bisect for the factor
    that stretches the last one by m/m_l; a ValueError when it never does (periods that do
    not grow with the base)."""
    def fn(m, m_l, d):
        b, ratio = 10000.0, m / m_l

        def short(lam):
            return periods(d, lam * b)[-1] < ratio * periods(d, b)[-1]

        lo = hi = 1.0
        for _ in range(100):
            if not short(hi):
                break
            hi *= 2.0
        for _ in range(100):
            if short(lo):
                break
            lo /= 2.0
        if short(hi) or not short(lo):
            raise ValueError("the compared period does not grow with the base")
        while hi - lo > 1e-13 * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if short(mid) else (lo, mid)
        return 0.5 * (lo + hi)
    return fn


NOT_FROM_WAVELENGTHS = Misconception(
    "not_from_wavelengths", "Your values are right, but when the grader swapped wavelengths "
    "(and rope_frequencies) for versions with another base law, {what}. The task is to find "
    "the root of g by bisection (or Newton's method) on the periods your wavelengths gives, "
    "with the bracket search of the instructions and without the closed form.")
"""find_lambda's values are right but were not computed from wavelengths (a rebased probe)."""


CANCELLING: Mapping[str, frozenset[str]] = MappingProxyType(
    {"find_lambda": frozenset({"missing_2pi"})})
"""Per kernel, the upstream slips it cancels: built on them it returns the key's values (a
bisection of periods without 2*pi finds the key's lam), so they never explain its fault."""


def lambda_mutants() -> tuple[Mutant, ...]:
    """Slips for ``find_lambda(m, m_l, d)``: a wrong factor, or the right bisection on
    wavelengths with a slip (the same tags as ``wavelengths``'s mutants, so that one is
    carried, :mod:`grader.carry`).  With the one-based slip the last pair's theta is 1/base,
    and the bisection finds m/m_l: the value of the ``pi_factor`` slip, listed first."""
    return (*(Mutant(slip, lambda m, m_l, d, e=e: (m / m_l) ** e(d)) for slip, e in _LAM_SLIPS),
            *(Mutant(w.slip, _bisection(w.fn)) for w in WAVELENGTH_MUTANTS
              if w.slip.tag != "missing_2pi"))  # 2*pi cancels: that bisection finds the key's


PERMUTATION_MUTANTS: tuple[Mutant, ...] = (
    Mutant(Misconception("inverse_permutation", "That permutation goes the other way: it "
                         "turns a half-split vector into an interleaved one."),
           lambda d: np.argsort(np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)]))),
)
