"""Fast numeric values of sympy expressions: a direct walk of the tree with mpmath.

``expr.evalf(subs=...)`` guarantees its digits but costs milliseconds per point, and a check
evaluates hundreds of points.  This walk costs tens of microseconds.  It evaluates twice, at
two working precisions, and returns a value only when both agree far beyond the digits the
checks compare; anything else (cancellation, an unknown function, a complex result) returns
:data:`UNSURE`, and the caller falls back to ``evalf``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import mpmath
import sympy as sp

UNSURE = object()
"""Returned when the fast walk cannot vouch for its value."""
NO_VALUE = object()
"""Returned when the expression has no finite value there: an explicit infinity (``oo``, as
sympy's ``limit`` may leave in an answer) carried through to the result at both precisions
(mpmath never overflows to infinity, and a pole raises instead)."""

_FUNCTIONS: dict[type, Callable[..., Any]] = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
    sp.tan: mpmath.tan, sp.atan: mpmath.atan, sp.Abs: abs,
}

_DPS = (60, 80)
"""The two working precisions (decimal digits)."""


class _Unsupported(Exception):
    pass


def _walk(e: sp.Basic, env: Mapping[sp.Symbol, Any]) -> Any:
    if e.is_Symbol:
        return env[e]
    if e.is_Integer:
        return mpmath.mpf(int(e))
    if e.is_Rational:
        return mpmath.mpf(int(e.p)) / int(e.q)
    if e.is_Float:
        return mpmath.mpf(e._mpf_)
    if e is sp.pi:
        return +mpmath.pi
    if e is sp.E:
        return +mpmath.e
    if e is sp.oo or e is sp.S.NegativeInfinity:
        return mpmath.inf if e is sp.oo else -mpmath.inf
    if e.is_Add:
        return mpmath.fsum(_walk(a, env) for a in e.args)
    if e.is_Mul:
        return mpmath.fprod(_walk(a, env) for a in e.args)
    if e.is_Pow:
        base, exponent = _walk(e.base, env), _walk(e.exp, env)
        return mpmath.power(base, exponent)
    if isinstance(e, sp.sign) and len(e.args) == 1:
        arg = _walk(e.args[0], env)  # a sign is only sure far from zero (cancellation)
        if not abs(arg) > mpmath.mpf(10) ** (-mpmath.mp.dps // 2):
            raise _Unsupported("sign near zero")
        return mpmath.sign(arg)
    func = _FUNCTIONS.get(type(e))
    if func is None or len(e.args) != 1:
        raise _Unsupported(type(e).__name__)
    return func(_walk(e.args[0], env))


@lru_cache(maxsize=1024)
def _environment(point: tuple[tuple[sp.Symbol, sp.Expr], ...], dps: int) -> dict[sp.Symbol, Any]:
    with mpmath.workdps(dps):
        return {s: _walk(sp.sympify(v), {}) for s, v in point}


def _at(expr: sp.Basic, point: Mapping[sp.Symbol, sp.Expr], dps: int) -> Any:
    env = _environment(tuple(point.items()), dps)
    with mpmath.workdps(dps):
        return _walk(expr, env)


def fast_value(expr: sp.Basic, point: Mapping[sp.Symbol, sp.Expr], digits: int) -> Any:
    """``expr`` at ``point`` as an mpmath real good to ``digits`` digits, :data:`NO_VALUE`
    for an infinity, or :data:`UNSURE` when only ``evalf`` can tell (poles, complex values,
    cancellation, unknown functions)."""
    try:
        low, high = (_at(expr, point, dps) for dps in _DPS)
    except (_Unsupported, ArithmeticError, ValueError, KeyError, TypeError, RecursionError,
            MemoryError):  # a pole, log(0), an unknown function, ...: let evalf tell
        return UNSURE
    with mpmath.workdps(_DPS[1]):
        if not (mpmath.isfinite(low) or mpmath.isfinite(high)) and expr.has(
                sp.oo, sp.S.NegativeInfinity):
            return NO_VALUE
        if not (mpmath.isfinite(low) and mpmath.isfinite(high)):
            return UNSURE
        if isinstance(high, mpmath.mpc) or isinstance(low, mpmath.mpc):
            return UNSURE  # complex on the way: evalf decides what a tiny imaginary part means
        scale = max(abs(high), mpmath.mpf(10) ** (-digits - 10))
        if abs(high - low) > scale * mpmath.mpf(10) ** (-digits - 5):
            return UNSURE  # the two precisions disagree: cancellation
        return high
