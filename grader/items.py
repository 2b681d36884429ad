"""The registry: every graded item, declared once.

Hidden tests (``grade("<id>", <name>)``), nbgrader grade ids, the instructor report and the
class analytics are all driven from :data:`REGISTRY`.  An item's check receives the
problem parameters, so per-student variants need only a different ``params`` mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import sympy as sp

from grader import catalogues as C
from grader import mutants as M
from grader import steps as ST
from grader.kernels import KernelCheck, SpeedCheck
from grader.payload import Answer
from grader.results import Judgement
from grader.symbolic import EquationCheck, ExprCheck, Misconception, StepForm
from grader.valuechecks import ChoiceCheck, NumberCheck, SolutionsCheck
from solutions import derivation as D
from solutions import rope as R
from solutions import scaling as S
from solutions import verification as V

DEFAULT_PARAMS: Mapping[str, Any] = MappingProxyType(
    {"m_l": 4096, "m": 16384, "d": 128, "b": 10000})
"""The course's worked case: 4096 -> 16384 tokens, d = 128, base 10,000."""


class Check(Protocol):
    """What every check provides."""

    def warm(self, item_id: str, params: Mapping[str, Any]) -> None: ...

    def judge(self, answer: Answer, item_id: str, params: Mapping[str, Any]) -> Judgement: ...


@dataclass(frozen=True)
class Item:
    """One auto-graded item."""

    id: str
    """registry key, nbgrader grade_id of its hidden-test cell, and capture key"""
    notebook: str
    """the assignment (= notebook) it belongs to"""
    name: str
    """the student-facing name the hidden test reads"""
    points: float
    """points available"""
    check: Check
    """how the answer is judged"""
    topic: str
    """a short label for reports"""
    follows: str | tuple[str, ...] = ""
    """the item (or items) whose answer this one is computed from (follow-through:
    :mod:`grader.carry`); for a kernel, the kernel whose slips (mutants) it shares"""
    carry: Callable[..., Any] | None = None
    """the check's reference when the student's own answers to ``follows`` replace the key's
    (one argument per upstream item, in order): an expression for an ``ExprCheck``, a values
    function for a ``NumberCheck``, the choice for a ``ChoiceCheck``, the fields to replace
    for an ``EquationCheck`` (None: nothing to carry)"""
    carry_only_carried: bool = False
    """carry only from wrong upstream answers that were themselves carried: the slip happened
    before them (lam_solution: a lam typed into step_cancel_b earns nothing)"""
    carried_note: str = ""
    """what the feedback says after "Worked correctly from your X, which is not right:" when
    this answer is carried, for one typed in rather than computed from its upstream (the
    default: fix X and this answer will follow)"""
    carry_not_past_refusal: bool = False
    """carry from a wrong upstream answer unless it rests on a wrong answer that was not
    carried (colleague_claim: the zero errors that lam = m/m_l gives decide nothing, while
    the student's own miscalculated errors do)"""

    @property
    def upstreams(self) -> tuple[str, ...]:
        """``follows`` as a tuple of item ids (empty when the item follows none)."""
        if isinstance(self.follows, str):
            return (self.follows,) if self.follows else ()
        return self.follows


def _at(expr: sp.Expr, p: Mapping[str, Any], **over: Any) -> float:
    values = {**p, **over}
    subs = {D.SYMBOLS[k]: sp.nsimplify(v) for k, v in values.items() if k in D.SYMBOLS}
    return float(sp.sympify(expr).evalf(30, subs=subs))


def _values(*exprs: Any) -> Callable[[Mapping[str, Any]], tuple[float, ...]]:
    """Evaluate expressions (or (expr, overrides) pairs) at the parameters."""
    specs = [e if isinstance(e, tuple) else (e, {}) for e in exprs]

    def fn(p: Mapping[str, Any]) -> tuple[float, ...]:
        return tuple(_at(e, p, **o) for e, o in specs)
    return fn


def _lam_slips(scale: Callable[[sp.Expr], sp.Expr] = lambda e: e
               ) -> tuple[tuple[Misconception, Callable], ...]:
    return tuple((mis, _values(scale(mis.answer))) for mis in C.LAM_CATALOGUE)


_d, _m, _ml, _b, _i = D.d, D.m, D.m_l, D.b, D.i
_ratio = _m / _ml
_CHAIN = tuple(zip(ST.STEP_NAMES, (D.MATCHING_EQUATION, D.EQ_CANCEL_2PI, D.EQ_SPLIT,
                                    D.EQ_CANCEL_B, sp.Eq(D.lam, D.LAM))))


def _step(reference: sp.Equality, hint: str, allow_factor: bool = False,
          form: StepForm | None = None, orientation: str = "") -> EquationCheck:
    return EquationCheck(reference, _CHAIN, D.LAM, hint, C.LAM_CATALOGUE,
                         (C.OFF_BY_ONE_EQUATION,), allow_factor=allow_factor,
                         no_lambda=C.HIGHEST_FREQUENCY if allow_factor else None, form=form,
                         orientation=orientation)


def _continue(eq: sp.Basic | None, start: int, target: int) -> dict[str, Any] | None:
    """A step's carried check fields: the derivation continued from the student's own
    equation at step ``start`` (:mod:`grader.steps`).  Cancelling b may take a constant along
    (the 2*pi a period without it leaves there), so that step allows a common factor, unless
    the chain is the key's own."""
    found = None if eq is None else ST.carried(eq, start, target)
    if found is None:
        return None
    reference, chain, solution = found
    return {"reference": reference, "chain": chain, "solution": solution,
            "allow_factor": target == 3 and reference != D.EQ_CANCEL_B}


def _power_split(eq: sp.Equality) -> bool:
    """No power of a product of lam and b is left: (lam*b)**e became lam**e * b**e."""
    return not any(p.base.is_Mul and {D.lam, _b} <= p.base.free_symbols
                   for p in eq.atoms(sp.Pow))


_SPLIT = StepForm(_power_split, "Your equation is right, but a power of the product lam*b is "
                  "left: this step splits it into a product of two powers.")
_B_GONE = StepForm(lambda eq: _b not in eq.free_symbols, "Your equation is right, but b is "
                   "still in it: this step divides both sides by the power of b they share, "
                   "which leaves an equation in lam alone.")


def _lam_expr(reference: sp.Expr, catalogue: tuple[Misconception, ...], hint: str
              ) -> ExprCheck:
    return ExprCheck(reference, ("m", "m_l", "d"), hint, catalogue,
                     {"b": C.CONTAINS_B, "lam": C.CONTAINS_LAM}, C.NOT_SYMBOLIC)


_DOUBLE = tuple(Misconception(x.tag, x.message, x.answer.subs(_m, 2 * _ml))
                for x in C.LAM_CATALOGUE)
_RATIOS = (2, 4, 8, 32)

# Values computed from an earlier answer: the key's reference is the function applied to the
# key's upstream expression, the follow-through reference (Item.carry) to the student's.


def _scaled(period: sp.Expr) -> sp.Expr:
    """``period`` with the base lam*b, its power of the product split (b then cancels in a
    ratio of periods, as it does in the key's)."""
    return sp.expand_power_base(period.subs(_b, D.lam * _b), force=True)


def _double_values(lam_double: sp.Expr) -> Callable[[Mapping[str, Any]], tuple[float, ...]]:
    return _values((lam_double, {"d": 64}), (lam_double, {"d": 128}))


_STRETCH = D.period_stretch(_i)


def _stretches(lam: sp.Expr, stretch: sp.Expr = _STRETCH
               ) -> Callable[[Mapping[str, Any]], tuple[float, ...]]:
    """base_stretch_i at i = 0, d/4, d/2 - 1 (d = 128) with lam put in."""
    return _values(*((stretch.subs(D.lam, lam), {"i": k}) for k in (0, 32, 63)))


def _limit_values(lam_double: sp.Expr) -> Callable[[Mapping[str, Any]], tuple[float, ...]]:
    value = float(sp.limit(lam_double, _d, sp.oo))
    return lambda p: (value,)


def _rel_error_values(rel: sp.Expr) -> Callable[[Mapping[str, Any]], tuple[float, ...]]:
    return _values(*((rel, {"d": 128, "m": r, "m_l": 1}) for r in _RATIOS))


def _claim_holds(values: sp.Tuple) -> bool | None:
    """The colleague's claim judged from four relative errors (the notebook's own rule)."""
    if not isinstance(values, sp.Tuple) or len(values) != len(_RATIOS):
        return None
    return all(abs(float(v)) < 0.05 for v in values)


_DERIVE = (
    Item("theta_i", "derive_lambda", "theta_i", 1, ExprCheck(
        D.theta(_i), ("b", "i", "d"), "theta_i is b raised to a negative power that grows "
        "with i; check it gives 1 at i = 0.", C.THETA_CATALOGUE), "RoPE frequency"),
    Item("period_i", "derive_lambda", "period_i", 1, ExprCheck(
        D.period(_i), ("b", "i", "d"), "A period is the angle of one full turn divided by "
        "the angle per position.", C.PERIOD_CATALOGUE), "RoPE period",
        follows="theta_i", carry=lambda theta: 2 * sp.pi / theta),
    Item("pi_stretch", "derive_lambda", "pi_stretch", 1, ExprCheck(
        _ratio, ("m", "m_l"), "PI maps position p to p*m_l/m. How many new positions does one "
        "full turn now take?", (Misconception("pi_inverted", "That factor is below 1 when the "
        "context grows: PI squeezes positions, so each turn takes MORE positions.",
        1 / _ratio),)), "PI stretch",
        # the notebook divides the period PI gives (from theta_i) by the student's period_i
        follows=("theta_i", "period_i"),
        carry=lambda theta, period: sp.simplify(2 * sp.pi / theta * _ratio / period)),
    Item("base_stretch_i", "derive_lambda", "base_stretch_i", 1, ExprCheck(
        D.period_stretch(_i), ("lam", "i", "d"), "Divide pair i's period with base lam*b by "
        "its period with base b.", (
            Misconception("uniform_stretch", "Base scaling does not stretch all pairs "
                          "equally: the stretch depends on i.", D.lam),
            Misconception("inverse_stretch", "A larger base means slower rotation, so longer "
                          "periods: the stretch must be at least 1.", D.lam ** (-2 * _i / _d)),
        )), "base-scaling stretch",
        follows="period_i", carry=lambda period: _scaled(period) / period),
    Item("i_star", "derive_lambda", "i_star", 1, ExprCheck(
        D.I_STAR, ("d",), "Which pair has the longest period, counting from 0?",
        C.I_STAR_CATALOGUE), "matched pair index",
        # a theta counted from 1 moves the last pair to d/2: the same slip, charged once
        follows="theta_i", carry=ST.last_pair_of, carried_note="your i_star is the last pair "
        "when pairs are counted from 1, as your theta_i counts them. Fix theta_i (see its "
        "feedback), then count i_star from 0 too."),
    Item("highest_freq_solutions", "derive_lambda", "highest_freq_solutions", 1, SolutionsCheck(
        (), "Solve the i = 0 equation for lam with sympy.solve and keep the list it returns; "
        "look at theta_0."), "i = 0 has no solution",
        follows=("period_i", "pi_stretch"), carry=ST.solved_at_pair_0),
    Item("matching_eq", "derive_lambda", "matching_eq", 2, _step(
        D.MATCHING_EQUATION, "Set the new model's period of the last pair equal to the period "
        "PI gives that pair.", allow_factor=True, orientation="Your sides are swapped: it is "
        "the same equation, but the notebook puts the new model's period (base lam*b) on the "
        "left, and new_period reads matching_eq.lhs."), "period-matching equation",
        follows=("period_i", "pi_stretch", "i_star"),
        carry=lambda period, stretch, i_star: _continue(ST.matching(period, stretch, i_star), 0,
                                                        0)),
    Item("new_period", "derive_lambda", "new_period", 1, ExprCheck(
        D.MATCHING_EQUATION.lhs, ("lam", "b", "d"), "Which side has the new base in it?", (
            Misconception("pi_side", "That is the period PI gives: the old base, stretched by "
                          "m/m_l.", D.MATCHING_EQUATION.rhs),
            Misconception("old_period", "That is the original model's period; the new model "
                          "uses the base lam*b.", D.period(D.I_STAR)),
            Misconception("highest_frequency_pair", "That is the period of pair 0, 2*pi for "
                          "every base (theta_0 = 1), so it has no lam in it: the pair whose "
                          "period base scaling must match is another one (see i_star).",
                          2 * sp.pi),
            Misconception("scaled_side", "That is the new model's period times m_l: your "
                          "matching_eq was multiplied through. A period is the side of the "
                          "plain equation, new period = PI's period.",
                          D.m_l * D.MATCHING_EQUATION.lhs),
        )), "new model's period",
        follows="matching_eq", carry=lambda eq: eq.lhs if isinstance(eq, sp.Equality) else None),
    Item("step_cancel_2pi", "derive_lambda", "step_cancel_2pi", 1, _step(
        D.EQ_CANCEL_2PI, "Divide both sides of your matching equation by 2*pi."),
        "cancel 2*pi", follows="matching_eq", carry=lambda eq: _continue(eq, 0, 1)),
    Item("step_split", "derive_lambda", "step_split", 1, _step(
        D.EQ_SPLIT, "Use (lam*b)**e = lam**e * b**e, valid for positive lam and b.",
        form=_SPLIT),
        "split the power", follows="step_cancel_2pi", carry=lambda eq: _continue(eq, 1, 2)),
    Item("step_cancel_b", "derive_lambda", "step_cancel_b", 1, _step(
        D.EQ_CANCEL_B, "Divide both sides by b**e.", form=_B_GONE), "cancel b**e",
        follows="step_split", carry=lambda eq: _continue(eq, 2, 3)),
    Item("exponent", "derive_lambda", "exponent", 1, ExprCheck(
        D.EXPONENT, ("d",), "The exponent is 2*i*/d for the matched pair i*.",
        C.EXPONENT_CATALOGUE), "the exponent (d-2)/d",
        follows="i_star", carry=lambda i_star: sp.simplify(2 * i_star / _d)),
    Item("lam_solution", "derive_lambda", "lam_solution", 3, _lam_expr(
        D.LAM, C.LAM_CATALOGUE, "Not yet: from lam**e = m/m_l, raise both sides to 1/e. "
        "Check: lam must exceed m/m_l whenever m > m_l."), "lambda",
        follows=("step_cancel_b", "exponent"), carry=ST.lam_from, carry_only_carried=True),
    Item("lam_4096_16384_d128", "derive_lambda", "lam_4096_16384_d128", 1, NumberCheck(
        _values(D.LAM), 5e-5, "Substitute m = 16384, m_l = 4096, d = 128 into lam_solution and "
        "evaluate with .evalf(); give it as a float.", _lam_slips()), "lambda, worked case",
        follows="lam_solution", carry=lambda lam: _values(lam)),
    Item("new_base_10000", "derive_lambda", "new_base_10000", 1, NumberCheck(
        _values(D.LAM * _b), 5e-5, "The new base is lam times the old base 10,000.",
        _lam_slips(lambda e: e * _b)), "new base",
        # the number the notebook multiplies; lam_solution only guards (a lam without d is
        # no attempt at lambda: nothing is carried from it)
        follows=("lam_solution", "lam_4096_16384_d128"),
        carry=lambda lam, lam_at: lambda p: (float(lam_at) * 10_000,)),
    Item("stretch_first_middle_last", "derive_lambda", "stretch_first_middle_last", 1,
         NumberCheck(_stretches(D.LAM), 5e-5,
                     "Evaluate your base_stretch_i at i = 0, d/4 and d/2 - 1, with d = 128 and "
                     "the worked-case lam.",
                     ((Misconception("pi_uniform", "Those are PI's stretches, the same for every "
                                     "pair; base scaling stretches each pair differently."),
                       _values(_ratio, _ratio, _ratio)),)), "per-pair stretch",
        follows=("lam_solution", "lam_4096_16384_d128", "base_stretch_i"),
        carry=lambda lam, lam_at, stretch: _stretches(lam_at, stretch)),
    Item("lam_double", "derive_lambda", "lam_double", 1, ExprCheck(
        D.LAM_DOUBLE, ("d",), "Substitute m = 2*m_l into lam_solution and simplify.", _DOUBLE,
        {"m": C.Misconception("not_substituted", "Substitute m = 2*m_l: the answer depends on "
                              "d only.")}, C.Misconception(
            "not_symbolic", "You gave a number. Keep lam_double a sympy expression in d, so it "
            "holds for every head dimension; the numbers come in the next question.")),
        "doubling: lambda(d)",
        follows="lam_solution", carry=lambda lam: lam.subs(_m, 2 * _ml)),
    Item("lam_double_values", "derive_lambda", "lam_double_values", 1, NumberCheck(
        _double_values(D.LAM_DOUBLE), 1e-6,
        "Evaluate lam_double at d = 64 and d = 128, in that order.", ()), "doubling: values",
        follows="lam_double", carry=_double_values),
    Item("lam_double_limit", "derive_lambda", "lam_double_limit", 1, NumberCheck(
        lambda p: (2.0,), 1e-9, "Use sympy.limit(lam_double, d, sympy.oo).", (),
        python_float=False),
        "doubling: limit",
        follows="lam_double", carry=_limit_values),
    Item("rel_error", "derive_lambda", "rel_error", 1, ExprCheck(
        D.RELATIVE_ERROR, ("m", "m_l", "d"), "The relative error of the approximation is "
        "(exact - approximate)/approximate... which one is the colleague's value?",
        C.REL_ERROR_CATALOGUE), "relative error",
        follows=("lam_solution", "pi_stretch"),
        carry=lambda lam, stretch: (lam - stretch) / stretch),
    Item("rel_error_values", "derive_lambda", "rel_error_values", 1, NumberCheck(
        _rel_error_values(D.RELATIVE_ERROR),
        1e-4, "Evaluate rel_error at d = 128 for m/m_l = 2, 4, 8, 32, in that order.",
        ((Misconception("percent", "Those are percentages: give each relative error as a "
                        "fraction (5% is 0.05), as rel_error is."),
          _rel_error_values(100 * D.RELATIVE_ERROR)),)),
        "relative error values",
        follows="rel_error", carry=_rel_error_values),
    Item("colleague_claim", "derive_lambda", "colleague_claim", 1, ChoiceCheck(
        False, "Compare each relative error you computed with 5%.", ), "approximation verdict",
        follows="rel_error_values", carry=_claim_holds, carry_not_past_refusal=True),
    Item("dlam_dd", "derive_lambda", "dlam_dd", 1, ExprCheck(
        D.DLAM_DD, ("m", "m_l", "d"), "Differentiate lam_solution with respect to d.",
        C.DLAM_DD_CATALOGUE),
        "d lambda / d d",
        follows="lam_solution", carry=lambda lam: sp.diff(lam, _d)),
    Item("lam_limit", "derive_lambda", "lam_limit", 1, ExprCheck(
        D.LAM_LIMIT, ("m", "m_l"), "Take sympy.limit(lam_solution, d, sympy.oo): the result "
        "depends on m and m_l only.", (), {"b": C.CONTAINS_B, "lam": C.CONTAINS_LAM}),
        "limit d -> oo",
        follows="lam_solution", carry=lambda lam: sp.limit(lam, _d, sp.oo)),
    Item("d2_reason", "derive_lambda", "d2_reason", 1, ChoiceCheck(
        "b", "Think about how many pairs there are at d = 2, and the frequency of pair 0.", {
            "a": Misconception("exponent_only", "The division by zero is a symptom. Ask why: "
                               "how many pairs are there, and what is their frequency?"),
        }), "d = 2 degenerate"),
)

_NUMERIC = (
    Item("rope_frequencies", "numeric_rope", "rope_frequencies", 2, KernelCheck(
        R.rope_frequencies, "Compare your frequencies with base**(-2*i/d) for i = 0..d/2-1.",
        M.FREQUENCY_MUTANTS), "frequencies"),
    Item("rope_angles", "numeric_rope", "rope_angles", 2, KernelCheck(
        R.rope_angles, "Each row is one position times every frequency.", M.ANGLE_MUTANTS),
        "angle table", follows="rope_frequencies"),
    Item("apply_rope", "numeric_rope", "apply_rope", 4, KernelCheck(
        lambda x, positions, base=10000.0: R.apply_rope(x, positions, base),
        "Rotate each pair (x[2i], x[2i+1]) by positions*theta_i.",
        M.rotation_mutants("interleaved")), "interleaved RoPE",
        follows=("rope_frequencies", "rope_angles")),
    Item("apply_rope_half", "numeric_rope", "apply_rope_half", 3, KernelCheck(
        lambda x, positions, base=10000.0: R.apply_rope(x, positions, base, layout="half"),
        "Rotate each pair (x[i], x[i + d/2]) by positions*theta_i.", M.rotation_mutants("half")),
        "half-split RoPE", follows=("rope_frequencies", "rope_angles")),
    Item("interleaved_to_half", "numeric_rope", "interleaved_to_half", 1, KernelCheck(
        V.interleaved_to_half, "In the half layout pair i sits at positions i and i + d/2; "
        "check which interleaved coordinates belong there, in that order.",
        M.PERMUTATION_MUTANTS, check_dtype=False, sequence_ok=True),
        "layout permutation"),
    Item("position_interpolation", "numeric_rope", "position_interpolation", 2, KernelCheck(
        S.position_interpolation, "PI maps position p to p*m_l/m.", M.PI_MUTANTS),
        "position interpolation"),
    Item("ntk_scaled_base", "numeric_rope", "ntk_scaled_base", 2, KernelCheck(
        S.ntk_scaled_base, "Use the lam you derived in the first notebook.", M.base_mutants(),
        check_dtype=False), "NTK-aware base"),
    Item("wavelengths", "numeric_rope", "wavelengths", 2, KernelCheck(
        S.wavelengths, "The period of pair i is 2*pi/theta_i.", M.WAVELENGTH_MUTANTS),
        "wavelengths", follows="rope_frequencies"),
    Item("find_lambda", "numeric_rope", "find_lambda", 2, KernelCheck(
        S.ntk_scaling_factor, "Find lam where the last pair's period with base lam*b equals "
        "m/m_l times its original period; bisect until the bracket is below 1e-12.",
        M.lambda_mutants(), check_dtype=False, rtol=1e-10, unchanged=M.NOT_FROM_WAVELENGTHS),
        "lambda found numerically",
        follows="wavelengths"),
    Item("rope_score", "numeric_rope", "rope_score", 2, KernelCheck(
        V.rope_score, "Rotate q at position p and k at position r, then take their dot "
        "product.", M.score_mutants(), check_dtype=False), "attention score",
        follows="apply_rope"),
    Item("apply_rope_speed", "numeric_rope", "apply_rope", 2, SpeedCheck(), "speed"),
)

REGISTRY: Mapping[str, Item] = MappingProxyType({it.id: it for it in _DERIVE + _NUMERIC})
"""Every auto-graded item, keyed by id (= nbgrader grade_id)."""


def items_for(notebook: str) -> tuple[Item, ...]:
    """The items of one notebook, in registry order."""
    return tuple(it for it in REGISTRY.values() if it.notebook == notebook)


NOTEBOOKS: tuple[str, ...] = tuple(dict.fromkeys(it.notebook for it in REGISTRY.values()))
"""The assignments, in course order (each has one notebook of the same name)."""
