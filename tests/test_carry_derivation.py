"""Follow-through (grader.carry) along the derivation of lam: every step done as the notebook
does it, from a student's own slipped theta_i, pi_stretch or i_star, or with a step written
in another form, is judged from the student's own equation; the slip is charged once.  The
answers are built here with sympy, as the notebook's cells build them.
"""

from __future__ import annotations

import math

import sympy as sp
from answercells import answer_cell as _cell
from answercells import scores as _scores

from grader import scoring
from grader.items import REGISTRY

m, m_l, d = sp.symbols("m m_l d", positive=True)
KEY = (m / m_l) ** (d / (d - 2))


def _derivation_from(theta_i: sp.Expr, pi_stretch: sp.Expr = m / m_l,
                     i_star: sp.Expr = d / 2 - 1) -> dict[str, object]:
    """What a student who does every step as the notebook does, from their own theta_i,
    pi_stretch and i_star, answers (the model's own cell code)."""
    b, i, lam = sp.symbols("b i lam", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    period_i = 2 * sp.pi / theta_i
    matching_eq = sp.Eq(period_i.subs({i: i_star, b: lam * b}), pi_stretch * period_i.subs(
        i, i_star))
    step_cancel_2pi = sp.Eq(matching_eq.lhs / (2 * sp.pi), matching_eq.rhs / (2 * sp.pi))
    step_split = sp.Eq(sp.expand_power_base(step_cancel_2pi.lhs), step_cancel_2pi.rhs)
    b_power = step_split.rhs / pi_stretch
    step_cancel_b = sp.Eq(step_split.lhs / b_power, step_split.rhs / b_power)
    return {"theta_i": theta_i, "period_i": period_i, "pi_stretch": pi_stretch,
            "i_star": i_star, "matching_eq": matching_eq, "step_cancel_2pi": step_cancel_2pi,
            "step_split": step_split, "step_cancel_b": step_cancel_b,
            "lam_solution": sp.solve(step_cancel_b, lam)[0]}


STEPS = ("matching_eq", "step_cancel_2pi", "step_split", "step_cancel_b", "lam_solution")


def test_the_derivation_done_right_from_a_one_based_theta_is_carried() -> None:
    """theta_i one-based: every equation step and lam_solution, done right from it, are
    carried (one slip, one point); lam is then (m/m_l)**(d/(d-4))."""
    b = sp.Symbol("b", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    answers = _derivation_from(b ** (-2 * (i - 1) / d))
    assert sp.simplify(answers["lam_solution"] - (m / m_l) ** (d / (d - 4))) == 0
    got = _scores(answers)
    assert got.pop("theta_i") == (0.0, "one_based_index")
    assert got == {k: (float(REGISTRY[k].points), "carried_over" if k not in (
        "pi_stretch", "i_star") else "ok") for k in got}


def test_a_one_based_count_is_charged_once_at_theta() -> None:
    """theta_i counted from 1 (the book's formula with i put in for k) puts the last pair at
    d/2 in the student's own counting: i_star = d/2 beside it is the same slip, charged once
    (at theta_i), and the derivation from there is the key's. Beside a right theta, or a
    theta slipped in another way (missing factor 2), d/2 is still off by one; a one-based
    theta with the key's i_star = d/2 - 1 keeps that point too."""
    b = sp.Symbol("b", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    got = _scores(_derivation_from(b ** (-2 * (i - 1) / d), i_star=d / 2))
    assert got.pop("theta_i") == (0.0, "one_based_index")
    assert got.pop("i_star") == (1.0, "carried_over")
    assert {k: v[0] for k, v in got.items()} == {k: float(REGISTRY[k].points) for k in got}
    assert _scores({"theta_i": b ** (-2 * (i - 1) / d), "i_star": d / 2 - 1})["i_star"] == (
        1.0, "ok")
    for theta, tag in ((b ** (-2 * i / d), "ok"), (b ** (-i / d), "missing_factor_2")):
        got = _scores({"theta_i": theta, "i_star": d / 2})
        assert got == {"theta_i": (float(tag == "ok"), tag),
                       "i_star": (0.0, "off_by_one_index")}, theta


def test_the_model_derivation_is_plain_ok_and_an_index_slip_is_charged_once() -> None:
    """From the right theta every step is simply right. From i* = d/2 (one past the last
    pair) every step done right is carried, although d drops out on the way (the exponent
    is 1) and lam comes out as m/m_l: the slip is charged once, at i_star, as one at
    d/2 - 2 is.  The same lam typed in at lam_solution carries nothing
    (test_no_credit_is_carried_from_a_slip_that_removes_the_work), nor does matching pair 0,
    whose equation has no lam (the i-star-highest-frequency scenario of
    test_notebook_derive_lambda)."""
    b = sp.Symbol("b", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    answers = _derivation_from(b ** (-2 * i / d))
    assert set(_scores(answers).values()) == {(1.0, "ok"), (2.0, "ok"), (3.0, "ok")}
    for i_star in (d / 2, d / 2 - 2):
        got = _scores(_derivation_from(b ** (-2 * i / d), i_star=i_star))
        assert got.pop("i_star")[0] == 0.0
        assert got == {k: (float(REGISTRY[k].points), "ok" if k in (
            "theta_i", "period_i", "pi_stretch") else "carried_over") for k in got}, i_star


def test_lam_solution_is_carried_only_from_a_slip_made_before_step_cancel_b() -> None:
    """lam solved from a step_cancel_b that went wrong at that step (a guessed equation, a
    known slip typed in there, or lam itself typed in) is not carried: the headline result
    must not be had by moving a slip into a 1-point step.  From a step_cancel_b carried from
    an earlier slip it is (test_the_derivation_done_right_from_a_one_based_theta_is_carried)."""
    lam = sp.Symbol("lam", positive=True)
    for cancel_b, tag in ((sp.Eq(lam ** ((d - 2) / d), d * (m / m_l) ** 2), "wrong_equation"),
                          (sp.Eq(lam ** ((d - 4) / d), m / m_l), "second_to_last_pair"),
                          (sp.Eq(lam ** (d / (d - 2)), m / m_l), "inverted_exponent"),
                          (sp.Eq(lam, (m / m_l) ** (d / (d - 4))), "second_to_last_pair")):
        got = _scores({"step_cancel_b": cancel_b, "lam_solution": sp.solve(cancel_b, lam)[0]})
        assert got["step_cancel_b"] == (0.0, tag), cancel_b
        assert got["lam_solution"][0] == 0.0 and got["lam_solution"][1] != "carried_over"
    moved = sp.Eq(lam ** (d / (d - 2)), m / m_l)  # the feedback says what to fix first
    results = scoring.score_cells([_cell("step_cancel_b", moved),
                                   _cell("lam_solution", sp.solve(moved, lam)[0])])
    assert "follows from your step_cancel_b, but that is not right by itself" in results[
        1].message


def test_steps_after_an_equation_in_another_form() -> None:
    """A matching equation already solved for lam (right value, step_form) carries nothing to
    the steps after it; one right but divided by 2*pi already makes the next step, which
    divides by 2*pi again as asked, simply right."""
    b, lam = sp.symbols("b lam", positive=True)
    solved = sp.Eq(2 * sp.pi * lam * b, 2 * sp.pi * b * KEY)
    twice = sp.Eq(solved.lhs / (2 * sp.pi), solved.rhs / (2 * sp.pi))
    got = _scores({"matching_eq": solved, "step_cancel_2pi": twice})
    assert got["matching_eq"] == (1.0, "step_form") and got["step_cancel_2pi"][1] != (
        "carried_over")
    answers = _derivation_from(b ** (-2 * sp.Symbol("i", integer=True, nonnegative=True) / d))
    eq = answers["matching_eq"]
    first = sp.Eq(eq.lhs / (2 * sp.pi), eq.rhs / (2 * sp.pi))
    got = _scores({"matching_eq": first,
                   "step_cancel_2pi": sp.Eq(first.lhs / (2 * sp.pi), first.rhs / (2 * sp.pi))})
    assert got == {"matching_eq": (2.0, "ok"), "step_cancel_2pi": (1.0, "ok")}


def test_the_exponent_follows_i_star_and_b_cancels_with_a_constant() -> None:
    """i_star = d/2 - 2: the exponent built from it is carried.  A period without 2*pi leaves
    a constant beside lam**e after the split: dividing by exactly b**e (as the hint says) or
    by b**e and that constant both count as cancelling b."""
    b, lam = sp.symbols("b lam", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    got = _scores({"i_star": d / 2 - 2, "exponent": 2 * (d / 2 - 2) / d})
    assert got == {"i_star": (0.0, "wrong_expression"), "exponent": (1.0, "carried_over")}
    theta = b ** (-2 * i / d)
    period = 1 / theta  # missing 2*pi; pi_stretch then carries it
    answers = _derivation_from(theta)
    answers.update(period_i=period, pi_stretch=2 * sp.pi * m / m_l)
    matching = sp.Eq(period.subs({i: d / 2 - 1, b: lam * b}), answers["pi_stretch"] * period.subs(
        i, d / 2 - 1))
    split = sp.Eq(sp.expand_power_base(matching.lhs / (2 * sp.pi)), matching.rhs / (2 * sp.pi))
    e = (d - 2) / d
    for cancel in (sp.Eq(sp.powsimp(split.lhs / b ** e, force=True),
                         sp.powsimp(split.rhs / b ** e, force=True)),
                   sp.Eq(lam ** e, 2 * sp.pi * m / m_l)):
        got = _scores({"theta_i": theta, "period_i": period, "pi_stretch": answers["pi_stretch"],
                       "matching_eq": matching, "step_split": split, "step_cancel_b": cancel})
        assert got["step_cancel_b"] == (1.0, "carried_over"), cancel


def test_a_step_in_another_form_costs_the_same_after_an_earlier_slip() -> None:
    """b left in step_cancel_b (the split equation typed again) is half right (step_form)
    in the key's derivation; after a wrong i_star it is judged from the student's own
    derivation and is half right too, with the slip to fix named; lam solved from it is
    carried, as it is simply right in the key's derivation."""
    i = sp.Symbol("i", integer=True, nonnegative=True)
    b = sp.Symbol("b", positive=True)
    for i_star, expected_lam in ((d / 2 - 1, (3.0, "ok")), (d / 2 - 2, (3.0, "carried_over"))):
        answers = _derivation_from(b ** (-2 * i / d), i_star=i_star)
        answers["step_cancel_b"] = answers["step_split"]
        results = {r.item: r for r in scoring.score_cells(
            [_cell(k, v) for k, v in answers.items()]) if r is not None}
        cancel_b = results["step_cancel_b"]
        assert (cancel_b.score, cancel_b.tag) == (0.5, "step_form"), i_star
        assert (results["lam_solution"].score, results["lam_solution"].tag) == expected_lam
        fix = "Judged from your earlier answers, which rest on your i_star, which is not right"
        assert (fix in cancel_b.message) == (i_star == d / 2 - 2)


def test_an_equation_moved_to_one_side_costs_half_once() -> None:
    """step_cancel_2pi written as Eq(A - B, 0) is the key's equation in another form (half);
    splitting the power and cancelling b done on that form are right, not half again."""
    b, lam = sp.symbols("b lam", positive=True)
    i = sp.Symbol("i", integer=True, nonnegative=True)
    answers = _derivation_from(b ** (-2 * i / d))
    moved = sp.Eq(answers["matching_eq"].lhs / (2 * sp.pi)
                  - answers["matching_eq"].rhs / (2 * sp.pi), 0)
    split = sp.Eq(sp.expand_power_base(moved.lhs, force=True), 0)
    cancelled = sp.Eq(sp.expand(split.lhs / b ** ((d - 2) / d)), 0)
    got = _scores({"matching_eq": answers["matching_eq"], "step_cancel_2pi": moved,
                   "step_split": split, "step_cancel_b": cancelled,
                   "lam_solution": sp.solve(cancelled, lam)[0]})
    assert got == {"matching_eq": (2.0, "ok"), "step_cancel_2pi": (0.5, "step_form"),
                   "step_split": (1.0, "ok"), "step_cancel_b": (1.0, "ok"),
                   "lam_solution": (3.0, "ok")}


def test_a_float_pi_costs_once() -> None:
    """period_i written with np.pi (half: float_pi), and the matching equation and the new
    model's period built from it, as the notebook builds them: the float pi is charged at
    period_i only.  With exact periods upstream, np.pi typed into new_period alone is
    charged there."""
    i = sp.Symbol("i", integer=True, nonnegative=True)
    b, lam = sp.symbols("b lam", positive=True)
    answers = _derivation_from(b ** (-2 * i / d))
    period = 2 * sp.Float(math.pi) * b ** (2 * i / d)
    last = d / 2 - 1
    answers.update(period_i=period, matching_eq=sp.Eq(
        period.subs({i: last, b: lam * b}), m / m_l * period.subs(i, last)),
        new_period=period.subs({i: last, b: lam * b}))
    got = _scores(answers)
    assert got["period_i"] == (0.5, "float_pi")
    assert got["matching_eq"] == (2.0, "ok") and got["new_period"] == (1.0, "ok")
    exact = _derivation_from(b ** (-2 * i / d))
    exact["new_period"] = period.subs({i: last, b: lam * b})
    assert _scores(exact)["new_period"] == (0.5, "float_pi")
