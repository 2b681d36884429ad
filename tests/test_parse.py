"""Tests for grader.parse: turning untrusted student answers into sympy objects safely."""

from __future__ import annotations

import pickle
import time

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import Eq, Float, Rational, Symbol, Tuple, exp, log, pi, srepr

from grader.parse import (
    DEFAULT_FUNCTIONS,
    AnswerError,
    ForbiddenConstructError,
    ParseError,
    TooLargeError,
    UnknownNameError,
    parse_student,
)
from grader.srepr import parse_srepr

b = Symbol("b", positive=True)
d = Symbol("d", positive=True, even=True)
m = Symbol("m", positive=True)
m_l = Symbol("m_l", positive=True)
lam = Symbol("lam", positive=True)
i = Symbol("i", integer=True, nonnegative=True)
SYMBOLS = {"b": b, "d": d, "m": m, "m_l": m_l, "lam": lam, "i": i}
LAMBDA = (m / m_l) ** (d / (d - 2))


def same(got: sympy.Basic, want: sympy.Basic) -> bool:
    """Are two expressions equal structurally, after simplification, or at sample points?"""
    if got == want or sympy.simplify(got - want) == 0:
        return True
    points = [{m: 3.5, m_l: 1.25, d: 4, b: 2, lam: 1.5}, {m: 7, m_l: 2.5, d: 64, b: 9, lam: 0.3}]
    return all(abs(complex((got - want).subs(p).evalf())) < 1e-9 for p in points)


@pytest.mark.parametrize("text", [
    "(m/m_l)**(d/(d-2))",
    "(m/m_l)^(d/(d-2))",
    "exp(d*log(m/m_l)/(d-2))",
    "(m/m_l)**(1 + 2/(d-2))",
    "m**(d/(d-2)) * m_l**(-d/(d-2))",
    "1/(m_l/m)**(d/(d-2))",
    "(m/m_l)^(d/(d\u22122))",
    "  (m / m_\u2113) ^ (d / (d - 2))  ",
    "(m÷m_l)^(d÷(d-2))",
])
def test_accepted_forms_of_the_lambda_formula(text: str) -> None:
    """Does each way of writing lambda = (m/m_l)^(d/(d-2)) parse to the same expression?"""
    assert same(parse_student(text, SYMBOLS), LAMBDA)


def test_single_equals_sign_makes_an_equation() -> None:
    """Does 'λ = ...' become Eq(lam, ...)?"""
    got = parse_student("λ = (m/m_l)**(d/(d-2))", SYMBOLS)
    assert isinstance(got, sympy.Equality)
    assert got.lhs == lam and same(got.rhs, LAMBDA)


def test_equation_with_expressions_on_both_sides() -> None:
    """Is the wavelength-matching equation read as one Eq with the right sides?"""
    got = parse_student("2*pi*(lam*b)**((d-2)/d) = (m/m_l)*2*pi*b**((d-2)/d)", SYMBOLS)
    assert isinstance(got, sympy.Equality)
    assert same(got.lhs, 2 * pi * (lam * b) ** ((d - 2) / d))
    assert same(got.rhs, (m / m_l) * 2 * pi * b ** ((d - 2) / d))


def test_explicit_eq_call_is_accepted() -> None:
    """Does Eq(a, b) written out work like 'a = b'?"""
    assert parse_student("Eq(lam, m)", SYMBOLS) == Eq(lam, m)


def test_names_map_to_the_canonical_symbols() -> None:
    """Does 'm' come back as the grader's positive m rather than a new Symbol?"""
    assert parse_student("m", SYMBOLS) is m
    assert parse_student("i", SYMBOLS).is_integer


@pytest.mark.parametrize(("text", "want"), [
    ("m²", m**2), ("m⁻¹", 1 / m), ("2×m·d", 2 * m * d), ("π*m", pi * m),
    ("Rational(1, 2)*m", m / 2), ("sqrt(m)", sympy.sqrt(m)), ("ln(m)", log(m)),
])
def test_unicode_and_helper_functions(text: str, want: sympy.Basic) -> None:
    """Are superscripts, ×, ·, π and the helper functions understood?"""
    assert parse_student(text, SYMBOLS) == want


def test_floats_stay_floats() -> None:
    """Is a decimal literal kept as a sympy Float (not silently made exact)?"""
    got = parse_student("m**0.5", SYMBOLS)
    assert isinstance(got, sympy.Pow) and isinstance(got.exp, Float)


REJECTED = [
    ("__import__('os')", ForbiddenConstructError, 0),
    ("m.__class__", ForbiddenConstructError, 1),
    ("x[0]", ForbiddenConstructError, 1),
    ("lambda: 1", ForbiddenConstructError, 0),
    ("[c for c in m]", ForbiddenConstructError, 0),
    ('"m"', ForbiddenConstructError, 0),
    ("m if d else b", ForbiddenConstructError, 0),
    ("m == d", ForbiddenConstructError, 2),
    ("m // d", ForbiddenConstructError, 2),
    ("exp(x=1)", ForbiddenConstructError, 4),
    ("open('f')", UnknownNameError, 0),
    ("q + m", UnknownNameError, 0),
    ("m + sinh(d)", UnknownNameError, 4),
    ("λ ^ q", UnknownNameError, 4),
    ("m/", ParseError, 2),
    ("(m", ParseError, 0),
    ("2m", ParseError, 0),
    ("m = d = b", ParseError, 6),
    ("= m", ParseError, 0),
    ("α + m", ParseError, 0),
    ("", ParseError, 0),
    ("10**10**10", TooLargeError, 4),
    ("m**1001", TooLargeError, 3),
    ("(2**500)**3", TooLargeError, 10),
    ("1" * 60, TooLargeError, 0),
    ("(" * 100 + "m" + ")" * 100, TooLargeError, 60),
    ("-" * 100 + "m", TooLargeError, None),
    ("m**" * 100 + "m", TooLargeError, None),
    ("m" * 5000, TooLargeError, None),
]


@pytest.mark.parametrize(("text", "error", "col"), REJECTED)
def test_rejections_have_the_right_class_and_caret(
    text: str, error: type[AnswerError], col: int | None
) -> None:
    """Is each bad answer rejected with the right error class and a caret in the right column?"""
    with pytest.raises(error) as info:
        parse_student(text, SYMBOLS)
    if col is not None:
        assert info.value.col == col
    assert info.value.message and "Traceback" not in str(info.value)


@pytest.mark.parametrize("op", ["+", "-", "*"])
def test_long_flat_sums_and_products_are_not_deep(op: str) -> None:
    """Is a 200-term sum, difference or product read (a chain, not a nesting)?"""
    terms = [f"(m+{k})" for k in range(200)]
    expr = parse_student(op.join(terms), SYMBOLS)
    m = SYMBOLS["m"]
    expected = {"+": sympy.Add(*(m + k for k in range(200))),
                "-": m - sympy.Add(*(m + k for k in range(1, 200))),
                "*": sympy.Mul(*(m + k for k in range(200)))}[op]
    assert sympy.simplify(expr - expected) == 0


def test_unknown_name_lists_the_allowed_names() -> None:
    """Does an unknown symbol say which name is wrong and which names are allowed?"""
    with pytest.raises(UnknownNameError) as info:
        parse_student("q + m", SYMBOLS)
    err = info.value
    assert err.name == "q" and set(SYMBOLS) <= set(err.allowed)
    assert "'q'" in err.message and all(name in err.message for name in SYMBOLS)


def test_caret_points_under_the_problem() -> None:
    """Does caret() render the text with a ^ under the bad column (in the student's own text)?"""
    with pytest.raises(ParseError) as info:
        parse_student("m/", SYMBOLS)
    assert info.value.caret() == "m/\n  ^"
    assert str(info.value).endswith("m/\n  ^")
    with pytest.raises(UnknownNameError) as info2:
        parse_student("(m/m_l)^(d/(d−2)) + z", SYMBOLS)
    assert info2.value.caret().splitlines()[1] == " " * 20 + "^"


def test_errors_survive_pickling() -> None:
    """Can an AnswerError cross a process boundary with its details intact?"""
    with pytest.raises(UnknownNameError) as info:
        parse_student("q", SYMBOLS)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (type(copy), copy.message, copy.col, copy.name) == (
        UnknownNameError, info.value.message, 0, "q")


def test_functions_argument_limits_what_may_be_called() -> None:
    """Does functions=... restrict the callable names, and reject unsupported entries?"""
    assert "exp" in DEFAULT_FUNCTIONS and "Eq" in DEFAULT_FUNCTIONS
    with pytest.raises(UnknownNameError):
        parse_student("exp(m)", SYMBOLS, functions={"log"})
    assert parse_student("m = d", SYMBOLS, functions=()) == Eq(m, d)
    with pytest.raises(ValueError):
        parse_student("m", SYMBOLS, functions={"eval"})


ROUND_TRIP = [
    LAMBDA, Eq(lam, LAMBDA), Float("4.0889942430000"), Float(3, precision=100), Rational(1, 2),
    Rational(-7, 3), pi, exp(m) * log(m_l), [], [m, 1, 2.5], (m, d), Tuple(m, 1), sympy.zoo,
    sympy.nan, -sympy.oo, sympy.true, sympy.EmptySet, sympy.FiniteSet(1, m), sympy.sqrt(d) - i,
    sympy.Abs(m - d), sympy.Integer(-5),
]


@pytest.mark.parametrize("expr", ROUND_TRIP, ids=lambda e: srepr(e)[:40])
def test_srepr_round_trip(expr: object) -> None:
    """Does parse_srepr(srepr(e)) give back e exactly?"""
    got = parse_srepr(srepr(expr), SYMBOLS)
    assert got == expr or (expr is sympy.nan and got is sympy.nan)
    assert type(got) is type(expr) or isinstance(expr, sympy.Basic)


def test_student_symbols_map_to_canonical_ones() -> None:
    """Do a student's assumption-free Symbols come back as the grader's symbols?"""
    sm, sml, sd = Symbol("m"), Symbol("m_l"), Symbol("d")
    student = (sm / sml) ** (sd / (sd - 2))
    assert student != LAMBDA
    assert parse_srepr(srepr(student), SYMBOLS) == LAMBDA
    assert parse_srepr(srepr(Symbol("λ")), SYMBOLS) is lam


HOSTILE = [
    ("__import__('os').system('x')", ForbiddenConstructError),
    ("Symbol('m').__class__", ForbiddenConstructError),
    ("Function('f')(Symbol('m'))", UnknownNameError),
    ("Symbol(1)", ForbiddenConstructError),
    ("Symbol('q')", UnknownNameError),
    ("Symbol('m', positive=print)", ForbiddenConstructError),
    ("Integer('9'*60)", ForbiddenConstructError),
    (f"Integer({'9' * 60})", TooLargeError),
    ("Pow(Integer(10), Pow(Integer(10), Integer(10)))", TooLargeError),
    ("Pow(Pow(Integer(2), Integer(1000)), Integer(1000))", TooLargeError),
    ("Float('1.0', precision=10**9)", ForbiddenConstructError),
    ("Float('1.0', precision=100000000)", TooLargeError),
    ("Dummy('x', dummy_index=1)", UnknownNameError),
    ("Lambda(Symbol('m'), Symbol('m'))", UnknownNameError),
    ("S.EmptySet", ForbiddenConstructError),
    ("Add(Symbol('m'), true)", AnswerError),
    ("None", ForbiddenConstructError),
    ("'m'", ForbiddenConstructError),
    ("Symbol('m', **{'a': 1})", ForbiddenConstructError),
    ("Pow(" * 100 + "Integer(1)" + ")" * 100, TooLargeError),
    ("Add(Symbol('m'), Integer(1)", ParseError),
]


@pytest.mark.parametrize(("text", "error"), HOSTILE)
def test_hostile_srepr_is_rejected_quickly(text: str, error: type[AnswerError]) -> None:
    """Is each malicious or unsupported srepr rejected with the right class, without hanging?"""
    start = time.perf_counter()
    with pytest.raises(error):
        parse_srepr(text, SYMBOLS)
    assert time.perf_counter() - start < 1.0


def test_srepr_function_error_names_the_function() -> None:
    """Does an undefined Function('f') name 'f' in the error?"""
    with pytest.raises(UnknownNameError) as info:
        parse_srepr("Function('f')(Symbol('m'))", SYMBOLS)
    assert info.value.name == "f" and "exp" in info.value.allowed


MATHS = "mdbl_a()+-*/^=.,0123456789eE jx[]'\"λπ−²"


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(alphabet=MATHS, max_size=40)))
def test_random_text_only_raises_answer_errors(text: str) -> None:
    """Does any random string either parse or raise an AnswerError (never another exception)?"""
    try:
        result = parse_student(text, SYMBOLS)
    except AnswerError as err:
        assert err.message
    else:
        assert isinstance(result, sympy.Basic)


SREPR_PIECES = ["Symbol('m')", "Integer(2)", "Integer(-1)", "Pow(", "Mul(", "Add(", ", ", ")",
                "Rational(1, 2)", "Float('2.5', precision=53)", "pi", "zoo", "[", "]", "exp(",
                "Symbol('q')", "Equality(", "-", "true", "Tuple(", "x", ".", "'"]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(SREPR_PIECES), max_size=25)))
def test_random_srepr_only_raises_answer_errors(pieces: str | list[str]) -> None:
    """Does any random srepr-like text either parse or raise an AnswerError?"""
    text = pieces if isinstance(pieces, str) else "".join(pieces)
    try:
        parse_srepr(text, SYMBOLS)
    except AnswerError as err:
        assert err.message
