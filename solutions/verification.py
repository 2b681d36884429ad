"""Numerical verification of the derivation, and the properties notebook 2 asks for.

Everything here is built from the kernels in :mod:`solutions.rope` and :mod:`solutions.scaling`
only: the layout permutation, the relative-position attention score, and lambda found by
bisection on the period-matching condition, with no closed form.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solutions.rope import apply_rope
from solutions.scaling import wavelengths


def interleaved_to_half(d: int) -> NDArray[np.int64]:
    """The permutation ``perm`` with ``x_half = x_interleaved[..., perm]``.

    Interleaved pair ``i`` sits at coordinates ``(2i, 2i+1)``; half-split pair ``i`` at
    ``(i, i + d/2)``.  So the half-split vector lists the even coordinates, then the odd
    ones, and ``apply_rope(x, p, layout="half")[..., perm]`` equals
    ``apply_rope(x[..., perm] ...)``-style rotations pair for pair.
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0 or d % 2:
        raise ValueError(f"d must be a positive even integer (pairs of coordinates), got {d!r}")
    return np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)]).astype(np.int64)


def rope_score(q: ArrayLike, k: ArrayLike, p: float, r: float, base: float = 10000.0
               ) -> float:
    """``<R_p q, R_r k>``: the attention logit of query ``q`` at position ``p`` and key ``k``
    at position ``r`` (interleaved layout).  It depends on ``p - r`` only."""
    q64, k64 = np.asarray(q, np.float64), np.asarray(k, np.float64)
    if q64.shape != k64.shape or q64.ndim != 1:
        raise ValueError(f"q and k must be vectors of the same length, got {q64.shape} and "
                         f"{k64.shape}")
    rq = apply_rope(q64[None, :], np.array([p], np.float64), base)[0]
    rk = apply_rope(k64[None, :], np.array([r], np.float64), base)[0]
    return float(rq @ rk)


def find_lambda(m: float, m_l: float, d: int, base: float = 10000.0, tol: float = 1e-13
                ) -> float:
    """lambda by bisection on the period-matching condition, using only :func:`wavelengths`.

    Find ``lam`` with ``wavelengths(d, lam*base)[-1] == (m/m_l) * wavelengths(d, base)[-1]``.
    The last pair's period grows monotonically with the base, so the root is bracketed by
    ``[1, (m/m_l)**(d/2)]`` when ``m > m_l`` (and the reverse bracket when ``m < m_l``).
    """
    target = (m / m_l) * wavelengths(d, base)[-1]

    def excess(lam: float) -> float:
        return float(wavelengths(d, lam * base)[-1] - target)

    lo, hi = sorted((1.0, (m / m_l) ** (d / 2)))
    if excess(lo) > 0 or excess(hi) < 0:
        raise ValueError("the period-matching condition has no root in the bracket")
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)
