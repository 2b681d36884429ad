"""The derivation of lam continued from a student's own equation (follow-through for the steps).

The answer key derives lam in steps (:mod:`solutions.derivation`): the period-matching
equation, divide both sides by 2*pi, split ``(lam*b)**e`` into ``lam**e * b**e``, divide both
sides by ``b**e``, solve for lam.  A student whose matching equation is wrong (built on their
own wrong period, say) and who then does every step right writes equations that differ from
the key's at every step.  :func:`carried` applies the key's operations to the student's
equation, so that each later step is judged against what it should be from there
(:mod:`grader.carry`).
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from solutions import derivation as D

STEP_NAMES = ("the period-matching equation", "cancel 2*pi", "split (lam*b)**e", "cancel b**e",
              "solve for lam")
"""The steps in order, as the feedback names them (index = step number)."""

Chain = tuple[tuple[str, sp.Equality], ...]


def _cancel_2pi(eq: sp.Equality) -> sp.Equality:
    return sp.Eq(eq.lhs / (2 * sp.pi), eq.rhs / (2 * sp.pi))


def _split(eq: sp.Equality) -> sp.Equality:
    return sp.Eq(sp.expand_power_base(eq.lhs), sp.expand_power_base(eq.rhs))


def _cancel_b(eq: sp.Equality) -> sp.Equality | None:
    """Divide both sides by the factor beside lam's power: ``b**e`` in the key's equation,
    with a constant too when one is left there (a 2*pi that was never in the period), or
    common to every term of a side moved over (``b**e*lam**e - b**e*m/m_l = 0``).  None
    unless exactly one side holds lam."""
    lhs, rhs = sp.factor_terms(eq.lhs), sp.factor_terms(eq.rhs)
    sides = [side for side in (lhs, rhs) if D.lam in side.free_symbols]
    if len(sides) != 1:
        return None
    beside = sides[0].as_independent(D.lam, as_Add=False)[0]
    return sp.Eq(sp.powsimp(lhs / beside), sp.powsimp(rhs / beside))


def _solve(eq: sp.Equality) -> sp.Equality | None:
    solutions = D.solve_for_lambda(eq)
    return sp.Eq(D.lam, solutions[0]) if len(solutions) == 1 else None


_OPERATIONS: tuple[Callable[[sp.Equality], sp.Equality | None], ...] = (
    _cancel_2pi, _split, _cancel_b, _solve)
"""The operation that leads from step k to step k + 1."""


def continued(eq: sp.Equality, start: int) -> Chain | None:
    """The steps from ``start`` on, when ``eq`` is the student's step ``start``; the last is
    ``Eq(lam, solution)``.  None when an operation does not apply (no lam, or lam on both
    sides, or not exactly one solution)."""
    steps = [eq]
    for operation in _OPERATIONS[start:]:
        following = operation(steps[-1])
        if not isinstance(following, sp.Equality):
            return None  # sympy decided it (True or False), or nothing to do
        steps.append(following)
    return tuple(zip(STEP_NAMES[start:], steps))


def carried(eq: sp.Basic, start: int, target: int
            ) -> tuple[sp.Equality, Chain, sp.Expr] | None:
    """``(step target, the chain from start on, lam)`` when the student's own equation ``eq``
    is step ``start``; None when the derivation cannot continue from it."""
    if not isinstance(eq, sp.Equality):
        return None
    chain = continued(eq, start)
    if chain is None:
        return None
    return chain[target - start][1], chain, chain[-1][1].rhs


def solution(eq: sp.Basic) -> sp.Expr | None:
    """lam solved from the student's own ``step_cancel_b`` (None when it has no single one).
    One already solved for lam (the exponent was 1: the pair d/2 was matched) gives its other
    side; lam_solution is carried from it only when that step_cancel_b was carried in turn
    (``Item.carry_only_carried``), never from lam typed in there."""
    if isinstance(eq, sp.Equality) and D.lam in (eq.lhs, eq.rhs):
        other = eq.rhs if eq.lhs == D.lam else eq.lhs
        return None if D.lam in other.free_symbols else other
    found = carried(eq, 3, 4)
    return None if found is None else found[2]


def matching(period: sp.Expr, stretch: sp.Expr, i_star: sp.Expr) -> sp.Equality | None:
    """The period-matching equation built from the student's period, PI stretch and matched
    pair, as the notebook builds it: the period at ``i_star`` with base ``lam*b`` equals
    ``stretch`` times the period at ``i_star``."""
    new = period.subs({D.i: i_star, D.b: D.lam * D.b}, simultaneous=True)
    eq = sp.Eq(new, stretch * period.subs(D.i, i_star))
    return eq if isinstance(eq, sp.Equality) else None


def lam_from(eq: sp.Basic, exponent: sp.Basic) -> sp.Expr | None:
    """lam as the student may have reached it: solved from their ``step_cancel_b`` (the
    notebook's way), or as ``(m/m_l)**(1/exponent)`` from their exponent, taken where their
    equation gives the key's lam but their exponent does not (an exponent carried from a
    wrong i_star beside a right equation: lam then follows the exponent)."""
    from_eq = solution(eq)
    if from_eq is not None and not _same_value(from_eq, D.LAM):
        return from_eq
    if isinstance(exponent, sp.Expr) and exponent.free_symbols <= {D.d} and exponent != 0 \
            and not _same_value(exponent, D.EXPONENT):
        return (D.m / D.m_l) ** (1 / exponent)
    return from_eq


_LAM_POINTS = ({D.m: 16384, D.m_l: 4096, D.d: 128}, {D.m: 7, D.m_l: 3, D.d: 10})
"""points with m > m_l and even d > 2"""
_THETA_POINTS = ({D.b: 10000, D.i: 3, D.d: 128}, {D.b: 7, D.i: 1, D.d: 10})


def _same_value(a: sp.Expr, b: sp.Expr, points: tuple[dict, ...] = _LAM_POINTS) -> bool:
    """Do ``a`` and ``b`` agree at a few points?"""
    try:
        return all(abs(complex(sp.N((a - b).subs(p), 20))) < 1e-12 * (
            1 + abs(complex(sp.N(b.subs(p), 20)))) for p in points)
    except (TypeError, ValueError, ZeroDivisionError):
        return False


def solved_at_pair_0(period: sp.Basic, stretch: sp.Basic) -> list[sp.Expr] | None:
    """What ``sympy.solve`` gives for lam from the student's own i = 0 equation (their period
    at i = 0 with base lam*b equals their stretch times it with base b): [] when theta_0 is 1,
    a solution when their theta is shifted (one-based)."""
    if not isinstance(period, sp.Expr) or not isinstance(stretch, sp.Expr):
        return None
    at_0 = period.subs(D.i, 0)
    eq = sp.Eq(at_0.subs(D.b, D.lam * D.b), stretch * at_0)
    if not isinstance(eq, sp.Equality):
        return []  # sympy decided it at once: no lam in it
    try:
        return list(sp.solve(eq, D.lam))
    except (NotImplementedError, TypeError, ValueError):
        return None


def last_pair_of(theta: sp.Basic) -> sp.Expr | None:
    """The last pair's index in the student's own counting, when their ``theta_i`` is the
    key's with the index shifted by a whole number ``s`` (``s = 1``: the book's 1-based
    ``b**(-2(k-1)/d)`` with i put in for k, pairs 1 .. d/2): ``d/2 - 1 + s``. None for any
    other theta (a slip in the exponent does not change which pair comes last)."""
    if not isinstance(theta, sp.Expr) or D.i not in theta.free_symbols:
        return None
    try:
        exponent = sp.expand(sp.expand_log(sp.log(theta), force=True) / sp.log(D.b))
        shift = sp.nsimplify(sp.simplify(exponent.subs(D.i, 0) * D.d / 2))
    except (TypeError, ValueError, NotImplementedError):
        return None
    if not shift.is_Integer or shift == 0 or not _same_value(
            theta, D.theta(D.i - shift), _THETA_POINTS):
        return None
    return D.d / 2 - 1 + shift

