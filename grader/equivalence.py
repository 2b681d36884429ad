"""Honest equivalence: proof first, and 30-digit evaluation at fixed points as a second method.

An answer counts as equal only when it is proven equal, or when it agrees to
:data:`DIGITS` digits at every sample point and no difference below those digits is found.
Any numeric disagreement rejects it, and an undecided proof never counts on its own.
Everything here assumes the problem's assumptions (b, m, m_l, lam > 0; d even >= 4), which the
canonical symbols carry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from fractions import Fraction
from functools import lru_cache

import sympy as sp
from sympy.core.evalf import PrecisionExhausted

from grader.domain import sample_points
from grader.limits import CheckCrashed, CheckTimeout, call_with_timeout
from grader.mpeval import NO_VALUE, UNSURE, fast_value

DIGITS = 30
"""Digits to which values must agree."""
PROOF_SECONDS = 2.0
"""CPU time allowed for a proof attempt; an unfinished proof is 'undecided', not wrong."""
DISPROOF_DIGITS = 600
"""Working precision (digits) up to which a difference below 30 digits is looked for."""
DISPROOF_POINTS = 3
"""Sample points at which it is looked for."""
_EVAL_DIGITS = DIGITS + 15
_REL = sp.Float(10, _EVAL_DIGITS) ** (2 - DIGITS)
_ABS = sp.Float(10, _EVAL_DIGITS) ** (-DIGITS - 10)

Point = Mapping[sp.Symbol, sp.Expr]
Value = sp.Float | None


class Equivalence(str, Enum):
    """How two expressions compare."""

    PROVEN = "proven"
    """sympy proved them equal, and they agree numerically"""
    NUMERIC = "numeric"
    """the proof was undecided, but they agree to 30 digits at every sample point and no
    smaller difference was found"""
    DIFFERENT = "different"
    """they disagree numerically somewhere"""


def rationalise(expr: sp.Basic) -> sp.Basic:
    """Replace each Float by the rational it stands for (:func:`rational_of`)."""
    floats = {f: rational_of(f) for f in expr.atoms(sp.Float)}
    return expr.xreplace(floats) if floats else expr


_TYPED_DIGITS = 12
"""A float printed with at most this many significant digits is read as typed (0.1, 4.089)."""
_SNAP_DENOMINATOR = 10**6
_SNAP_RTOL = 1e-13
"""Float arithmetic's rounding, a few units in the last place of a float64, snapped away."""


def rational_of(f: sp.Float) -> sp.Rational:
    """The rational a Float stands for: its printed decimal when that is short, as typed
    (0.5 -> 1/2, 0.1 -> 1/10); else the simplest fraction (denominator up to a million)
    within rounding of it, as float arithmetic leaves one (``2.0/3`` -> 2/3, and
    0.9999999999999993 and 1.0000000000000007 both -> 1); else the printed decimal."""
    printed = str(f)
    digits = printed.lstrip("-").split("e")[0].replace(".", "").strip("0")
    decimal = sp.Rational(printed)
    if len(digits) <= _TYPED_DIGITS:
        return decimal
    p, q = sp.Rational(f).as_numer_denom()
    exact = Fraction(int(p), int(q))
    near = exact.limit_denominator(_SNAP_DENOMINATOR)
    if abs(near - exact) <= _SNAP_RTOL * abs(exact):
        return sp.Rational(near.numerator, near.denominator)
    return decimal


def value_at(expr: sp.Expr, point: Point) -> Value:
    """``expr`` at ``point`` to 45 digits, or None when it is not a finite real number."""
    fast = fast_value(expr, point, _EVAL_DIGITS)
    if fast is NO_VALUE:
        return None
    if fast is not UNSURE:
        return sp.Float(fast, _EVAL_DIGITS)
    expr = sp.sympify(expr)
    try:
        try:  # strict: every digit vouched for, or PrecisionExhausted
            return _real(expr.evalf(_EVAL_DIGITS, subs=dict(point), strict=True))
        except PrecisionExhausted:
            pass
        # a part evalf cannot tell from zero: sqrt(d - 4) + 1 at d = 4 is fine, but at a
        # singular point (d = 4 in d/(d - 4)) evalf would divide by a rounding residue.  The
        # point put in exactly shows a pole (zoo, nan); a second, finer evaluation of what is
        # left shows digits that move with the precision
        if expr.xreplace(dict(point)).has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
            return None
        v = _real(expr.evalf(_EVAL_DIGITS, subs=dict(point)))
        finer = None if v is None else _real(
            expr.evalf(_EVAL_DIGITS + 15, subs=dict(point)))
    except (ValueError, TypeError, ZeroDivisionError, ArithmeticError, MemoryError,
            RecursionError):  # a power tower's value can outgrow memory
        return None
    return v if v is not None and finer is not None and close(v, finer) else None


def _real(v: object) -> Value:
    """An evalf result as a real Float (a rounding-residue imaginary part dropped), or None."""
    if isinstance(v, sp.Number) and v.is_finite and v.is_real:
        return sp.Float(v, _EVAL_DIGITS)
    if isinstance(v, sp.Expr) and v.is_number and not isinstance(v, sp.Number):
        re, im = v.as_real_imag()
        if (isinstance(re, sp.Number) and re.is_finite and im.is_finite
                and abs(im) <= _ABS * (1 + abs(re))):
            return sp.Float(re, _EVAL_DIGITS)
    return None


def close(a: Value, b: Value) -> bool:
    """True when both values exist and agree to :data:`DIGITS` digits."""
    if a is None or b is None:
        return False
    return bool(abs(a - b) <= _REL * max(abs(a), abs(b)) + _ABS)


@lru_cache(maxsize=4096)
def values(expr: sp.Expr, item_id: str) -> tuple[Value, ...]:
    """``expr`` at every sample point of ``item_id`` (cached for the grader's own expressions)."""
    return tuple(value_at(expr, p) for p in sample_points(item_id))


def agree(a: Sequence[Value], b: Sequence[Value]) -> bool:
    """True when two value vectors agree at every point."""
    return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))


def prove_equal(a: sp.Expr, b: sp.Expr) -> bool | None:
    """Try to prove ``a == b`` under the symbols' assumptions; None when undecided."""
    if a == b:
        return True
    try:
        if _cheap_zero(a - b) or _cheap_zero(sp.expand_log(sp.log(a), force=True)
                                            - sp.expand_log(sp.log(b), force=True)):
            return True
        if sp.simplify(sp.expand_log(sp.log(a), force=True)
                       - sp.expand_log(sp.log(b), force=True)) == 0:
            return True
        if sp.simplify(a - b) == 0:
            return True
        return True if a.equals(b) is True else None
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        return None


def _cheap_zero(e: sp.Expr) -> bool:
    """A fast normal form that often shows a difference is 0: split and un-nest powers
    (``((m/m_l)**(d/(d-2)))**((d-2)/d)`` is m/m_l), expand, merge powers, and bring each
    exponent to one fraction.  ``force`` is safe here: ``compare`` only tries to prove
    what already agrees to 30 digits at every sample point."""
    e = sp.powdenest(sp.expand_power_base(e, force=True), force=True)
    e = sp.expand(e, power_exp=False)
    e = sp.powsimp(e, force=True)
    e = e.replace(lambda x: x.is_Pow, lambda x: sp.Pow(x.base, sp.cancel(x.exp)))
    return sp.cancel(sp.expand(e)) == 0


def differ_below_digits(a: sp.Expr, b: sp.Expr, points: Sequence[Point]) -> bool:
    """True when ``a - b`` is certainly not 0 at one of ``points``, however small it is.

    The points are exact rationals, put in exactly; ``evalf`` in strict mode then vouches for
    every digit it returns, raising its working precision through cancellation (up to
    :data:`DISPROOF_DIGITS` digits) and giving up rather than guess. So a difference that the
    30-digit comparison cannot see (``+ 10**-40``, ``*(1 + exp(-1000*d))``) shows here, while a
    true identity (``sin(d)**2 + cos(d)**2 - 1``) never yields a vouched-for non-zero digit.
    Only transformations valid for every value are used (no ``force``)."""
    diff = a - b
    for form in (diff, sp.expand(diff)):
        for point in points:
            exact = form.xreplace(dict(point))
            if exact.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
                continue
            try:
                value = exact.evalf(15, strict=True, maxn=DISPROOF_DIGITS)
            except (PrecisionExhausted, ValueError, TypeError, ZeroDivisionError,
                    ArithmeticError, MemoryError, RecursionError):
                continue
            if value.is_number and value.is_zero is False and value.is_finite:
                return True
    return False


def compare(student: sp.Expr, reference: sp.Expr, item_id: str) -> Equivalence:
    """Compare by numbers (any disagreement rejects), then try to prove; when no proof comes,
    look for a difference below the 30 digits (any rejects)."""
    mine, theirs = values(student, item_id), values(reference, item_id)
    if not agree(mine, theirs):
        return Equivalence.DIFFERENT
    if student == reference:  # the same tree: proven without a process for the proof
        return Equivalence.PROVEN
    try:
        proven = call_with_timeout(prove_equal, student, reference, seconds=PROOF_SECONDS)
    except (CheckTimeout, CheckCrashed, RuntimeError):
        proven = None
    if proven:
        return Equivalence.PROVEN
    points = [p for p, v in zip(sample_points(item_id), mine) if v is not None]
    return Equivalence.DIFFERENT if certainly_differ(student, reference, points) \
        else Equivalence.NUMERIC


def certainly_differ(a: sp.Expr, b: sp.Expr, points: Sequence[Point]) -> bool:
    """:func:`differ_below_digits` at the first :data:`DISPROOF_POINTS` of ``points``, in a
    time-limited child; False (no disproof) when it runs out of time or crashes."""
    if a == b:
        return False
    try:
        return bool(call_with_timeout(_differ_unless_cheaply_equal, a, b,
                                      list(points)[:DISPROOF_POINTS], seconds=PROOF_SECONDS))
    except (CheckTimeout, CheckCrashed, RuntimeError):
        return False


def _differ_unless_cheaply_equal(a: sp.Expr, b: sp.Expr, points: Sequence[Point]) -> bool:
    """No disproof when a fast normal form already shows ``a - b`` is 0 (the usual right
    answer in another form, whose evaluation would only cancel up to the precision cap);
    else :func:`differ_below_digits`."""
    try:
        if _cheap_zero(a - b):
            return False
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        pass
    return differ_below_digits(a, b, points)


def same_up_to_constant(eq: sp.Equality, ref: sp.Equality, item_id: str,
                        allow_factor: bool = True, strict: bool = False) -> bool:
    """Do the sides of ``eq`` match those of ``ref``, in either orientation, up to one
    common non-zero numeric factor (exactly 1 unless ``allow_factor``)?  ``strict`` also
    looks for a difference below the 30 digits (as :func:`compare` does without a proof):
    for the key, not for naming a slip."""
    ref_l, ref_r = values(ref.lhs, item_id), values(ref.rhs, item_id)
    for lhs, rhs in ((eq.lhs, eq.rhs), (eq.rhs, eq.lhs)):
        ratios_l = [_ratio(x, y) for x, y in zip(values(lhs, item_id), ref_l)]
        ratios_r = [_ratio(x, y) for x, y in zip(values(rhs, item_id), ref_r)]
        k = ratios_l[0]
        if k is None or abs(k) <= _ABS:
            continue
        if not allow_factor and not close(k, sp.Float(1, _EVAL_DIGITS)):
            continue
        both_zero = _zero(values(rhs, item_id)) and _zero(ref_r)  # a side moved over: X = 0
        if all(close(x, k) for x in ratios_l) and (
                both_zero or all(close(x, k) for x in ratios_r)):
            if not strict:
                return True
            # below the 30 digits: lhs/ref.lhs = rhs/ref.rhs exactly, and k = 1 exactly
            points = [p for p, x in zip(sample_points(item_id), ratios_l) if x is not None]
            if certainly_differ(lhs * ref.rhs, rhs * ref.lhs, points) or (
                    not allow_factor and certainly_differ(lhs, ref.lhs, points)):
                continue
            return True
    return False


def _zero(vals: list[Value]) -> bool:
    """Is a side 0 at every sample point?"""
    return bool(vals) and all(v is not None and abs(v) <= _ABS for v in vals)


def _ratio(va: Value, vb: Value) -> Value:
    if va is None or vb is None or abs(vb) <= _ABS:
        return None
    return va / vb


def satisfied_by(eq: sp.Equality, symbol: sp.Symbol, solution: sp.Expr, item_id: str,
                 where_defined: bool = False, strict: bool = False) -> bool:
    """Does ``symbol = solution`` satisfy ``eq`` at every point, without ``eq`` being an
    identity (true for every value of ``symbol``)?  With ``where_defined``, points where the
    solution or a side has no value (d = 4 in ``(m/m_l)**(d/(d-4))``) are skipped, as long as
    most points remain.  ``strict`` also looks for a residual below the 30 digits."""
    points = sample_points(item_id)
    needed = len(points) // 2 + 1  # most points must be defined
    if where_defined:  # the solution is the grader's own: its values are cached
        points = tuple(p for p, v in zip(points, values(solution, item_id)) if v is not None)

    def sides_agree(value: sp.Expr) -> bool:  # each side on its own: no cancellation
        lhs, rhs = eq.lhs.subs(symbol, value), eq.rhs.subs(symbol, value)
        defined = 0
        for p in points:
            left, right = value_at(lhs, p), value_at(rhs, p)
            if left is None or right is None:
                if where_defined:
                    continue
                return False
            if not abs(left - right) <= _REL * (abs(left) + abs(right)) + _ABS:
                return False
            defined += 1
        return defined >= needed

    if not sides_agree(solution) or sides_agree(sp.Rational(137, 100) * solution):
        return False
    return not (strict and certainly_differ(eq.lhs.subs(symbol, solution),
                                            eq.rhs.subs(symbol, solution), points))


_PROBE_A, _PROBE_B = sp.Rational(7, 3), sp.Rational(11, 5)


def drop_unused(expr: sp.Expr, symbol: sp.Symbol, item_id: str) -> sp.Expr | None:
    """``expr`` with ``symbol`` given a fixed value when its value does not depend on it
    (``exp(log(b**e*m/m_l)/e)/b``: b cancels only through exp and log, which no
    simplification undoes); None when it does depend on it.

    The symbol is moved inside its own domain: at each sample point it takes the next
    point's value while the others stay, so ``(m/m_l)**(d/2)`` is not mistaken for
    constant where a value far from the domain (m = 7/3 beside m_l = 5000) makes it tiny.
    A symbol outside the problem's (no domain) is tried at two fixed values."""
    points = sample_points(item_id)
    if not points or symbol not in points[0]:
        at_a, at_b = expr.subs(symbol, _PROBE_A), expr.subs(symbol, _PROBE_B)
        return at_a if agree(values(at_a, item_id), values(at_b, item_id)) else None
    moved = points[1:] + points[:1]
    for p, q in zip(points, moved, strict=True):
        if not close(value_at(expr, p), value_at(expr, {**p, symbol: q[symbol]})):
            return None
    return expr.subs(symbol, points[0][symbol])


def exact_pi(expr: sp.Basic) -> sp.Basic | None:
    """``expr`` with each float that is a simple multiple of pi or of 1/pi (``2*np.pi``,
    ``np.pi/2``, the ``1/(2*np.pi)`` of a division by ``2*np.pi``) made exact; None when it has
    no such float."""
    exact = {}
    pi = float(sp.pi)
    for f in expr.atoms(sp.Float):
        for scale, power in ((1 / pi, 1), (pi, -1)):
            ratio = sp.nsimplify(float(f) * scale, rational=True, tolerance=1e-12)
            value = float(ratio) * pi ** power
            if ratio != 0 and ratio.q <= 12 and abs(float(f) - value) <= 1e-12 * abs(float(f)):
                exact[f] = ratio * sp.pi ** power
                break
    return expr.xreplace(exact) if exact else None
