"""Symbolic derivation of the NTK-aware RoPE base-scaling factor, carried out by sympy.

Conventions (binding for the whole course)
------------------------------------------
* Rotary pairs are indexed from 0: ``theta_i = b**(-2*i/d)`` for ``i = 0 .. d/2 - 1``.
  Xiao & Zhu, *Foundations of LLMs*, ch. 2, write ``theta_k = b**(-2*(k-1)/d)`` with
  ``k = 1 .. d/2``; that is the same list of frequencies with ``k = i + 1``.
* The period (wavelength) of pair ``i`` is ``T_i = 2*pi/theta_i = 2*pi*b**(2*i/d)``.
* Position interpolation (PI) maps ``p -> p*m_l/m`` (``m`` new context length, ``m_l`` the
  original one), which multiplies every period by ``m/m_l``.
* NTK-aware scaling replaces the base ``b`` by ``lam*b``. We choose ``lam`` so that the period of
  the LAST pair ``i* = d/2 - 1`` (highest index, lowest frequency, longest period) is stretched
  exactly as PI stretches it::

      2*pi*(lam*b)**((d-2)/d) = (m/m_l) * 2*pi*b**((d-2)/d)   =>   lam = (m/m_l)**(d/(d-2)).

* Matching the highest-frequency pair ``i = 0`` instead is impossible: ``theta_0 = b**0 = 1``
  whatever the base, so no ``lam`` can stretch its period (see
  :func:`highest_frequency_solutions`).

Every step object below is produced by sympy operations on the previous one; the final answer
:data:`LAM` comes out of :func:`sympy.solve` and is never typed in.

A note on sympy's auto-evaluation: with the *symbolic* exponent ``(d-2)/d`` sympy keeps
``(b*lam)**((d-2)/d)`` unsplit even though ``b`` and ``lam`` are positive, so step 2 needs no
``evaluate=False``; the split of step 3 is done explicitly with :func:`sympy.expand_power_base`.
With a *numeric* rational exponent (e.g. ``d = 128`` substituted) sympy splits the power on
construction: ``(b*lam)**(63/64)`` becomes ``b**(63/64)*lam**(63/64)``.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

__all__ = [
    "DERIVATION_STEPS",
    "DLAM_DD",
    "EQ_CANCEL_2PI",
    "EQ_CANCEL_B",
    "EQ_SPLIT",
    "EXPONENT",
    "I_STAR",
    "LAM",
    "LAM_DOUBLE",
    "LAM_LIMIT",
    "MATCHING_EQUATION",
    "RELATIVE_ERROR",
    "SYMBOLS",
    "b",
    "d",
    "highest_frequency_equation",
    "highest_frequency_solutions",
    "i",
    "lam",
    "lambda_value",
    "m",
    "m_l",
    "period",
    "period_stretch",
    "solve_for_lambda",
    "theta",
]

# --------------------------------------------------------------------------------------------
# Symbols. The grader maps a student's symbols onto these by *name*, so the names are fixed.
# --------------------------------------------------------------------------------------------
b, m, m_l, lam = sp.symbols("b m m_l lam", positive=True)
d = sp.Symbol("d", positive=True, even=True)
i = sp.Symbol("i", integer=True, nonnegative=True)

SYMBOLS: dict[str, sp.Symbol] = {"b": b, "d": d, "m": m, "m_l": m_l, "lam": lam, "i": i}


def theta(idx: Any, base: Any = b, dim: Any = d) -> sp.Expr:
    """Angular frequency of rotary pair ``idx``: ``base**(-2*idx/dim)``.

    Pairs are 0-indexed (``idx = 0 .. dim/2 - 1``); the book's ``theta_k`` with
    ``k = 1 .. dim/2`` is ``theta(k - 1)``. Note ``theta(0) == 1`` for every base.
    """
    return base ** (-2 * sp.sympify(idx) / dim)


def period(idx: Any, base: Any = b, dim: Any = d) -> sp.Expr:
    """Period (wavelength) of pair ``idx``: ``2*pi/theta(idx) = 2*pi*base**(2*idx/dim)``.

    It is written with the positive exponent so that sympy prints ``2*pi*(b*lam)**((d - 2)/d)``
    rather than ``2*pi/(b*lam)**((2 - d)/d)``; the two are the same expression mathematically.
    """
    return 2 * sp.pi * base ** (2 * sp.sympify(idx) / dim)


#: Index of the matched pair: the LAST one (lowest frequency, longest period).
I_STAR: sp.Expr = d / 2 - 1

# --------------------------------------------------------------------------------------------
# The derivation, one sympy operation per step.
# --------------------------------------------------------------------------------------------

#: Step 5 (needed by steps 2-4): the exponent of the last pair's period, ``2*i*/d``.
EXPONENT: sp.Expr = sp.simplify(2 * I_STAR / d)

#: Step 1: the new model's last-pair period equals PI's last-pair period.
MATCHING_EQUATION: sp.Eq = sp.Eq(period(I_STAR, lam * b), (m / m_l) * period(I_STAR, b))

#: Step 2: divide both sides by ``2*pi``.
EQ_CANCEL_2PI: sp.Eq = sp.Eq(
    MATCHING_EQUATION.lhs / (2 * sp.pi), MATCHING_EQUATION.rhs / (2 * sp.pi)
)

#: Step 3: split ``(lam*b)**e`` into ``lam**e * b**e`` (valid because ``lam, b > 0``).
EQ_SPLIT: sp.Eq = sp.Eq(sp.expand_power_base(EQ_CANCEL_2PI.lhs), EQ_CANCEL_2PI.rhs)

#: Step 4: divide both sides by ``b**e``.
EQ_CANCEL_B: sp.Eq = sp.Eq(
    sp.powsimp(EQ_SPLIT.lhs / b**EXPONENT), sp.powsimp(EQ_SPLIT.rhs / b**EXPONENT)
)

#: Steps 1-5 in order (name -> sympy object).
DERIVATION_STEPS: dict[str, sp.Basic] = {
    "MATCHING_EQUATION": MATCHING_EQUATION,
    "EQ_CANCEL_2PI": EQ_CANCEL_2PI,
    "EQ_SPLIT": EQ_SPLIT,
    "EQ_CANCEL_B": EQ_CANCEL_B,
    "EXPONENT": EXPONENT,
}


def solve_for_lambda(equation: Any) -> list[sp.Expr]:
    """Solve ``equation`` for ``lam`` and return the simplified solutions.

    Robust to what sympy's auto-evaluation may hand over:

    * ``sympy.false`` (e.g. ``Eq(2*pi, 4*pi)`` once numbers are substituted) -> ``[]``;
    * an ``Eq`` that does not contain ``lam`` (e.g. the ``i = 0`` matching equation
      ``Eq(2*pi, 2*pi*m/m_l)``) -> ``[]``: it cannot be solved for ``lam``; it holds only when
      ``m == m_l``, i.e. when nothing is extended;
    * ``sympy.true`` -> :class:`ValueError`, because every ``lam`` satisfies it, so it does not
      determine ``lam``.
    """
    eq = sp.sympify(equation)
    if isinstance(eq, BooleanFalse):
        return []
    if isinstance(eq, BooleanTrue):
        raise ValueError(
            "the equation is identically true: every lam satisfies it, so it does not determine lam"
        )
    if lam not in eq.free_symbols:
        return []
    return [sp.simplify(sol) for sol in sp.solve(eq, lam)]


def _single_solution(equation: sp.Eq) -> sp.Expr:
    solutions = solve_for_lambda(equation)
    if len(solutions) != 1:  # pragma: no cover - guards against a sympy behaviour change
        raise RuntimeError(f"expected exactly one positive solution for lam, got {solutions}")
    return solutions[0]


#: Step 6: the scaling factor, as returned by ``sympy.solve`` -- ``(m/m_l)**(d/(d - 2))``.
LAM: sp.Expr = _single_solution(EQ_CANCEL_B)


def period_stretch(idx: Any) -> sp.Expr:
    """Factor by which base scaling ``b -> lam*b`` stretches the period of pair ``idx``.

    Computed as ``period(idx, lam*b) / period(idx, b)``, which sympy reduces to
    ``lam**(2*idx/d)``: 1 for ``idx = 0`` and ``m/m_l`` for ``idx = I_STAR`` once ``lam = LAM``.
    """
    ratio = period(idx, lam * b) / period(idx, b)
    return sp.powsimp(sp.expand_power_base(ratio))


def highest_frequency_equation() -> sp.Basic:
    """The matching equation for the highest-frequency pair ``i = 0``.

    Since ``theta_0 = b**0 = 1`` for every base, sympy evaluates both periods to ``2*pi`` and
    returns ``Eq(2*pi, 2*pi*m/m_l)`` -- an equation in which ``lam`` does not even appear.
    """
    return sp.Eq(period(0, lam * b), (m / m_l) * period(0, b))


def highest_frequency_solutions() -> list[sp.Expr]:
    """Solutions for ``lam`` when matching pair ``i = 0``: always ``[]``.

    Base scaling cannot move the fastest pair -- its frequency is 1 whatever the base -- so no
    ``lam`` makes it imitate PI (unless ``m == m_l``, where there is nothing to imitate).
    """
    return solve_for_lambda(highest_frequency_equation())


# --------------------------------------------------------------------------------------------
# Extras used by the course (about 0.1 s of sympy work at import).
# --------------------------------------------------------------------------------------------
_rho = sp.Symbol("rho", positive=True)  # stands for m/m_l while tidying powers


def _tidy_exponents(expr: sp.Expr) -> sp.Expr:
    """Combine powers of one base and cancel each exponent (``rho**(d/(d-2) - 1)`` ->
    ``rho**(2/(d - 2))``)."""
    combined = sp.powsimp(expr)
    return combined.replace(lambda e: e.is_Pow, lambda e: sp.Pow(e.base, sp.cancel(e.exp)))


_LAM_RHO = LAM.subs(m, _rho * m_l)  # LAM written with rho = m/m_l: rho**(d/(d - 2))

#: ``2**(d/(d - 2))``: the factor for doubling the context (``m = 2*m_l``).
LAM_DOUBLE: sp.Expr = sp.simplify(LAM.subs(m, 2 * m_l))

#: ``(m/m_l)**(2/(d - 2)) - 1``: how much larger ``lam`` is than PI's factor ``m/m_l``.
RELATIVE_ERROR: sp.Expr = _tidy_exponents(_LAM_RHO / _rho).subs(_rho, m / m_l) - 1

#: ``d lam/d d = -2*(m/m_l)**(d/(d - 2))*log(m/m_l)/(d - 2)**2`` (negative for ``m > m_l``).
DLAM_DD: sp.Expr = sp.simplify(sp.diff(_LAM_RHO, d)).subs(_rho, m / m_l)

#: ``m/m_l``: for wide heads base scaling tends to PI's factor.
LAM_LIMIT: sp.Expr = sp.limit(LAM, d, sp.oo)


# --------------------------------------------------------------------------------------------
# Numeric evaluation of the derived formula.
# --------------------------------------------------------------------------------------------
def _positive_number(value: Any, name: str) -> sp.Expr:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive number, got the boolean {value!r}")
    try:
        if isinstance(value, float):  # exact binary value, carried at 30 digits
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
            expr = sp.Float(value, 30)
        else:
            expr = sp.sympify(value)
    except (sp.SympifyError, TypeError) as exc:
        raise ValueError(f"{name} must be a positive number, got {value!r}") from exc
    if not (expr.is_real and expr.is_finite and expr.is_positive):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return expr


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an even integer, got the boolean {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        if isinstance(value, float) and value.is_integer():
            return int(value)
    raise ValueError(f"{name} must be an even integer, got {value!r}")


def lambda_value(m_new: Any, m_orig: Any, dim: Any) -> float:
    """Evaluate the sympy-derived :data:`LAM` numerically (30 digits, returned as a float).

    ``dim`` must be an even integer >= 4. For ``dim == 2`` there is a single pair, ``i = 0``,
    whose frequency is 1 whatever the base, so base scaling cannot imitate PI and ``lam`` is
    undefined (the formula would divide by ``d - 2 = 0``).
    """
    dim_int = _integer(dim, "dim")
    if dim_int <= 0 or dim_int % 2:
        raise ValueError(f"dim must be a positive even integer (it holds d/2 pairs), got {dim!r}")
    if dim_int == 2:
        raise ValueError(
            "dim == 2 leaves a single rotary pair whose frequency theta_0 = base**0 = 1 "
            "whatever the base, so base scaling cannot imitate position interpolation; "
            "lam = (m/m_l)**(d/(d-2)) is undefined (division by d - 2 = 0)"
        )
    values = {
        m: _positive_number(m_new, "m_new"),
        m_l: _positive_number(m_orig, "m_orig"),
        d: sp.Integer(dim_int),
    }
    return float(LAM.subs(values).evalf(30))
