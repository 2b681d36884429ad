"""Feedback that names the step a slip is in (grader.carrynotes.slips_here) and the catalogue
entries for slips made at the last steps (percentages, a derivative in a new symbol, solve
without its unknown). Found by a blind review: a right lam_solution evaluated at d = 64 was
told it had matched the second-to-last pair, since (m/m_l)**(64/62) is that slip's value at
d = 128."""

from __future__ import annotations

import sympy as sp
from answercells import scores

from grader import scoring
from tests.answercells import answer_cell

m, m_l, lam = sp.symbols("m m_l lam", positive=True)
d = sp.Symbol("d", positive=True, even=True)
LAM = (m / m_l) ** (d / (d - 2))


def _messages(answers: dict[str, object]) -> dict[str, tuple[float, str, str]]:
    results = scoring.score_cells([answer_cell(k, v) for k, v in answers.items()])
    return {r.item: (r.score, r.tag, r.message) for r in results if r is not None}


def test_a_substitution_slip_beside_a_right_lam_is_not_called_a_derivation_slip() -> None:
    """lam_solution right, evaluated at d = 64 (the second-to-last-pair value at d = 128),
    or with m_l put in for m (the matched-frequency lam at m = 2*m_l): wrong, with the
    generic tag and a message that puts the slip in this step; the same values with no
    lam_solution to compare with keep the catalogue's story."""
    at_64 = float(LAM.subs({m: 16384, m_l: 4096, d: 64}))
    swapped = LAM.subs(m_l, 2 * m)
    got = _messages({"lam_solution": LAM, "lam_4096_16384_d128": at_64,
                     "new_base_10000": at_64 * 10_000, "lam_double": swapped})
    assert got.pop("lam_solution")[:2] == (3.0, "ok")
    assert got["lam_4096_16384_d128"][:2] == (0.0, "wrong_value")
    assert got["lam_double"][:2] == (0.0, "wrong_expression")
    assert got["lam_4096_16384_d128"][2].startswith(
        "Your lam_solution is right, so the slip is in this step, not before it: Substitute")
    assert got["new_base_10000"][:2] == (1.0, "carried_over")  # lam_4096's value, times b
    alone = scores({"lam_4096_16384_d128": at_64, "lam_double": swapped})
    assert alone == {"lam_4096_16384_d128": (0.0, "second_to_last_pair"),
                     "lam_double": (0.0, "matched_frequency")}


def test_a_slip_an_item_can_make_itself_keeps_its_name() -> None:
    """lam = m/m_l beside a right step_cancel_b is PI's factor, the misconception itself; an
    exponent of 1 beside a right i_star used pair d/2; a lam_4096 that is PI's factor beside
    a wrong lam_solution is carried or named by it, not re-tagged."""
    got = scores({"step_cancel_b": sp.Eq(lam ** ((d - 2) / d), m / m_l),
                  "lam_solution": m / m_l, "i_star": d / 2 - 1, "exponent": sp.Integer(1)})
    assert got == {"step_cancel_b": (1.0, "ok"), "lam_solution": (0.0, "pi_factor"),
                   "i_star": (1.0, "ok"), "exponent": (0.0, "off_by_one_index")}
    got = scores({"lam_solution": m / m_l, "lam_4096_16384_d128": 4.0})
    assert got["lam_4096_16384_d128"][1] != "wrong_value"


def test_slips_of_the_last_steps_are_named() -> None:
    """Relative errors in percent, a derivative taken in a new symbol 'd' (0), and the list
    sympy.solve returns without the unknown (dicts) each get their own tag."""
    rel = [float((LAM / (m / m_l) - 1).subs({m: r, m_l: 1, d: 128})) for r in (2, 4, 8, 32)]
    eq_0 = sp.Eq(2 * sp.pi, m / m_l * 2 * sp.pi)
    got = scores({"rel_error_values": [100 * v for v in rel],
                  "dlam_dd": sp.diff(LAM, sp.Symbol("d")),
                  "highest_freq_solutions": sp.solve(eq_0)})
    assert got == {"rel_error_values": (0.0, "percent"), "dlam_dd": (0.0, "zero_derivative"),
                   "highest_freq_solutions": (0.0, "solved_for_every_symbol")}
    assert scores({"rel_error_values": rel})["rel_error_values"] == (1.0, "ok")


def test_answers_of_the_wrong_kind_are_told_what_to_give() -> None:
    """A right expression typed as a string keeps its point and is told to build it from
    symbols; a right number as a string is told float(...); an unevaluated Derivative or
    Limit, or a Piecewise, is told what sympy did and what to call."""
    from grader.capture import capture_value
    from grader.items import REGISTRY

    j = scoring.judge(REGISTRY["lam_limit"], capture_value("m/m_l"))
    assert j.fraction == 1 and "yours is a string" in j.message
    assert scoring.judge(REGISTRY["lam_limit"], capture_value(m / m_l)).message == "Correct."
    j = scoring.judge(REGISTRY["lam_4096_16384_d128"], capture_value("4.088994243197"))
    assert j.fraction == 1 and j.message.endswith("yours is a string.)")
    for item, value, says in (("dlam_dd", sp.Derivative(LAM, d), "sp.diff(...)"),
                              ("lam_limit", sp.Limit(LAM, d, sp.oo), "sp.limit(...)"),
                              ("lam_solution", sp.Piecewise((LAM, m > m_l), (1, True)),
                               "split into cases")):
        j = scoring.judge(REGISTRY[item], capture_value(value))
        assert j.fraction == 0 and says in j.message, j.message


def test_the_claim_follows_the_size_of_the_students_own_errors() -> None:
    """colleague_claim is decided from the student's own relative errors by their size: errors
    of -75% to -99.9% (a sign or ratio slip upstream) do not make "within 5%" true."""
    got = scores({"rel_error": m_l / m - 1,
                  "rel_error_values": [1 / r - 1 for r in (4, 8, 32, 1000)],
                  "colleague_claim": True})
    assert got["colleague_claim"] == (0.0, "wrong_choice")
