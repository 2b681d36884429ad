"""Tables of ``e^{1j*p*theta_i}`` for :func:`solutions.rope.apply_rope`, built in float64.

For positions in an exact arithmetic progression (integers, or dyadic steps such as the 0.25 of
4x position interpolation) the table is built by angle addition,
``e^{1j*(qB + r)*theta} = e^{1j*qB*theta} * e^{1j*r*theta}``, from two small tables of about
``sqrt(seq)`` rows whose angles are free of rounding; otherwise cos/sin are evaluated directly.
Any rows can be asked for, and an entry does not depend on which rows are asked for, so a
threaded caller gets the same table bit for bit however it splits the rows.

Like :mod:`solutions.rope`, this module imports only the standard library and numpy: the grader
sends both sources to the timing box, where no other file of the answer key exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["table_maker"]

_EXACT_LIMIT = 2.0**53  # integers below this are exact in float64
_VELTKAMP = 134217729.0  # 2**27 + 1: splits a float64 into two 26-bit halves


def _split(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Veltkamp split: ``a = hi + lo`` exactly, each half with at most 26 significant bits."""
    scaled = _VELTKAMP * a
    hi = scaled - (scaled - a)
    return hi, a - hi


def _cis_exact_angle(
    mult: NDArray[np.float64], theta: NDArray[np.float64]
) -> NDArray[np.complex128]:
    """``e^{1j*mult*theta}`` (outer product), free of the rounding of ``mult*theta``: Dekker's
    two-product gives ``mult*theta = hi + lo`` exactly, and ``e^{1j*(hi+lo)} = e^{1j*hi}*(1 +
    1j*lo)`` up to ``lo**2/2 < 1e-24``. Accurate to a few ulp whatever the angle's size."""
    hi = np.multiply.outer(mult, theta)
    m_hi, m_lo = _split(mult)
    t_hi, t_lo = _split(theta)
    lo = np.multiply.outer(m_hi, t_hi) - hi
    lo += np.multiply.outer(m_hi, t_lo)
    lo += np.multiply.outer(m_lo, t_hi)
    lo += np.multiply.outer(m_lo, t_lo)
    cos, sin = np.cos(hi), np.sin(hi)
    out = np.empty(hi.shape, dtype=np.complex128)
    np.multiply(lo, sin, out=out.real)
    np.subtract(cos, out.real, out=out.real)  # cos - lo*sin
    np.multiply(lo, cos, out=out.imag)
    out.imag += sin  # sin + lo*cos
    return out


def _exact_progression(positions: NDArray[np.float64]) -> tuple[float, float] | None:
    """``(p0, step)`` if ``positions[k] == p0 + k*step`` exactly, with every ``k*step`` and
    ``p0 + k*step`` representable; else ``None``. Exact test: with ``D`` the power-of-two common
    denominator of ``p0`` and ``step``, ``positions*D`` must equal the integers ``p0*D + k*step*D``
    (all below 2**53)."""
    n = positions.shape[0]
    p0 = float(positions[0])
    step = float(positions[1] - positions[0]) if n > 1 else 0.0
    denom = max(p0.as_integer_ratio()[1], step.as_integer_ratio()[1])
    if denom > 2**60:
        return None
    start, stride = p0 * denom, step * denom
    if abs(start) + (n - 1) * abs(stride) >= _EXACT_LIMIT:
        return None
    expected = start + np.arange(n, dtype=np.float64) * stride
    with np.errstate(over="ignore"):  # huge positions overflow to inf and simply fail the test
        if not np.array_equal(positions * denom, expected):
            return None
    return p0, step


def table_maker(
    positions: NDArray[np.float64], theta: NDArray[np.float64], dtype: np.dtype
) -> Callable[..., np.ndarray]:
    """``rows(start, stop, out=None)``: rows ``start:stop`` of the ``(seq, d/2)`` table
    ``e^{1j*positions[:, None]*theta}``, computed in float64 and rounded once to ``dtype``
    (complex64 or complex128), written into ``out[:stop - start]`` if it is given.

    For an exact arithmetic progression ``p_k = p0 + k*step`` and ``k = q*B + r``:
    ``e^{1j*p_k*theta} = e^{1j*(q*B*step)*theta} * e^{1j*(p0 + r*step)*theta}``, both factors
    from small exact-angle tables of ``B = ceil(sqrt(seq))`` rows, multiplied in at most three
    vectorised calls (a partial block, whole blocks, a partial block). Otherwise cos/sin are
    evaluated directly. Either way an entry does not depend on which rows are asked for.
    """
    n, h = positions.shape[0], theta.shape[0]
    progression = _exact_progression(positions) if n else None
    if progression is None:

        def direct(start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
            table = _rows_of(out, stop - start, h, dtype)
            angles = np.multiply.outer(positions[start:stop], theta)
            np.copyto(table.real, np.cos(angles), casting="same_kind")
            np.copyto(table.imag, np.sin(angles, out=angles), casting="same_kind")
            return table

        return direct
    p0, step = progression
    block = math.isqrt(n - 1) + 1  # B >= sqrt(n)
    low = _cis_exact_angle(p0 + np.arange(block, dtype=np.float64) * step, theta)
    high = _cis_exact_angle(np.arange(0, n, block, dtype=np.float64) * step, theta)

    def added(start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        table = _rows_of(out, stop - start, h, dtype)
        (q0, r0), (q1, r1) = divmod(start, block), divmod(stop, block)
        if q0 == q1:  # within one block
            np.multiply(high[q0], low[r0:r1], out=table, casting="same_kind")
            return table
        head = block - r0  # the rest of block q0, then whole blocks, then the start of q1
        whole = (q1 - q0 - 1) * block
        np.multiply(high[q0], low[r0:], out=table[:head], casting="same_kind")
        middle = table[head : head + whole].reshape(-1, block, h)
        np.multiply(high[q0 + 1 : q1, None, :], low, out=middle, casting="same_kind")
        if r1:
            np.multiply(high[q1], low[:r1], out=table[head + whole :], casting="same_kind")
        return table

    return added


def _rows_of(out: np.ndarray | None, rows: int, h: int, dtype: np.dtype) -> np.ndarray:
    """``out[:rows]`` (scratch space that a caller reuses), or a new ``(rows, h)`` array."""
    return np.empty((rows, h), dtype=dtype) if out is None else out[:rows]
