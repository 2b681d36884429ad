"""lam_solution reached from the exponent instead of step_cancel_b (grader.steps.lam_from).

The notebook solves step_cancel_b for lam; a student may instead raise m/m_l to 1/exponent.
When the exponent is carried from a wrong i_star while the equations are right (a one-based
theta with i_star = d/2 matches the right pair, but 2*i_star/d = 1), lam = m/m_l follows
from that exponent and is carried; an exponent wrong on its own carries nothing.
"""

from __future__ import annotations

import sympy as sp

from tests.answercells import scores

b, m, m_l, lam = sp.symbols("b m m_l lam", positive=True)
d = sp.Symbol("d", positive=True, even=True)
i = sp.Symbol("i", integer=True, nonnegative=True)


def _derivation(theta_i: sp.Expr, i_star: sp.Expr, exponent: sp.Expr, lam_solution=None
                ) -> dict[str, object]:
    """The notebook's answers from theta_i, i_star and exponent, worked as the key works,
    with lam_solution = (m/m_l)**(1/exponent) unless given."""
    period_i = 2 * sp.pi / theta_i
    matching_eq = sp.Eq(period_i.subs({i: i_star, b: lam * b}),
                        m / m_l * period_i.subs(i, i_star))
    cancel_2pi = sp.Eq(matching_eq.lhs / (2 * sp.pi), matching_eq.rhs / (2 * sp.pi))
    split = sp.Eq(sp.expand_power_base(cancel_2pi.lhs), cancel_2pi.rhs)
    b_power = split.rhs / (m / m_l)
    cancel_b = sp.Eq(split.lhs / b_power, split.rhs / b_power)
    lam_solution = (m / m_l) ** (1 / exponent) if lam_solution is None else lam_solution
    worked = float(lam_solution.subs({m: 16384, m_l: 4096, d: 128}))
    return {"theta_i": theta_i, "period_i": period_i, "pi_stretch": m / m_l, "i_star": i_star,
            "matching_eq": matching_eq, "new_period": matching_eq.lhs,
            "step_cancel_2pi": cancel_2pi, "step_split": split, "step_cancel_b": cancel_b,
            "exponent": exponent, "lam_solution": lam_solution,
            "lam_4096_16384_d128": worked, "new_base_10000": worked * 10_000}


def test_one_based_theta_with_the_zero_based_exponent_rule_is_charged_at_its_slips() -> None:
    """theta_i one-based and i_star = d/2 (the right pair in that count) give the key's
    equations; exponent = 2*i_star/d = 1 is carried from i_star, and lam = m/m_l with the
    worked numbers from that exponent. i_star = d/2 is the last pair in the student's own
    count (carried from theta_i), so the one slip is charged once, at theta_i, as i_star =
    d/2 beside a right theta is charged once at i_star."""
    got = scores(_derivation(b ** (-2 * (i - 1) / d), d / 2, sp.Integer(1)))
    charged = {k: v for k, v in got.items() if v[1] != "ok"}
    assert charged == {
        "theta_i": (0.0, "one_based_index"), "period_i": (1.0, "carried_over"),
        "i_star": (1.0, "carried_over"), "exponent": (1.0, "carried_over"),
        "lam_solution": (3.0, "carried_over"), "lam_4096_16384_d128": (1.0, "carried_over"),
        "new_base_10000": (1.0, "carried_over")}


def test_an_exponent_wrong_on_its_own_carries_nothing_into_lam() -> None:
    """exponent = d/(d-2) typed in with a right i_star: exponent is the slip, and lam from it
    is not carried (lambda earns its points from a right derivation, or one that goes wrong
    earlier); the worked numbers follow that lam."""
    e = d / (d - 2)
    got = scores(_derivation(b ** (-2 * i / d), d / 2 - 1, e))
    assert got["exponent"] == (0.0, "reciprocal_exponent")
    assert got["lam_solution"][0] == 0.0
    assert got["lam_4096_16384_d128"] == (1.0, "carried_over")
    assert got["matching_eq"] == (2.0, "ok") and got["step_cancel_b"] == (1.0, "ok")


def test_a_right_equation_and_exponent_leave_lams_own_slip_charged() -> None:
    """Both ways to lam are right: lam = step_cancel_b.rhs**exponent is lam's own slip."""
    e = (d - 2) / d
    got = scores(_derivation(b ** (-2 * i / d), d / 2 - 1, e, (m / m_l) ** e))
    assert got["lam_solution"] == (0.0, "inverted_exponent")
    assert got["exponent"] == (1.0, "ok")
