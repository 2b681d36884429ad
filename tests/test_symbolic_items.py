"""Accepted and rejected answers for every symbolic item, each with its expected tag.

Answers go through the same path as in grading: text (as a student types it) or a sympy
object captured as ``srepr`` in a "kernel", judged by ``grader.scoring.judge``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from grader import payload
from grader.capture import capture_value
from grader.items import REGISTRY
from grader.payload import BoolAnswer, NumberAnswer, SequenceAnswer, TextAnswer
from grader.results import Verdict
from grader.scoring import judge

# symbols as a student creates them (assumptions as in the notebook's setup cell)
b, m, m_l, lam = sp.symbols("b m m_l lam", positive=True)
d = sp.Symbol("d", positive=True, even=True)
i = sp.Symbol("i", integer=True, nonnegative=True)
e = (d - 2) / d

TABLE: dict[str, list[tuple[object, float, str]]] = {
    "theta_i": [("b**(-2*i/d)", 1, "ok"), ("1/b**(2*i/d)", 1, "ok"),
                ("b**(-2*(i-1)/d)", 0, "one_based_index"), ("b**(2*i/d)", 0, "period_not_frequency"),
                ("b**(-i/d)", 0, "missing_factor_2"), ("b**(-2*i)", 0, "wrong_expression")],
    "period_i": [("2*pi*b**(2*i/d)", 1, "ok"), ("2*pi/b**(-2*i/d)", 1, "ok"),
                 (2 * np.pi / b ** (-2 * i / d), 0.5, "float_pi"),  # np.pi, not sp.pi
                 (np.pi / b ** (-2 * i / d), 0, "wrong_expression"),  # wrong either way
                 ("b**(2*i/d)", 0, "missing_2pi"), ("2*pi*b**(-2*i/d)", 0, "frequency_not_period")],
    "pi_stretch": [("m/m_l", 1, "ok"), ("m_l/m", 0, "pi_inverted")],
    "base_stretch_i": [("lam**(2*i/d)", 1, "ok"), ("(lam*b)**(2*i/d)/b**(2*i/d)", 1, "ok"),
                       (sp.Symbol("lamda", positive=True) ** (2 * i / d), 1, "ok"),
                       ("lam", 0, "uniform_stretch"), ("lam**(-2*i/d)", 0, "inverse_stretch")],
    "i_star": [("d/2 - 1", 1, "ok"), ("(d-2)/2", 1, "ok"), ("d/2", 0, "off_by_one_index"),
               (sp.Symbol("d", integer=True, positive=True) // 2 - 1, 1, "ok"),  # floor(d/2)-1
               ("floor(d/2) - 1", 1, "ok"),
               ("0", 0, "highest_frequency_pair"), ("d - 1", 0, "dimension_not_pair")],
    "matching_eq": [
        (sp.Eq(2 * sp.pi * (lam * b) ** e, (m / m_l) * 2 * sp.pi * b ** e), 1, "ok"),
        ("(m/m_l)*2*pi*b**((d-2)/d) = 2*pi*(lam*b)**((d-2)/d)", 1, "ok"),
        ("(lam*b)**((d-2)/d) = (m/m_l)*b**((d-2)/d)", 1, "ok"),
        ("lam**((d-2)/d) = m/m_l", 0.5, "step_form"),
        ("2*pi*lam*b = (m/m_l)*2*pi*b", 0, "off_by_one_index"),
        ("2*pi = 2*pi*m/m_l", 0, "highest_frequency_pair"),
        ("(lam*b)**(-(d-2)/d) = (m/m_l)*b**(-(d-2)/d)", 0, "matched_frequency"),
        ("2*pi*(lam*b)**((d-2)/d) = (m_l/m)*2*pi*b**((d-2)/d)", 0, "matched_frequency"),
        ("(lam*b)**((d-4)/d) = (m/m_l)*b**((d-4)/d)", 0, "second_to_last_pair"),
        ("2*pi*(lam*b)**((d-2)/d)", 0, "not_equation"),
    ],
    "step_cancel_2pi": [("(lam*b)**((d-2)/d) = (m/m_l)*b**((d-2)/d)", 1, "ok"),
                        ("lam**((d-2)/d)*b**((d-2)/d) = (m/m_l)*b**((d-2)/d)", 1, "ok"),
                        ("2*pi*(lam*b)**((d-2)/d) = 2*pi*(m/m_l)*b**((d-2)/d)", 0.5, "step_form"),
                        ("(lam*b)**(d/(d-2)) = (m/m_l)*b**(d/(d-2))", 0, "inverted_exponent"),
                        # both sides divided by 2*np.pi: one float slip, named as such
                        (sp.Eq(2 * sp.pi * (lam * b) ** e / (2 * np.pi),
                               2 * sp.pi * (m / m_l) * b ** e / (2 * np.pi)), 0.5, "float_pi")],
    "step_split": [("lam**((d-2)/d)*b**((d-2)/d) = (m/m_l)*b**((d-2)/d)", 1, "ok"),
                   ("(m/m_l)*b**((d-2)/d) = b**((d-2)/d)*lam**((d-2)/d)", 1, "ok"),
                   ("lam**((d-2)/d) = m/m_l", 0.5, "step_form"),
                   # equal in value to the split, but nothing was split (the step before)
                   ("(lam*b)**((d-2)/d) = (m/m_l)*b**((d-2)/d)", 0.5, "step_form"),
                   (sp.Eq(lam ** e * b ** e * 2 * sp.pi / (2 * np.pi), m / m_l * b ** e), 0.5,
                    "float_pi")],
    "step_cancel_b": [("lam**((d-2)/d) = m/m_l", 1, "ok"), ("m/m_l = lam**(1 - 2/d)", 1, "ok"),
                      ("lam = (m/m_l)**(d/(d-2))", 0.5, "step_form"),
                      # equal in value, but b is not cancelled (its power was never split)
                      ("(lam*b)**((d-2)/d)/b**((d-2)/d) = m/m_l", 0.5, "step_form"),
                      ("lam**(d/(d-2)) = m/m_l", 0, "inverted_exponent"),
                      ("lam**((d-2)/d) = m_l/m", 0, "matched_frequency"),
                      # d = 128 put in early: wrong, and solving it for lam is slow
                      (sp.Eq(lam ** sp.Rational(63, 64), m / m_l), 0, "wrong_equation")],
    "exponent": [("(d-2)/d", 1, "ok"), ("1 - 2/d", 1, "ok"), ("2*(d/2-1)/d", 1, "ok"),
                 ("d/(d-2)", 0, "reciprocal_exponent"), ("1", 0, "off_by_one_index"),
                 ("(d-2)/(2*d)", 0, "missing_factor_2"), ("(d-4)/d", 0, "second_to_last_pair")],
    "lam_solution": [
        ("(m/m_l)**(d/(d-2))", 1, "ok"), ("exp(d*log(m/m_l)/(d-2))", 1, "ok"),
        ("(m/m_l)**(1 + 2/(d-2))", 1, "ok"), ("m**(d/(d-2)) * m_l**(-d/(d-2))", 1, "ok"),
        ("1/(m_l/m)**(d/(d-2))", 1, "ok"), ("(m/m_l)^(d/(d−2))", 1, "ok"),
        (sp.solve(sp.Eq(2 * sp.pi * (lam * b) ** e, (m / m_l) * 2 * sp.pi * b ** e), lam)[0], 1, "ok"),
        ("m/m_l", 0, "pi_factor"), ("(m/m_l)**((d-2)/d)", 0, "inverted_exponent"),
        ("(m/m_l)**(-d/(d-2))", 0, "matched_frequency"), ("(m_l/m)**(d/(d-2))", 0, "matched_frequency"),
        ("(m/m_l)**(d/(d-4))", 0, "second_to_last_pair"), ("1", 0, "highest_frequency_pair"),
        ("2", 0, "not_symbolic"),
        ("(m/m_l)**(2/(d-2))", 0, "per_step_ratio"), ("(m/m_l)**(d/2)", 0, "half_d_exponent"),
        ("(m/m_l)**(2*d/(d-2))", 0, "missing_factor_2"), ("b*(m/m_l)**(d/(d-2))", 0, "contains_b"),
        (4.088994243, 0, "not_symbolic"), ("lam*m/m_l", 0, "contains_lam"),
        ("sqrt(m/m_l)", 0, "square_root"), ("(m/m_l)**(d/(d-3))", 0, "wrong_expression"),
        ("x**2", 0, "unparsable"), ("m.__class__", 0, "unparsable"),
        # b cancels only through exp and log: no simplification removes it, the value does
        (sp.exp(sp.log(b ** e * m / m_l) / e) / b, 1, "ok"),
        (sp.exp(sp.log(b ** e * m / m_l) / e), 0, "contains_b"),
    ],
    "lam_double": [("2**(d/(d-2))", 1, "ok"), ("2*2**(2/(d-2))", 1, "ok"), ("2", 0, "pi_factor"), ("3", 0, "not_symbolic"),
                   ("2**((d-2)/d)", 0, "inverted_exponent"), ("(m/m_l)**(d/(d-2))", 0, "not_substituted")],
    "rel_error": [("(m/m_l)**(2/(d-2)) - 1", 1, "ok"), ("((m/m_l)**(d/(d-2)) - m/m_l)/(m/m_l)", 1, "ok"),
                  ("(m/m_l)**(2/(d-2))", 0, "ratio_not_error"),
                  ("1 - (m/m_l)**(-2/(d-2))", 0, "relative_to_lam"),
                  ("(m/m_l)**(d/(d-2)) - m/m_l", 0, "absolute_error")],
    "dlam_dd": [(sp.diff((m / m_l) ** (d / (d - 2)), d), 1, "ok"),
                ("-2*(m/m_l)**(d/(d-2))*log(m/m_l)/(d-2)**2", 1, "ok"),
                (sp.diff((m / m_l) ** (d / (d - 2)), m), 0, "wrong_variable")],
    "lam_limit": [("m/m_l", 1, "ok"), (sp.limit((m / m_l) ** (d / (d - 2)), d, sp.oo), 1, "ok"),
                  (sp.Integer(1), 0, "wrong_expression"),
                  (sp.limit((m / m_l) ** (d / 2), d, sp.oo), 0, "wrong_expression"),
                  ("(m/m_l)**(d/(d-2))", 0, "extra_symbol")],
    "new_period": [("2*pi*(lam*b)**((d-2)/d)", 1, "ok"),
                   ("(m/m_l)*2*pi*b**((d-2)/d)", 0, "pi_side"), ("2*pi*b**((d-2)/d)", 0, "old_period"),
                   ("m_l*2*pi*(lam*b)**((d-2)/d)", 0, "scaled_side"),
                   ("2*pi", 0, "highest_frequency_pair")],  # the lhs of pair 0's equation
}

CASES = [(item, ans, score, tag) for item, rows in TABLE.items() for ans, score, tag in rows]


def _answer(ans: object):
    if isinstance(ans, str):
        return TextAnswer(ans)
    if isinstance(ans, float):
        return NumberAnswer(ans)
    return capture_value(ans)  # a sympy object, captured as srepr text exactly as in a kernel


@pytest.mark.parametrize(("item", "answer", "fraction", "tag"), CASES,
                         ids=[f"{c[0]}:{c[1]!s:.40}" for c in CASES])
def test_symbolic_item_table(item: str, answer: object, fraction: float, tag: str) -> None:
    """Does each known answer earn exactly its expected share of points, with its tag?"""
    j = judge(REGISTRY[item], _answer(answer))
    assert (j.fraction, j.tag) == (fraction, tag), j.message


def test_every_symbolic_item_has_a_table() -> None:
    """Is every expression and equation item of the registry covered by the table?"""
    kinds = {"ExprCheck", "EquationCheck"}
    symbolic = {k for k, it in REGISTRY.items() if type(it.check).__name__ in kinds}
    assert symbolic <= set(TABLE)


@pytest.mark.parametrize(("item", "answer", "fraction", "tag"), [
    ("lam_4096_16384_d128", NumberAnswer(4.0890), 1, "ok"),
    ("lam_4096_16384_d128", NumberAnswer(4.088994243), 1, "ok"),
    ("lam_4096_16384_d128", TextAnswer("4**(128/126)"), 1, "ok"),
    ("lam_4096_16384_d128", NumberAnswer(4.0), 0, "pi_factor"),
    ("lam_4096_16384_d128", NumberAnswer(4 ** (-128 / 126)), 0, "matched_frequency"),
    ("lam_4096_16384_d128", NumberAnswer(4 ** (126 / 128)), 0, "inverted_exponent"),
    ("lam_4096_16384_d128", SequenceAnswer((NumberAnswer(4.089),)), 0, "wrong_type"),
    ("new_base_10000", NumberAnswer(40889.94), 1, "ok"),
    ("new_base_10000", NumberAnswer(40000.0), 0, "pi_factor"),
    ("new_base_10000", NumberAnswer(40010.0), 0, "wrong_value"),
    ("stretch_first_middle_last", SequenceAnswer((NumberAnswer(1.0), NumberAnswer(4 ** (64 / 126)),
                                                  NumberAnswer(4.0))), 1, "ok"),
    ("stretch_first_middle_last", SequenceAnswer((NumberAnswer(4.0),) * 3), 0, "pi_uniform"),
    ("lam_double_values", SequenceAnswer((NumberAnswer(2 ** (64 / 62)), NumberAnswer(2.022126169))),
     1, "ok"),
    ("lam_double_values", SequenceAnswer((NumberAnswer(2.022126169), NumberAnswer(2 ** (64 / 62)))),
     0, "wrong_value"),
    ("lam_double_limit", NumberAnswer(2.0), 1, "ok"),
    ("lam_double_limit", capture_value(sp.Integer(2)), 1, "ok"),
    ("lam_double_limit", capture_value(sp.oo), 0, "wrong_value"),
    ("lam_double_limit", capture_value(2 * b), 0, "not_a_number"),
    ("rel_error_values", SequenceAnswer(tuple(NumberAnswer(r ** (2 / 126) - 1) for r in (2, 4, 8, 32))),
     1, "ok"),
    ("colleague_claim", BoolAnswer(False), 1, "ok"),
    ("colleague_claim", BoolAnswer(True), 0, "wrong_choice"),
    ("colleague_claim", TextAnswer("False"), 0, "wrong_type"),
    ("colleague_claim", capture_value(sp.Float(0.0571) < 0.05), 1, "ok"),  # sympy's false
    ("colleague_claim", capture_value(sp.true), 0, "wrong_choice"),
    ("d2_reason", TextAnswer("b"), 1, "ok"),
    ("d2_reason", TextAnswer(" (B) "), 1, "ok"),
    ("d2_reason", TextAnswer("a"), 0, "exponent_only"),
    ("d2_reason", TextAnswer("c"), 0, "wrong_choice"),
    ("highest_freq_solutions", capture_value([]), 1, "ok"),
    ("highest_freq_solutions", capture_value(sp.solve(sp.Eq(2 * sp.pi, 2 * sp.pi * m / m_l), lam)),
     1, "ok"),
    ("highest_freq_solutions", capture_value([(m / m_l) ** (d / (d - 2))]), 0, "wrong_solutions"),
])
def test_numeric_and_choice_items(item: str, answer, fraction: float, tag: str) -> None:
    """Do numbers, lists and choices earn their expected share, with the right tag?"""
    j = judge(REGISTRY[item], answer)
    assert (j.fraction, j.tag) == (fraction, tag), j.message


def test_undecided_never_counts_as_correct() -> None:
    """Is an answer that agrees at only some points rejected, whatever a proof attempt says?"""
    # equal to lam only for d = 4 or 6, and elsewhere off by about 1e-16 relative: a float-level
    # check would pass it, a 30-digit check must not
    j = judge(REGISTRY["lam_solution"],
              TextAnswer("(m/m_l)**(d/(d-2))*(1 + (d-4)*(d-6)/10**20)"))
    assert j.fraction == 0 and j.verdict is Verdict.INCORRECT


def test_messages_never_reveal_the_answer() -> None:
    """Does no feedback message for lambda contain the answer key's formula?"""
    forbidden = ["d/(d-2)", "d/(d - 2)", "(m/m_l)**(d", "4.0889", "40889"]
    for ans, _s, _t in TABLE["lam_solution"]:
        msg = judge(REGISTRY["lam_solution"], _answer(ans)).message
        assert not any(f in msg for f in forbidden), msg


def test_step_message_names_the_step_still_to_do() -> None:
    """Is a split-but-not-cancelled equation told to cancel b**e (not to split again)?"""
    eq = sp.Eq(b ** e * lam ** e, b ** e * m / m_l)
    j = judge(REGISTRY["step_cancel_b"], capture_value(eq))
    assert (j.fraction, j.tag) == (0.5, "step_form")
    assert "cancel b**e" in j.message and "split" not in j.message


def test_a_sympy_float_is_right_and_told_to_be_a_python_float() -> None:
    """lam evaluated with .evalf() is a sympy Float: full marks, and the feedback says the
    question asks for float(...) (the notebook's own check fails on it)."""
    j = judge(REGISTRY["lam_4096_16384_d128"], capture_value(sp.Float(4.088994243197, 15)))
    assert (j.fraction, j.tag) == (1, "ok") and "Python float" in j.message
    j = judge(REGISTRY["lam_4096_16384_d128"], capture_value(4.088994243197))
    assert (j.fraction, j.message) == (1, "Correct.")


@pytest.mark.parametrize(("item", "value", "note"), [
    ("lam_4096_16384_d128", np.float32(4.088994243197), "yours is numpy.float32.)"),
    ("new_base_10000", 40890, "yours is int.)"),
    ("lam_double_values", np.array([2.0452, 2.0221]),
     "yours is a numpy.ndarray; .tolist() turns an array into one.)"),
    ("rel_error_values", [np.float32(v) for v in (0.011063084, 0.022248561, 0.033557783,
                                                  0.056552956)],
     "yours has numpy.float32.)"),
    ("colleague_claim", np.bool_(False), "yours is a numpy.bool; bool(...) converts it.)"),
])
def test_a_right_value_of_another_type_is_told_the_type_the_question_asks_for(
        item, value, note) -> None:
    """A right value whose type the notebook's own check refuses (a numpy float32, an int,
    an array for a list, numpy's bool) keeps full marks, and the feedback names the type to
    give, through the capture's JSON as grading reads it. numpy's float64 is a Python float
    and a tuple is a list here: nothing to say."""
    answer = payload.from_json(json.loads(json.dumps(payload.to_json(capture_value(value)))))
    j = judge(REGISTRY[item], answer)
    assert (j.fraction, j.tag) == (1, "ok") and j.message.endswith(note), j.message
    for item, plain in (("lam_4096_16384_d128", np.float64(4.088994243197)),
                        ("lam_double_values", (2.0452, 2.0221)),
                        ("lam_double_limit", sp.limit(2 ** (d / (d - 2)), d, sp.oo)),
                        ("lam_double_limit", 2)):  # a limit: sympy's number is what it asks
        j = judge(REGISTRY[item], capture_value(plain))
        assert j.message.startswith("Correct") and "(" not in j.message.replace(
            "(rounded; the digits you kept are right)", ""), (item, j.message)


def test_swapped_sides_keep_full_marks_and_are_told_what_new_period_reads() -> None:
    """The same equation with its sides swapped earns full marks, and only matching_eq (whose
    visible test wants lam on the left, and whose lhs new_period reads) says so."""
    swapped = sp.Eq((m / m_l) * 2 * sp.pi * b ** e, 2 * sp.pi * (lam * b) ** e)
    j = judge(REGISTRY["matching_eq"], capture_value(swapped))
    assert (j.fraction, j.tag) == (1, "ok") and "sides are swapped" in j.message
    straight = judge(REGISTRY["matching_eq"], capture_value(sp.Eq(swapped.rhs, swapped.lhs)))
    assert (straight.fraction, straight.message) == (1, "Correct.")
    step = judge(REGISTRY["step_cancel_2pi"], capture_value(
        sp.Eq((m / m_l) * b ** e, (lam * b) ** e)))
    assert (step.fraction, step.message) == (1, "Correct.")


@pytest.mark.parametrize(("item", "text"), [
    ("lam_solution", "(m/m_l)**(d/(d-2)) + 10**(-40)"),
    ("lam_solution", "(m/m_l)**(d/(d-2))*(1 + exp(-1000*d))"),
    ("theta_i", "b**(-2*i/d) + 10**(-50)"),
])
def test_a_difference_below_30_digits_is_still_wrong(item: str, text: str) -> None:
    """Does an answer that agrees to 30 digits everywhere but is not equal earn nothing?"""
    j = judge(REGISTRY[item], TextAnswer(text))
    assert (j.fraction, j.tag, j.verdict) == (0, "wrong_expression", Verdict.INCORRECT)


@pytest.mark.parametrize(("item", "text"), [
    ("lam_solution", "(m/m_l)**(d/(d-2))*(sin(d)**2 + cos(d)**2)"),
    ("lam_solution", "(m/m_l)**(d/(d-2)) + sin(m)**2 + cos(m)**2 - 1"),
    ("lam_solution", "(m/m_l)**(d/(d-2))*(-1)**d*cos(2*pi*d)"),
    ("lam_solution", "(m/m_l)**(d/(d-2))*(1 + 10**(-40)*(sin(d)**2 + cos(d)**2 - 1))"),
    ("theta_i", "b**(-2*i/d)*(sin(i)**2 + cos(i)**2)"),
])
def test_an_identity_in_disguise_is_still_right(item: str, text: str) -> None:
    j = judge(REGISTRY[item], TextAnswer(text))
    assert (j.fraction, j.tag) == (1, "ok"), j.message


def test_the_difference_search_vouches_only_for_real_digits() -> None:
    """``differ_below_digits`` on exact points: certain non-zero differences are found, true
    identities whose evaluation cancels (no digit can be vouched for) are not."""
    from grader.domain import sample_points
    from grader.equivalence import differ_below_digits

    points = sample_points("lam_solution")[:3]
    ref = (m / m_l) ** (d / (d - 2))
    assert differ_below_digits(ref + sp.Rational(1, 10**40), ref, points)
    assert differ_below_digits(ref * (1 + sp.exp(-1000 * d)), ref, points)
    assert not differ_below_digits(ref * (sp.sin(d) ** 2 + sp.cos(d) ** 2), ref, points)
    assert not differ_below_digits(sp.log(m * m_l) - sp.log(m), sp.log(m_l), points)
    assert not differ_below_digits(sp.sqrt(d - 1) ** 2, d - 1, points)


@pytest.mark.parametrize(("item", "text", "expected"), [
    ("step_cancel_b", "Eq(lam**((d-2)/d), m/m_l + 10**(-40))", (0, "wrong_equation")),
    ("step_cancel_b", "Eq(lam**((d-2)/d)*(1 + exp(-1000*d)), m/m_l)", (0, "wrong_equation")),
    ("matching_eq", "Eq(2*pi*(lam*b)**((d-2)/d), 2*pi*m/m_l*b**((d-2)/d) + 10**(-40))",
     (0, "wrong_equation")),
    # a lam off by 10**-40 does not solve the step: no credit for "right, another form"
    ("step_cancel_b", "Eq(lam, (m/m_l)**(d/(d-2)) + 10**(-40))", (0, "wrong_equation")),
    ("step_cancel_b", "Eq(lam, (m/m_l)**(d/(d-2)))", (0.5, "step_form")),
    ("step_cancel_b", "Eq(m/m_l, lam**((d-2)/d))", (1, "ok")),
    ("step_cancel_b", "Eq(lam**((d-2)/d)*(sin(d)**2 + cos(d)**2), m/m_l)", (1, "ok")),
    ("matching_eq", "Eq((lam*b)**((d-2)/d), m/m_l*b**((d-2)/d))", (1, "ok")),
])
def test_an_equation_off_below_30_digits_is_wrong(item: str, text: str,
                                                   expected: tuple[float, str]) -> None:
    """Equations get the same search for a difference below the 30 digits as expressions:
    for the key and for the lam it gives, both up to the factor the step allows."""
    j = judge(REGISTRY[item], TextAnswer(text))
    assert (j.fraction, j.tag) == expected, j.message


@pytest.mark.parametrize("text", [
    "0.9999999999999993*m/m_l", "1.0000000000000007*m/m_l", "1.0*m/m_l",
])
def test_float_rounding_either_side_of_one_is_read_as_one(text: str) -> None:
    """Float arithmetic leaves 1 - 7e-16 as often as 1 + 7e-16: both are 1 (a float's printed
    15 digits made the first 0.999999999999999, and the answer wrong)."""
    j = judge(REGISTRY["pi_stretch"], TextAnswer(text))
    assert (j.fraction, j.tag) == (1, "ok"), j.message


def test_a_float_is_read_as_the_rational_it_stands_for() -> None:
    from grader.equivalence import rational_of

    cases = {2.0 / 3: sp.Rational(2, 3), 0.1: sp.Rational(1, 10), 4.088994243:
             sp.Rational(4088994243, 10**9), 1e-40: sp.Rational(1, 10**40),
             0.9999999999999993: 1, 1.0000000000000007: 1, -0.5: sp.Rational(-1, 2)}
    assert {v: rational_of(sp.Float(v)) for v in cases} == cases
    # pi's digits are no simple fraction: the printed decimal, so a float pi stays visible
    assert rational_of(sp.Float(np.pi)) == sp.Rational("3.14159265358979")


@pytest.mark.parametrize(("item", "text"), [("i_star", "63"), ("pi_stretch", "4")])
def test_a_number_for_an_expression_is_told_to_keep_the_symbols(item: str, text: str) -> None:
    """i_star = 63 is the right pair at d = 128, but the question asks for it in d: the
    feedback says to keep the symbols, not that the pair or the factor is wrong."""
    j = judge(REGISTRY[item], TextAnswer(text))
    assert (j.fraction, j.tag) == (0, "not_symbolic")
    assert j.message.startswith("Your answer is a number: the right one for the notebook's worked")


@pytest.mark.parametrize(("item", "values", "expected"), [
    # one rule everywhere, as the notebook states it: 4 significant digits kept, and right
    ("lam_double_values", [2.0452, 2.0221], (1, "ok")),  # round(..., 4)
    ("lam_double_values", [2.045, 2.022], (1, "ok")),  # 4 digits, as in the stretches
    ("rel_error_values", [0.01106, 0.02225, 0.03356, 0.05655], (1, "ok")),  # 4 digits
    ("rel_error_values", [0.0111, 0.0222, 0.0336, 0.0566], (0, "rounded_too_far")),  # 3
    ("rel_error_values", [0.011, 0.022, 0.034, 0.057], (0, "rounded_too_far")),  # 2 digits
    ("lam_double_values", [2.0453, 2.0221], (0, "wrong_value")),  # a digit off
    ("rel_error_values", [0.01106, 0.02225, 0.03356, 0.05656], (0, "wrong_value")),
    # exact elements (1.0, 4.0) beside a rounded one: each element is judged on its own
    ("stretch_first_middle_last", [1.0, 2.022, 4.0], (1, "ok")),
    ("new_base_10000", 40890.0, (1, "ok")),
    ("lam_double_values", [2.05, 2.02], (0, "rounded_too_far")),
    ("lam_4096_16384_d128", 4.09, (0, "rounded_too_far")),  # round(lam, 2)
    ("lam_4096_16384_d128", 4.1, (0, "rounded_too_far")),
    ("lam_4096_16384_d128", 4.08, (0, "wrong_value")),  # not 4.089 rounded
    # one digit is not told apart from a wrong value: 2.0 from lam = m/m_l is 2.045 "rounded"
    ("rel_error_values", [0.01, 0.02, 0.03, 0.06], (0, "wrong_value")),
    ("lam_double_values", [2.0, 2.0], (0, "wrong_value")),
])
def test_rounded_values_are_right_when_the_digits_kept_are(item, values, expected) -> None:
    """A value rounded to 3 or more significant digits is right when it is the key's value
    rounded there; a wrong last digit, or too few digits, is not (too few are told so)."""
    answer = capture_value(values)
    j = judge(REGISTRY[item], answer)
    assert (j.fraction, j.tag) == expected, (j.message, j.detail)
    if j.tag == "rounded_too_far":
        assert j.message.startswith("The digits you kept are right, but too few: keep at least")
