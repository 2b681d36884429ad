"""The derive_lambda misconception scenarios: one answer cell of the model notebook changed,
and the exact outcome of every item (score, and the tags worth pinning), including what is
carried over from the changed answer (grader.carry).  Used by test_notebook_derive_lambda.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.items import items_for

ITEMS = {it.id: it for it in items_for("derive_lambda")}


@dataclass(frozen=True)
class Scenario:
    """One answer cell of the model notebook replaced, and what the grader must conclude."""

    cell: str
    """grade_id of the answer (solution) cell whose solution region is replaced"""
    code: str
    """the replacement code"""
    item: str
    """the item the change targets"""
    tag: str
    """the tag that item must get"""
    lost: frozenset[str] = frozenset()
    """other items that score 0 because later answers are built from the changed one"""
    score: float = 0.0
    """the targeted item's score"""
    also: dict[str, str] = field(default_factory=dict)
    """tags of some of the lost items worth pinning (the feedback follows the slip)"""
    carried: frozenset[str] = frozenset()
    """lost items whose answer is right for the student's own wrong upstream answer: full
    points by follow-through, tagged carried_over (grader.carry)"""

    def expected(self) -> dict[str, float]:
        """Expected score of every item of the notebook."""
        return {item: (self.score if item == self.item
                       else 0.0 if item in self.lost - self.carried else it.points)
                for item, it in ITEMS.items()}


# Everything computed from lam_solution in sections 6-9.  The limits (lam_double_limit,
# lam_limit) and the verdict colleague_claim can still come out right from a wrong lam, so
# each lam scenario lists the ones it loses on top of these.
LAM_DOWNSTREAM = frozenset({
    "lam_4096_16384_d128", "new_base_10000", "stretch_first_middle_last", "lam_double",
    "lam_double_values", "rel_error", "rel_error_values", "dlam_dd"})
# Everything computed from the matching equation, down to lam_solution.
EQUATION_DOWNSTREAM = frozenset({
    "step_cancel_2pi", "step_split", "step_cancel_b", "lam_solution"})
LIMITS_AND_VERDICT = frozenset({"lam_double_limit", "colleague_claim", "lam_limit"})
# Follow-through: the lambda-downstream answers carried over from a wrong lam_solution that
# still depends on m, m_l and d, and from any other wrong answer they are built on (the
# stretches from base_stretch_i, rel_error from pi_stretch).  colleague_claim is carried
# when the student's own relative errors make the claim true (all of them below 5% in size),
# unless those rest on a wrong answer whose carry was refused (the zeros of lam = m/m_l);
# errors beyond 5% in size (an inverted, matched-frequency or per-step lam) make it false,
# as the key's.
# A lam_solution without d (PI's factor m/m_l) is no attempt at lambda: nothing is carried.
LIMITS = frozenset({"lam_double_limit", "lam_limit"})

SCENARIOS: dict[str, Scenario] = {
    # every later answer is built right on theta_i: the whole derivation is carried, down to
    # lam = (m/m_l)**(d/(d-4)) and what is computed from it, the i = 0 equation too (it has a
    # solution once theta_0 is not 1, and solve finds it)
    "theta-one-based": Scenario(
        "theta_i_answer", "theta_i = b ** (-2 * (i - 1) / d)", "theta_i", "one_based_index",
        LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | {
            "period_i", "base_stretch_i", "highest_freq_solutions", "matching_eq",
            "new_period"},
        also={"highest_freq_solutions": "carried_over"},
        carried=LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | {
            "period_i", "base_stretch_i", "highest_freq_solutions", "new_period",
            "matching_eq"}),
    # pi_stretch divides PI's period by this period_i, so it carries the 2*pi too; everything
    # after is built right on the two
    "period-missing-2pi": Scenario(
        "period_i_answer", "period_i = 1 / theta_i", "period_i", "missing_2pi",
        LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | {
            "pi_stretch", "matching_eq", "new_period", "lam_double_limit", "lam_limit"},
        carried=LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | LIMITS | {
            "pi_stretch", "matching_eq", "new_period"}),
    # lam < 1 follows from the inverted stretch step by step; the lam catalogue's tag is named
    # on the slip's own item only
    "pi-inverted": Scenario(
        "pi_stretch_answer", "pi_stretch = m_l / m", "pi_stretch", "pi_inverted",
        LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | LIMITS | {"matching_eq"},
        carried=LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | LIMITS | {"matching_eq"}),
    "i-star-highest-frequency": Scenario(
        "i_star_answer", "i_star = sp.Integer(0)", "i_star", "highest_frequency_pair",
        LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | LIMITS_AND_VERDICT | {
            "matching_eq", "new_period", "exponent"},
        also={"matching_eq": "highest_frequency_pair", "lam_solution": "missing"}),
    # one past the last pair, every later answer built right on it: d drops out (the exponent
    # is 1) and lam comes out as m/m_l, yet the derivation is charged once, here, as a slip
    # to d/2 - 2 would be. What shows how lam depends on d (its derivative, its error
    # relative to PI's factor, and the claim decided from those zeros) then shows nothing
    # and is not carried; the limits of m/m_l are the key's
    # lam = m/m_l, reached by a derivation carried from the slip: everything after it is
    # carried, its zeros too (the relative errors and the derivative of a lam without d)
    "i-star-one-past-the-last": Scenario(
        "i_star_answer", "i_star = d / 2", "i_star", "off_by_one_index",
        LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | {
            "matching_eq", "new_period", "exponent", "colleague_claim"},
        also={"dlam_dd": "carried_over", "colleague_claim": "carried_over"},
        carried=LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | {
            "matching_eq", "new_period", "exponent", "colleague_claim"}),
    "matching-eq-off-by-one": Scenario(
        "matching_eq_answer",
        "matching_eq = sp.Eq(period_i.subs({i: d / 2, b: lam * b}),\n"
        "                    pi_stretch * period_i.subs(i, d / 2))",
        "matching_eq", "off_by_one_index",
        LAM_DOWNSTREAM | EQUATION_DOWNSTREAM | {"new_period", "colleague_claim"},
        # lam = m/m_l: its relative errors (0) rest on answers whose carry is refused, so the
        # claim ("holds", by those zeros) is not decided from them
        also={"step_cancel_2pi": "off_by_one_index", "lam_solution": "pi_factor",
              "colleague_claim": "wrong_choice"}),
    "step-b-not-cancelled": Scenario(
        "step_cancel_b_answer", "step_cancel_b = step_split", "step_cancel_b", "step_form",
        score=0.5),
    "lam-pi-factor": Scenario(
        "lam_solution_answer", "lam_solution = pi_stretch", "lam_solution", "pi_factor",
        LAM_DOWNSTREAM | {"colleague_claim"}, also={"lam_4096_16384_d128": "pi_factor",
                                                    "colleague_claim": "wrong_choice"}),
    "lam-inverted-exponent": Scenario(
        "lam_solution_answer", "lam_solution = step_cancel_b.rhs ** exponent", "lam_solution",
        "inverted_exponent", LAM_DOWNSTREAM,
        also={"lam_4096_16384_d128": "carried_over", "lam_double": "carried_over"},
        carried=LAM_DOWNSTREAM),
    "lam-matched-frequency": Scenario(
        "lam_solution_answer", "lam_solution = (1 / step_cancel_b.rhs) ** (1 / exponent)",
        "lam_solution", "matched_frequency", LAM_DOWNSTREAM | LIMITS,
        carried=LAM_DOWNSTREAM | LIMITS),
    "lam-second-to-last-pair": Scenario(
        "lam_solution_answer",
        "lam_solution = step_cancel_b.rhs ** (1 / sp.simplify(2 * (d / 2 - 2) / d))",
        "lam_solution", "second_to_last_pair", LAM_DOWNSTREAM,
        carried=LAM_DOWNSTREAM),
    "lam-per-step-ratio": Scenario(
        "lam_solution_answer",
        "lam_solution = sp.simplify(sp.solve(step_cancel_b, lam)[0] / pi_stretch)",
        "lam_solution", "per_step_ratio", LAM_DOWNSTREAM | LIMITS,
        carried=LAM_DOWNSTREAM | {"lam_double_limit"}),
    "lam-half-d-exponent": Scenario(
        "lam_solution_answer", "lam_solution = step_cancel_b.rhs ** (d / 2)", "lam_solution",
        "half_d_exponent", LAM_DOWNSTREAM | {"lam_double_limit", "lam_limit"},
        carried=LAM_DOWNSTREAM),
    "lam-contains-b": Scenario(
        "lam_solution_answer", "lam_solution = step_split.rhs ** (1 / exponent)",
        "lam_solution", "contains_b", LAM_DOWNSTREAM | LIMITS_AND_VERDICT,
        also={"lam_limit": "contains_b"}),
    "lam-not-symbolic": Scenario(
        "lam_solution_answer",
        "lam_solution = float(sp.solve(step_cancel_b, lam)[0].subs({m: 16384, m_l: 4096, d: 128}))",
        "lam_solution", "not_symbolic", LAM_DOWNSTREAM | {"lam_double_limit", "lam_limit"},
        also={"lam_4096_16384_d128": "missing"}),
}
"""Scenario name (= student id and fixture file name) -> the change and its outcome."""
