"""Position interpolation and NTK-aware base scaling: how each extends a RoPE context from
``m_l`` positions to ``m``, seen through the periods of the rotary pairs.

* The period of pair ``i`` is ``T_i = 2*pi/theta_i = 2*pi*base**(2*i/d)``, ``i = 0 .. d/2 - 1``
  (the book's ``k = i + 1``).
* Position interpolation maps ``p -> p*m_l/m``: every period is multiplied by ``m/m_l``.
* NTK-aware scaling replaces ``base`` by ``lam*base`` with ``lam = (m/m_l)**(d/(d-2))``, which
  stretches the period of the last pair ``i = d/2 - 1`` (lowest frequency, longest period) by
  exactly ``m/m_l``, as position interpolation does, and leaves the first pair alone
  (``theta_0 = 1`` for every base, so matching *that* pair has no solution).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from solutions.rope import _dimension, _positions, _positive_real

__all__ = ["ntk_scaled_base", "ntk_scaling_factor", "position_interpolation", "wavelengths"]


def _lambda_dimension(value: Any) -> int:
    """Like :func:`_dimension`, but also rejects ``d == 2``, for which ``lam`` is undefined."""
    dim = _dimension(value)
    if dim == 2:
        raise ValueError(
            "d = 2 leaves a single rotary pair whose frequency theta_0 = base**0 = 1 whatever "
            "the base, so base scaling cannot imitate position interpolation; "
            "lam = (m/m_l)**(d/(d-2)) is undefined (division by d - 2 = 0)"
        )
    return dim


def wavelengths(d: int, base: float = 10000.0) -> NDArray[np.float64]:
    """Periods ``2*pi/theta_i = 2*pi*base**(2*i/d)`` of the ``d/2`` pairs (float64)."""
    dim = _dimension(d)
    b = _positive_real(base, "base")
    return 2.0 * np.pi * np.power(b, 2.0 * np.arange(dim // 2, dtype=np.float64) / dim)


def position_interpolation(positions: ArrayLike, m: float, m_l: float) -> NDArray[np.float64]:
    """Position interpolation: squeeze positions of a length-``m`` context into the trained
    length ``m_l`` by ``p -> p*m_l/m`` (float64). Every period is thereby stretched by
    ``m/m_l``."""
    scale = _positive_real(m_l, "m_l") / _positive_real(m, "m")
    return _positions(positions) * scale


def ntk_scaling_factor(m: float, m_l: float, d: int) -> float:
    """NTK-aware base-scaling factor ``lam = (m/m_l)**(d/(d-2))``.

    It makes the period of the last pair ``i = d/2 - 1`` grow by ``m/m_l`` exactly, as under
    position interpolation. ``d`` must be an even integer >= 4.
    """
    ratio = _positive_real(m, "m") / _positive_real(m_l, "m_l")
    dim = _lambda_dimension(d)
    return float(ratio ** (dim / (dim - 2)))


def ntk_scaled_base(base: float, m: float, m_l: float, d: int) -> float:
    """The NTK-aware base ``lam*base`` for extending a context from ``m_l`` to ``m``."""
    return _positive_real(base, "base") * ntk_scaling_factor(m, m_l, d)
