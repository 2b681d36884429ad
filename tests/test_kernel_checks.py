"""Kernel checks: the student's function runs on probe inputs (as in their kernel), the
outputs are judged against the answer key, and known slips are named by their mutants."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader import capture, payload
from grader.items import REGISTRY
from grader.payload import UnsupportedAnswer
from grader.scoring import judge


def _roundtrip(answer):
    """Through JSON, exactly as a capture travels from the kernel to the grader."""
    return payload.from_json(json.loads(json.dumps(payload.to_json(answer), allow_nan=False)))


def _judge(item: str, fn):
    return judge(REGISTRY[item], _roundtrip(capture._capture(item, fn)))


# --- a few plain student-style implementations (independent of solutions/) -------------
def freqs(d, base=10000.0):
    return base ** (-2.0 * np.arange(d // 2) / d)


def rope(x, positions, base=10000.0, layout="interleaved", sign=1.0, shift=0,
         angles_in=np.float64):
    """A plain rotation; ``angles_in=np.float32`` is Hugging Face's way: frequencies and
    positions in float32, so the angles and their cos/sin are float32."""
    d = x.shape[-1]
    theta = (base ** (-2.0 * (np.arange(d // 2) + shift) / d)).astype(angles_in)
    ang = sign * np.asarray(positions, np.float64).astype(angles_in)[:, None] * theta
    cos, sin = np.cos(ang), np.sin(ang)
    if layout == "interleaved":
        a, b = x[..., 0::2], x[..., 1::2]
    else:
        a, b = x[..., : d // 2], x[..., d // 2:]
    out = np.empty_like(x)
    ra, rb = a * cos - b * sin, a * sin + b * cos
    if layout == "interleaved":
        out[..., 0::2], out[..., 1::2] = ra, rb
    else:
        out[..., : d // 2], out[..., d // 2:] = ra, rb
    return out


def rope_in_place(x, positions, base=10000.0):
    x[...] = rope(x, positions, base)
    return x


def rope_float64(x, positions, base=10000.0):
    return rope(x.astype(np.float64), positions, base)


def rope_raises(x, positions, base=10000.0):
    raise ValueError("not implemented yet")


def rope_nan(x, positions, base=10000.0):
    return rope(x, positions, base) * np.nan


def rope_wrong_shape(x, positions, base=10000.0):
    return rope(x, positions, base)[..., :-2]


def rope_list(x, positions, base=10000.0):
    return rope(x, positions, base).tolist()


def rope_ignores_positions(x, positions, base=10000.0):
    return rope(x, np.arange(x.shape[-2]), base)


def rope_ignores_positions_in_place(x, positions, base=10000.0):
    x[...] = rope(x, np.arange(x.shape[-2]), base)
    return x


def rope_complex_uncast(x, positions, base=10000.0):
    """Right for float64; a float32 x times a complex128 table is complex128, whose float32
    view has twice the width."""
    ct = np.complex64 if x.dtype == np.float32 else np.complex128
    table = np.exp(1j * np.outer(np.asarray(positions, np.float64), freqs(x.shape[-1], base)))
    return (np.ascontiguousarray(x).view(ct) * table).view(x.dtype)


def rope_float32_angles(x, positions, base=10000.0):
    return rope(x, positions, base, angles_in=np.float32)


def wavelengths(d, base=10000.0):
    return 2 * np.pi / freqs(d, base)


def _bisect(m, m_l, d, lo=1.0, hi=2.0, width=1e-12, grow=True):
    """find_lambda by bisection on wavelengths (plain numpy, the student's way)."""
    def g(lam):
        return wavelengths(d, lam * 1e4)[-1] - m / m_l * wavelengths(d, 1e4)[-1]
    while grow and g(lo) > 0:
        lo /= 2
    while grow and g(hi) < 0:
        hi *= 2
    while hi - lo > width * (hi if width < 1e-9 else 1.0):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    return float(0.5 * (lo + hi))


KERNEL_CASES = [
    ("apply_rope", lambda x, p, base=10000.0: rope(x, p, base), 1.0, "ok"),
    ("apply_rope", lambda x, p, base=10000.0: rope(x, p, base, "half"), 0.0, "other_layout"),
    ("apply_rope", lambda x, p, base=10000.0: rope(x, p, base, sign=-1.0), 0.0, "sin_sign"),
    ("apply_rope", lambda x, p, base=10000.0: rope(x, p, base, shift=1), 0.0, "one_based_index"),
    ("apply_rope", rope_in_place, 0.5, "modified_input"),
    ("apply_rope", rope_float64, 0.5, "wrong_dtype"),
    ("apply_rope", rope_raises, 0.0, "exception"),
    ("apply_rope", rope_nan, 0.0, "non_finite"),
    ("apply_rope", rope_wrong_shape, 0.0, "wrong_shape"),
    ("apply_rope", rope_list, 0.0, "wrong_type"),
    ("apply_rope", rope_ignores_positions, 0.0, "wrong_values"),
    # a wrong result outweighs the modified input: no half points for the modification
    ("apply_rope", rope_ignores_positions_in_place, 0.0, "wrong_values"),
    # right on every float64 probe (at least half of them): half the points, whatever the slip
    ("apply_rope", rope_complex_uncast, 0.5, "wrong_shape"),
    ("apply_rope", 42, 0.0, "wrong_type"),
    ("apply_rope_half", lambda x, p, base=10000.0: rope(x, p, base, "half"), 1.0, "ok"),
    ("apply_rope_half", lambda x, p, base=10000.0: rope(x, p, base), 0.0, "other_layout"),
    ("apply_rope_half", lambda x, p, base=10000.0: rope(x, p, base, "half", -1.0), 0.0, "sin_sign"),
    ("rope_frequencies", freqs, 1.0, "ok"),
    # Hugging Face's float32 frequencies: right to float32's digits only
    ("rope_frequencies", lambda d, base=10000.0: 1.0 / (
        base ** (np.arange(0, d, 2, dtype=np.float32) / d)), 0.5, "float32_precision"),
    ("rope_frequencies", lambda d, base=10000.0: base ** (-2.0 * np.arange(1, d // 2 + 1) / d),
     0.0, "one_based_index"),
    ("rope_frequencies", lambda d, base=10000.0: base ** (-1.0 * np.arange(d // 2) / d), 0.0,
     "missing_factor_2"),
    ("rope_frequencies", lambda d, base=10000.0: base ** (2.0 * np.arange(d // 2) / d), 0.0,
     "period_not_frequency"),
    ("rope_frequencies", lambda d, base=10000.0: base ** (-2.0 * np.arange(d) / d), 0.0,
     "wrong_shape"),
    ("rope_angles", lambda p, d, base=10000.0: np.outer(p, freqs(d, base)), 1.0, "ok"),
    ("rope_angles", lambda p, d, base=10000.0: np.outer(freqs(d, base), p), 0.0, "transposed"),
    ("wavelengths", lambda d, base=10000.0: 2 * np.pi / freqs(d, base), 1.0, "ok"),
    ("wavelengths", lambda d, base=10000.0: 1 / freqs(d, base), 0.0, "missing_2pi"),
    ("wavelengths", lambda d, base=10000.0: 2 * np.pi * freqs(d, base), 0.0, "frequency_not_period"),
    ("position_interpolation", lambda p, m, m_l: np.asarray(p) * m_l / m, 1.0, "ok"),
    ("position_interpolation", lambda p, m, m_l: np.asarray(p) * m / m_l, 0.0, "pi_inverted"),
    ("ntk_scaled_base", lambda base, m, m_l, d: base * (m / m_l) ** (d / (d - 2)), 1.0, "ok"),
    ("ntk_scaled_base", lambda base, m, m_l, d: base * m / m_l, 0.0, "pi_factor"),
    ("ntk_scaled_base", lambda base, m, m_l, d: (m / m_l) ** (d / (d - 2)), 0.0, "missing_base"),
    ("ntk_scaled_base", lambda base, m, m_l, d: base * (m / m_l) ** ((d - 2) / d), 0.0,
     "inverted_exponent"),
    # right values, but not found from wavelengths (there is none here to swap)
    ("find_lambda", lambda m, m_l, d: (m / m_l) ** (d / (d - 2)), 0.5, "not_from_wavelengths"),
    ("find_lambda", lambda m, m_l, d: (m_l / m) ** (d / (d - 2)), 0.0, "matched_frequency"),
    ("interleaved_to_half", lambda d: np.r_[0:d:2, 1:d:2], 1.0, "ok"),
    ("interleaved_to_half", lambda d: np.argsort(np.r_[0:d:2, 1:d:2]), 0.0, "inverse_permutation"),
    # an index list or tuple is a valid permutation (x[..., perm] accepts it)
    ("interleaved_to_half", lambda d: list(range(0, d, 2)) + list(range(1, d, 2)), 1.0, "ok"),
    ("interleaved_to_half", lambda d: tuple(range(0, d, 2)) + tuple(range(1, d, 2)), 1.0, "ok"),
    ("interleaved_to_half", lambda d: list(range(1, d, 2)) + list(range(0, d, 2)), 0.0,
     "wrong_values"),
    ("apply_rope", lambda x, p, base=10000.0: list(range(x.shape[-1])), 0.0, "wrong_type"),
    # floor division passes whole ratios only: a probe with m/m_l = 1.5 catches it
    ("ntk_scaled_base", lambda base, m, m_l, d: base * (m // m_l) ** (d / (d - 2)), 0.5,
     "wrong_values"),
    ("rope_score", lambda q, k, p, r, base=10000.0: float(
        rope(q[None], [p], base)[0] @ rope(k[None], [r], base)[0]), 1.0, "ok"),
    # float32 angles: half, named; the values are off by float32 rounding, not by a slip
    ("apply_rope", rope_float32_angles, 0.5, "float32_angles"),
    ("apply_rope_half", lambda x, p, base=10000.0: rope(x, p, base, "half",
                                                        angles_in=np.float32),
     0.5, "float32_angles"),
    # find_lambda must agree to 1e-10, as the notebook says; its bracket must grow
    ("find_lambda", _bisect, 1.0, "ok"),
    ("find_lambda", lambda m, m_l, d: _bisect(m, m_l, d, width=1e-8), 0.0, "wrong_values"),
    ("find_lambda", lambda m, m_l, d: _bisect(m, m_l, d, 1.0, 100.0, grow=False), 0.5,
     "wrong_values"),
    # whole ratios only (m // m_l): the probe with m/m_l = 1.5 catches it
    ("position_interpolation", lambda p, m, m_l: np.asarray(p) / (m // m_l), 0.5,
     "wrong_values"),
    # a float32 result for float64 input is a different slip (its own message)
    ("apply_rope", lambda x, p, base=10000.0: rope(x, p, base).astype(np.float32), 0.5,
     "float32_precision"),
]


@pytest.mark.parametrize(("item", "fn", "fraction", "tag"), KERNEL_CASES,
                         ids=[f"{c[0]}:{c[3]}" for c in KERNEL_CASES])
def test_kernel_mutants(item: str, fn, fraction: float, tag: str) -> None:
    """Does each implementation earn its expected share, with the tag of its slip?"""
    j = _judge(item, fn)
    assert (j.fraction, j.tag) == (fraction, tag), j.message


def test_the_release_stub_is_not_answered() -> None:
    """A function that still raises NotImplementedError is missing, not an exception."""
    def stub(x, positions, base=10000.0):
        raise NotImplementedError()

    j = _judge("apply_rope", stub)
    assert (j.fraction, j.tag, j.verdict.value) == (0.0, "missing", "missing")
    assert "still raises NotImplementedError" in j.message


def test_a_name_defined_later_is_explained() -> None:
    """ntk_scaled_base calling find_lambda, which the notebook defines further down: when the
    grader calls it the name does not exist yet, and the feedback says why."""
    space: dict = {}
    exec("def ntk_scaled_base(base, m, m_l, d):\n    return base * find_lambda(m, m_l, d)",
         space)
    j = _judge("ntk_scaled_base", space["ntk_scaled_base"])
    assert (j.fraction, j.tag) == (0.0, "exception")
    assert "find_lambda must be defined in an earlier cell" in j.message


def test_float32_angles_are_told_apart_from_a_small_real_slip() -> None:
    """A float64 base off by one part in a million is as close to the key at small positions
    as float32 angles are, but not near 16384: wrong values, not float32_angles."""
    j = _judge("apply_rope", lambda x, p, base=10000.0: rope(x, p, base * (1 + 1e-6)))
    assert j.tag == "wrong_values", j.message


def test_a_wrong_result_names_the_modified_input_too() -> None:
    j = _judge("apply_rope", rope_ignores_positions_in_place)
    assert j.detail == "3/10 probes passed"  # only the three at positions 0..seq-1 are right
    assert "Also: Your function changed its input array in place." in j.message


def test_patching_numpys_comparisons_does_not_hide_an_in_place_change(monkeypatch) -> None:
    """A notebook that makes np.array_equal (and friends) always say "equal", as a student's
    kernel can, still has its in-place kernel found out: the snapshot uses ndarray's methods."""
    import copy

    for name in ("array_equal", "array_equiv", "allclose"):
        monkeypatch.setattr(np, name, lambda *a, **k: True)
    monkeypatch.setattr(copy, "deepcopy", lambda a, *_: a)
    j = _judge("apply_rope", rope_in_place)
    assert (j.fraction, j.tag) == (0.5, "modified_input")


def test_exception_message_leaks_no_internals() -> None:
    """Does the feedback for a raising function show the student's error but no grader code?"""
    j = _judge("apply_rope", rope_raises)
    assert "ValueError: not implemented yet" in j.message
    assert "grader" not in j.message and "solutions" not in j.message and "File " not in j.message


def test_partial_failure_names_the_input() -> None:
    """Does a kernel that fails only on non-contiguous input get half, with the input named?"""
    def contiguous_only(x, positions, base=10000.0):
        if not x.flags.c_contiguous:
            raise ValueError("needs contiguous input")
        return rope(x, positions, base)

    j = _judge("apply_rope", contiguous_only)
    assert (j.fraction, j.tag) == (0.5, "exception")
    assert "non-contiguous" in j.message


def test_capture_of_a_non_function() -> None:
    """Is a non-callable answer for a kernel item captured as unsupported, not called?"""
    assert isinstance(capture._capture("apply_rope", 3), UnsupportedAnswer)


def test_scalar_outputs_survive_the_trip() -> None:
    """Does a float-returning function's 0-d output keep its shape through JSON?"""
    answer = _roundtrip(capture._capture("ntk_scaled_base", lambda b, m, m_l, d: 1.0))
    assert all(c.output.shape == () for c in answer.calls)


def test_a_slip_that_gives_the_keys_values_or_only_raises_is_never_named() -> None:
    """A mutant equal to the key everywhere (or raising everywhere) tells nothing apart: the
    right angles from a function that changes its input are modified_input, and a function
    that raises ValueError on every probe is an exception, not one of those slips."""
    from grader.kernels import KernelCheck, Mutant
    from grader.symbolic import Misconception

    def angles(p, d, base=10000.0):
        return np.outer(p, freqs(d, base))

    def in_place(p, d, base=10000.0):
        out = angles(p, d, base)
        p += 1.0
        return out

    def raises(p, d, base=10000.0):
        raise ValueError("no")

    check = KernelCheck(angles, "hint", (Mutant(Misconception("same", "same"), angles),
                                         Mutant(Misconception("raising", "raising"), raises)))
    answer = _roundtrip(capture._capture("rope_angles", in_place))
    assert check.judge(answer, "rope_angles", {}).tag == "modified_input"
    assert check.shows(answer, "rope_angles", "same")
    answer = _roundtrip(capture._capture("rope_angles", raises))
    assert check.judge(answer, "rope_angles", {}).tag == "exception"
    # nor is it carried: raising everywhere is what a stub does too
    assert not check.shows(answer, "rope_angles", "raising")
    assert not check.shows(answer, "rope_angles", "same")


def test_a_table_cached_under_too_little_of_the_positions_is_stale() -> None:
    """A kernel that caches its table under the positions' length and first value (not the
    positions) is right on every call but the one that reuses them with another spacing:
    half the points, and the probe is named."""
    cache: dict = {}

    def cached_rope(x, positions, base=10000.0):
        p = np.asarray(positions, np.float64)
        d = x.shape[-1]
        theta = base ** (-2.0 * np.arange(d // 2) / d)
        ang = cache.setdefault((len(p), p[0], d, base), p[:, None] * theta)
        out = np.empty_like(x)
        a, b = x[..., 0::2], x[..., 1::2]
        out[..., 0::2] = a * np.cos(ang) - b * np.sin(ang)
        out[..., 1::2] = a * np.sin(ang) + b * np.cos(ang)
        return out

    j = _judge("apply_rope", cached_rope)
    assert (j.fraction, j.tag) == (0.5, "wrong_values"), j.message
    assert "a cached table?" in j.message


def test_a_result_cached_under_anything_but_x_is_stale() -> None:
    """A kernel that caches its output under x's shape and dtype, the positions and the base
    (not x's values) is right until it sees another x of the same shape: half the points,
    and the probe is named."""
    cache: dict = {}

    def cached_result(x, positions, base=10000.0):
        p = np.asarray(positions, np.float64)
        key = (x.shape, x.dtype.str, p.tobytes(), base)
        if key not in cache:
            cache[key] = rope(x, p, base)
        return cache[key].copy()

    j = _judge("apply_rope", cached_result)
    assert (j.fraction, j.tag, j.detail) == (0.5, "wrong_values", "9/10 probes passed")
    assert "(a cached result?)" in j.message


def test_a_table_that_assumes_evenly_spaced_positions_is_found_out() -> None:
    """Building the angles from the first position and the first spacing (p0 + k*step) is
    right on every progression; positions 0, 1, 3, 7, 8.5, 20 show it: half the points."""
    def progression(x, positions, base=10000.0):
        p = np.asarray(positions, np.float64)
        step = p[1] - p[0] if len(p) > 1 else 0.0
        return rope(x, p[0] + step * np.arange(len(p)), base)

    j = _judge("apply_rope", progression)
    assert (j.fraction, j.tag, j.detail) == (0.5, "wrong_values", "9/10 probes passed")
    assert "not evenly spaced" in j.message


def test_a_wrong_type_is_told_what_to_return() -> None:
    """A scalar item asks for a float, an array item for an array; a float subclass is
    neither (its comparisons could lie)."""
    class LiarFloat(float):
        pass

    j = _judge("ntk_scaled_base", lambda b, m, m_l, d: LiarFloat(b * (m / m_l) ** (d / (d - 2))))
    assert (j.fraction, j.tag) == (0.0, "wrong_type")
    assert j.message.startswith("Your function returned a LiarFloat; return a float.")
    j = _judge("apply_rope", lambda x, p, base=10000.0: "rotated")
    assert j.message.startswith("Your function returned a str; return a numpy array.")
    # the right value as a 0-d array: half (the notebook asks for a float); np.float64 is one
    key = lambda b, m, m_l, d: b * (m / m_l) ** (d / (d - 2))  # noqa: E731
    j = _judge("ntk_scaled_base", lambda *a: np.array(key(*a)))
    assert (j.fraction, j.tag) == (0.5, "array_not_float")
    assert _judge("ntk_scaled_base", lambda *a: np.float64(key(*a))).fraction == 1.0


def test_a_complex_result_is_told_to_view_back_to_real_pairs() -> None:
    """The product of the complex view, returned without .view(x.dtype), is an array of
    complex numbers: the feedback says so (not "return a numpy array")."""
    def complex_result(x, positions, base=10000.0):
        d = x.shape[-1]
        table = np.exp(1j * np.outer(np.asarray(positions, np.float64), freqs(d, base)))
        return np.ascontiguousarray(x, np.float64).view(np.complex128) * table

    j = _judge("apply_rope", complex_result)
    assert (j.fraction, j.tag) == (0.0, "wrong_type")
    assert j.message.startswith("Your function returned an array of complex128; return real "
                                "numbers (a complex product goes back to real pairs with "
                                ".view(x.dtype)).")
