"""Follow-through (grader.carry) and the feedback of cells stopped at the time limit.

A student whose lam_solution is wrong and who then does every later step correctly on it
gets those steps' points, tagged carried_over, with feedback naming lam_solution; a later
answer that follows neither the key nor the student's own lam is still wrong.  The carried
answers below are built here with sympy and plain floats, not with the registry's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from answercells import answer_cell as _cell
from answercells import scores as _scores

from grader import scoring
from grader.items import REGISTRY
from grader.results import Verdict

m, m_l, d = sp.symbols("m m_l d", positive=True)
SLIP = (m / m_l) ** (d / (d - 4))  # matched the second-to-last pair
SLIP_AT = 4.0 ** (128 / 124)  # SLIP at m/m_l = 4, d = 128
SLIP_DOUBLE = 2 ** (d / (d - 4))
KEY = (m / m_l) ** (d / (d - 2))
B, LAM = sp.symbols("b lam", positive=True)


CARRIED = {  # each later answer done right on SLIP
    "lam_4096_16384_d128": SLIP_AT,
    "new_base_10000": SLIP_AT * 10_000,
    "stretch_first_middle_last": [1.0, SLIP_AT ** 0.5, SLIP_AT ** (126 / 128)],
    "lam_double": SLIP_DOUBLE,
    "lam_double_values": [2 ** (64 / 60), 2 ** (128 / 124)],
    "lam_double_limit": 2.0,  # the same as the key's: already right
    "rel_error": SLIP / (m / m_l) - 1,
    "rel_error_values": [r ** (4 / 124) - 1 for r in (2, 4, 8, 32)],
    "dlam_dd": sp.diff(SLIP, d),
    "lam_limit": m / m_l,  # the same as the key's
}


def test_every_later_step_done_right_on_a_wrong_lambda_earns_its_points() -> None:
    """lam_solution wrong (0 of 3, second_to_last_pair); every item computed from it earns
    full points, tagged carried_over, except those whose right answer is the key's anyway."""
    got = _scores({"lam_solution": SLIP, **CARRIED})
    assert got["lam_solution"] == (0.0, "second_to_last_pair")
    expected = {k: (float(REGISTRY[k].points), "carried_over") for k in CARRIED}
    expected["lam_double_limit"] = (1.0, "ok")
    expected["lam_limit"] = (1.0, "ok")
    assert {k: got[k] for k in CARRIED} == expected


def test_the_feedback_names_the_item_to_fix_and_reveals_nothing() -> None:
    results = scoring.score_cells([_cell("lam_solution", SLIP), _cell("dlam_dd",
                                                                      sp.diff(SLIP, d))])
    carried = results[1]
    assert carried.verdict is Verdict.CORRECT and carried.tag == "carried_over"
    assert "your lam_solution, which is not right: fix lam_solution" in carried.message
    assert "d - 2" not in carried.message and "d-2" not in carried.message


def test_a_step_that_follows_neither_the_key_nor_the_student_is_wrong() -> None:
    """dlam_dd differentiated in m (the catalogued slip, on the key) and a lam value off by
    10 %: neither follows the student's lam_solution, so they keep their own verdicts."""
    got = _scores({"lam_solution": SLIP, "dlam_dd": sp.diff(KEY, m),
                   "lam_4096_16384_d128": SLIP_AT * 1.1})
    assert got["dlam_dd"] == (0.0, "wrong_variable")
    assert got["lam_4096_16384_d128"] == (0.0, "wrong_value")
    results = scoring.score_cells([_cell("lam_solution", SLIP),
                                   _cell("dlam_dd", sp.diff(KEY, m))])
    assert results[1].message.endswith("This answer builds on your lam_solution, which is not "
                                       "right yet: fix that first (see its feedback).")
    right = scoring.score_cells([_cell("lam_solution", KEY), _cell("dlam_dd", sp.diff(KEY, m))])
    assert "builds on" not in right[1].message  # a wrong answer on a right lam: no note


def test_a_right_upstream_carries_nothing() -> None:
    """With lam_solution right, a wrong later answer is judged against the key alone, even
    when it happens to follow some other lambda."""
    got = _scores({"lam_solution": KEY, "dlam_dd": sp.diff(SLIP, d)})
    assert got == {"lam_solution": (3.0, "ok"), "dlam_dd": (0.0, "wrong_expression")}


def test_no_credit_is_carried_from_a_slip_that_removes_the_work() -> None:
    """lam = m/m_l (PI's factor) has no d: its derivative in d and its relative error to
    m/m_l are both 0, which shows nothing, so no follow-through (the carried answers lose
    the key's symbols)."""
    got = _scores({"lam_solution": m / m_l, "dlam_dd": sp.Integer(0),
                   "rel_error": sp.Integer(0)})
    assert got["lam_solution"][0] == 0.0
    assert got["dlam_dd"] == (0.0, "zero_derivative")
    assert got["rel_error"] == (0.0, "wrong_expression")


def test_a_symbol_written_in_but_without_effect_carries_nothing() -> None:
    """m/m_l*(sin(d)**2 + cos(d)**2) has d in it but does not vary with d: it is PI's factor
    (tagged as such), and its derivative 0 earns nothing."""
    disguised = m / m_l * (sp.sin(d) ** 2 + sp.cos(d) ** 2)
    got = _scores({"lam_solution": disguised, "dlam_dd": sp.Integer(0),
                   "rel_error": sp.Integer(0)})
    assert got == {"lam_solution": (0.0, "pi_factor"), "dlam_dd": (0.0, "zero_derivative"),
                   "rel_error": (0.0, "wrong_expression")}


def test_an_upstream_whose_values_dwarf_a_symbol_still_carries() -> None:
    """(m/m_l)**(d/2) makes rel_error huge; its values depend on m only through a power
    that, at m far from its domain, vanishes. The dependence is looked for inside the
    domain, so values computed from it earn their point (a regression: m looked unused)."""
    lam_slip = (m / m_l) ** (d / 2)
    rel = sp.simplify((lam_slip - m / m_l) / (m / m_l))
    values = [float(rel.subs({m: r * m_l, d: 128})) for r in (2, 4, 8, 32)]
    got = _scores({"lam_solution": lam_slip, "rel_error": rel, "rel_error_values": values,
                   "colleague_claim": False})
    assert got["rel_error_values"] == (1.0, "carried_over")
    assert got["colleague_claim"] == (1.0, "ok")  # False is also the key's verdict
    assert got["lam_solution"][0] == 0.0


def test_the_claim_is_not_decided_from_the_zeros_of_pis_factor() -> None:
    """lam = m/m_l (the misconception the claim is about) makes every relative error 0, and
    no carry is made from a slip that removes the work: "True" on those zeros earns nothing,
    and the feedback sends the student to the earlier answers."""
    got = _scores({"lam_solution": m / m_l, "rel_error": sp.Integer(0),
                   "rel_error_values": [0.0, 0.0, 0.0, 0.0], "colleague_claim": True})
    assert got == {"lam_solution": (0.0, "pi_factor"), "rel_error": (0.0, "wrong_expression"),
                   "rel_error_values": (0.0, "wrong_value"),
                   "colleague_claim": (0.0, "wrong_choice")}


NOTEBOOK_CHAIN = """
b, m, m_l, lam = sp.symbols("b m m_l lam", positive=True)
d = sp.Symbol("d", positive=True, even=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
theta_i = {theta_i}
period_i = {period_i}
p = sp.Symbol("p", positive=True)
period_with_pi = sp.solve(sp.Eq(p * m_l / m * theta_i, 2 * sp.pi), p)[0]
pi_stretch = sp.simplify(period_with_pi / period_i)
i_star = d / 2 - 1
matching_eq = {matching_eq}
new_period = matching_eq.lhs
step_cancel_2pi = sp.Eq(matching_eq.lhs / (2 * sp.pi), matching_eq.rhs / (2 * sp.pi))
step_split = sp.Eq(sp.expand_power_base(step_cancel_2pi.lhs), step_cancel_2pi.rhs)
b_power = step_split.rhs / pi_stretch
step_cancel_b = sp.Eq(step_split.lhs / b_power, step_split.rhs / b_power)
lam_solution = sp.solve(step_cancel_b, lam)[0]
rel_error = sp.simplify((lam_solution - pi_stretch) / pi_stretch)
"""
"""The notebook's own code for the derivation's chain (as in its solution cells)."""
KEY_MATCHING = ("sp.Eq(period_i.subs({i: i_star, b: lam * b}), "
                "pi_stretch * period_i.subs(i, i_star))")


@pytest.mark.parametrize(("theta_i", "period_i", "charged"), [
    ("b ** (-2 * i / d)", "2 * np.pi / theta_i", "period_i"),  # np.pi typed once
    ("b ** (-2.0 * i / d)", "2 * sp.pi / theta_i", "pi_stretch"),  # a float that sympy spreads
])
def test_a_float_pi_is_charged_once_along_the_derivation(theta_i, period_i, charged) -> None:
    """The notebook's code run on one float (np.pi in period_i, or 2.0 in theta_i's exponent)
    carries a float pi, and float noise (0.9999999999999993), into every later step: half a
    point is lost once, where the float pi first shows, and every later answer is right."""
    space = {"sp": sp, "np": np}
    exec(NOTEBOOK_CHAIN.format(theta_i=theta_i, period_i=period_i, matching_eq=KEY_MATCHING),
         space)
    names = ("theta_i", "period_i", "pi_stretch", "i_star", "matching_eq", "new_period",
             "step_cancel_2pi", "step_split", "step_cancel_b", "lam_solution", "rel_error")
    got = _scores({n: space[n] for n in names})
    lost = {n: got[n] for n in names if got[n][0] < REGISTRY[n].points}
    assert lost == {charged: (0.5, "float_pi")}
    assert all(got[n][1] in ("ok", "carried_over") for n in names if n != charged)


def test_steps_after_an_equation_in_another_form_are_right() -> None:
    """A matching equation multiplied through by m_l (m_l*T_new = m*T_old) gives the right
    lam in another form: half its points (step_form), once; the steps the notebook's code
    then takes from it are right, not half each."""
    space = {"sp": sp, "np": np}
    exec(NOTEBOOK_CHAIN.format(
        theta_i="b ** (-2 * i / d)", period_i="2 * sp.pi / theta_i",
        matching_eq="sp.Eq(m_l * period_i.subs({i: i_star, b: lam * b}), "
                    "m * period_i.subs(i, i_star))"), space)
    names = ("matching_eq", "step_cancel_2pi", "step_split", "step_cancel_b", "lam_solution")
    got = _scores({n: space[n] for n in names})
    assert got == {"matching_eq": (1.0, "step_form"), "step_cancel_2pi": (1.0, "ok"),
                   "step_split": (1.0, "ok"), "step_cancel_b": (1.0, "ok"),
                   "lam_solution": (3.0, "ok")}


def test_steps_after_a_matching_equation_solved_for_lam_stay_half() -> None:
    """A matching equation already solved for lam (times 2*pi*b) skipped the derivation: the
    steps after it are not continued from it (the key's operations leave lam*b unsplit), so
    each is half (step_form) as on its own, not right."""
    solved = sp.Eq(2 * sp.pi * LAM * B, 2 * sp.pi * B * KEY)
    got = _scores({"matching_eq": solved, "step_cancel_2pi": sp.Eq(LAM * B, B * KEY),
                   "step_split": sp.Eq(LAM * B, B * KEY), "step_cancel_b": sp.Eq(LAM, KEY)})
    assert got == {"matching_eq": (1.0, "step_form"), "step_cancel_2pi": (0.5, "step_form"),
                   "step_split": (0.5, "step_form"), "step_cancel_b": (0.5, "step_form")}


@pytest.mark.parametrize("credit, verdict", [(0.5, Verdict.PARTIAL), (0.0, Verdict.PARTIAL)])
def test_follow_through_credit_is_configurable(credit: float, verdict: Verdict) -> None:
    results = scoring.score_cells([_cell("lam_solution", SLIP),
                                   _cell("dlam_dd", sp.diff(SLIP, d))], carry_credit=credit)
    assert (results[1].score, results[1].tag, results[1].verdict) == (
        credit, "carried_over", verdict)


def test_a_chain_carries_from_the_students_own_intermediate_answer() -> None:
    """lam_double_values follows lam_double, which follows lam_solution: values computed
    from the student's (carried) lam_double earn their point."""
    got = _scores({"lam_solution": SLIP, "lam_double": SLIP_DOUBLE,
                   "lam_double_values": [float(SLIP_DOUBLE.subs(d, 64)),
                                         float(SLIP_DOUBLE.subs(d, 128))]})
    assert got["lam_double_values"] == (1.0, "carried_over")
    assert math.isclose(got["lam_double"][0], 1.0)


def test_the_verdict_on_the_claim_follows_the_students_own_relative_errors() -> None:
    """The notebook says "decide from your rel_error_values", and the claim is "off by less
    than 5%": by the size of the student's own errors. Errors of a slipped lam that are all
    below 5% in size (negative here) make True right for them, and it is carried; errors whose
    size passes 5% somewhere (-5.2% at m/m_l = 32) do not, whatever their sign; True on the
    key's numbers is still wrong."""
    small = [r ** (-1 / 130) - 1 for r in (2, 4, 8, 32)]
    own = [r ** (-2 / 130) - 1 for r in (2, 4, 8, 32)]
    right = [r ** (2 / 126) - 1 for r in (2, 4, 8, 32)]
    assert max(map(abs, small)) < 0.05 < max(map(abs, own)) and max(own) < 0
    assert _scores({"rel_error_values": small, "colleague_claim": True}) == {
        "rel_error_values": (0.0, "wrong_value"), "colleague_claim": (1.0, "carried_over")}
    assert _scores({"rel_error_values": own, "colleague_claim": True})["colleague_claim"] == (
        0.0, "wrong_choice")
    assert _scores({"rel_error_values": own, "colleague_claim": False})["colleague_claim"] == (
        1.0, "ok")  # the key's verdict is never marked down
    assert _scores({"rel_error_values": right, "colleague_claim": True})["colleague_claim"] == (
        0.0, "wrong_choice")
    assert _scores({"rel_error_values": small[:3], "colleague_claim": True})[
        "colleague_claim"] == (0.0, "wrong_choice")  # three values: not the list asked for


def test_periods_built_right_on_a_slipped_theta_are_carried() -> None:
    """theta_i = b**(-i/d) (the factor 2 dropped): period_i, the base-scaling stretch and the
    new model's period, each built right on it, are carried; the slip costs theta_i only."""
    b, i, lam = sp.symbols("b i lam", positive=True)
    theta = b ** (-i / d)
    period = 2 * sp.pi / theta
    new_period = period.subs({i: d / 2 - 1, b: lam * b})
    got = _scores({"theta_i": theta, "period_i": period,
                   "base_stretch_i": period.subs(b, lam * b) / period,
                   "matching_eq": sp.Eq(new_period, m / m_l * period.subs(i, d / 2 - 1)),
                   "new_period": new_period})
    assert got == {"theta_i": (0.0, "missing_factor_2"), "period_i": (1.0, "carried_over"),
                   "base_stretch_i": (1.0, "carried_over"), "matching_eq": (2.0, "carried_over"),
                   "new_period": (1.0, "carried_over")}
    # the key's period (not built on the slip) keeps full marks; a third form is simply wrong
    assert _scores({"theta_i": theta, "period_i": 2 * sp.pi * b ** (2 * i / d)})[
        "period_i"] == (1.0, "ok")
    assert _scores({"theta_i": theta, "period_i": sp.pi * b ** (i / d)})["period_i"] == (
        0.0, "wrong_expression")


def test_stretches_follow_both_the_students_lambda_and_their_stretch_formula() -> None:
    """stretch_first_middle_last evaluates base_stretch_i at the worked-case lam: values from
    a wrong stretch formula (inverse_stretch) with the right lam are carried from
    base_stretch_i, and from both wrong answers together from both; the feedback names what
    to fix.  Values from a stretch formula the student did not give stay wrong."""
    lam_sym, i = sp.symbols("lam i", positive=True)
    inverse = lam_sym ** (-2 * i / d)  # the inverse_stretch slip
    lam_at = 4.0 ** (128 / 126)
    from_inverse = [lam_at ** (-2 * k / 128) for k in (0, 32, 63)]
    got = _scores({"lam_solution": KEY, "base_stretch_i": inverse,
                   "stretch_first_middle_last": from_inverse})
    assert got == {"lam_solution": (3.0, "ok"), "base_stretch_i": (0.0, "inverse_stretch"),
                   "stretch_first_middle_last": (1.0, "carried_over")}
    both = [SLIP_AT ** (-2 * k / 128) for k in (0, 32, 63)]
    results = scoring.score_cells([_cell("lam_solution", SLIP), _cell("base_stretch_i", inverse),
                                   _cell("lam_4096_16384_d128", SLIP_AT),
                                   _cell("stretch_first_middle_last", both)])
    last = results[-1]
    assert (last.score, last.tag) == (1.0, "carried_over")
    assert "rest on your base_stretch_i and lam_solution, which are not right" in last.message
    assert _scores({"lam_solution": SLIP, "base_stretch_i": inverse,
                    "lam_4096_16384_d128": SLIP_AT, "stretch_first_middle_last": from_inverse})[
        "stretch_first_middle_last"] == (0.0, "wrong_value")
    # right formula, right lam, wrong values: no upstream to carry from
    assert _scores({"lam_solution": KEY, "base_stretch_i": lam_sym ** (2 * i / d),
                    "stretch_first_middle_last": from_inverse})[
        "stretch_first_middle_last"] == (0.0, "wrong_value")
