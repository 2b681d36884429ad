"""Tests for the numpy reference kernels in ``solutions.rope``.

``apply_rope`` is checked against two independent references written here -- explicit 2x2
rotation matrices applied pair by pair in a Python loop, and the complex form
``(x0 + 1j*x1) * e^{1j*p*theta}`` -- plus property tests and direct float64/mpmath evaluation
of the rotation table.

Tolerances (absolute, for inputs of size ~1 and angles below ~2000 rad):
float64 1e-12, float32 1e-5, float16 4e-3.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from solutions.rope import _rotation_table, apply_rope, rope_angles, rope_frequencies
from solutions.scaling import (
    ntk_scaled_base,
    ntk_scaling_factor,
    position_interpolation,
    wavelengths,
)

TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5, np.float16: 4e-3}
LAYOUTS = ("interleaved", "half")
PROPERTY = settings(max_examples=30, deadline=None)


# ---------------------------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------------------------
def _pair_indices(dim: int, layout: str) -> list[tuple[int, int]]:
    half = dim // 2
    if layout == "interleaved":
        return [(2 * k, 2 * k + 1) for k in range(half)]
    return [(k, k + half) for k in range(half)]


def rotate_by_matrices(x, positions, base, layout):
    """Python loop over every vector and pair, applying [[cos, -sin], [sin, cos]]."""
    x64 = np.asarray(x, dtype=np.float64)
    dim = x64.shape[-1]
    out = np.empty_like(x64)
    for index in np.ndindex(*x64.shape[:-1]):
        position = float(positions[index[-1]])
        for k, (a, c) in enumerate(_pair_indices(dim, layout)):
            angle = position * base ** (-2.0 * k / dim)
            rotation = np.array(
                [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
            )
            out[(*index, a)], out[(*index, c)] = rotation @ [x64[(*index, a)], x64[(*index, c)]]
    return out


def rotate_by_complex(x, positions, base, layout):
    """(x_a + 1j*x_c) * exp(1j*p*theta_k) for the pairs (a, c) of the layout."""
    x64 = np.asarray(x, dtype=np.float64)
    dim = x64.shape[-1]
    pairs = np.array(_pair_indices(dim, layout))
    theta = np.array([base ** (-2.0 * k / dim) for k in range(dim // 2)])
    z = x64[..., pairs[:, 0]] + 1j * x64[..., pairs[:, 1]]
    z = z * np.exp(1j * np.asarray(positions, dtype=np.float64)[:, None] * theta)
    out = np.empty_like(x64)
    out[..., pairs[:, 0]], out[..., pairs[:, 1]] = z.real, z.imag
    return out


def _assert_close(actual, expected, dtype):
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype] * scale)


def _interleaved_to_half(dim: int) -> np.ndarray:
    """Index array: half-layout coordinate j holds interleaved coordinate perm[j]."""
    return np.concatenate([np.arange(0, dim, 2), np.arange(1, dim, 2)])


POSITION_CASES = {
    "from zero": np.arange(6.0),
    "offset start": np.arange(37, 43),
    "interpolated 4x": position_interpolation(np.arange(6), 16384, 4096),
    "interpolated 2.44x": position_interpolation(np.arange(100, 106), 10000, 4096),
    "irregular": np.array([3.25, -7.0, 1000.5, 0.0, 12.75, 511.0]),
}


# ---------------------------------------------------------------------------------------------
# apply_rope against the references
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", list(POSITION_CASES))
def test_apply_rope_matches_rotation_matrices(dtype, layout, case):
    """Does apply_rope rotate every pair as explicit 2x2 rotation matrices do?"""
    positions = POSITION_CASES[case]
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 16)).astype(dtype)
    out = apply_rope(x, positions, base=500.0, layout=layout)
    assert out.dtype == dtype and out.shape == x.shape
    _assert_close(out, rotate_by_matrices(x, positions, 500.0, layout), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", list(POSITION_CASES))
def test_apply_rope_matches_complex_form(dtype, layout, case):
    """Does apply_rope equal (x_a + 1j*x_c) * e^{1j*p*theta} on longer sequences?"""
    base_positions = POSITION_CASES[case]
    positions = np.concatenate([base_positions + 6 * k for k in range(300)])  # 1800 positions
    if case == "interpolated 4x":
        positions = position_interpolation(np.arange(1800), 16384, 4096)
    x = np.random.default_rng(2).standard_normal((4, positions.size, 64)).astype(dtype)
    out = apply_rope(x, positions, layout=layout)
    _assert_close(out, rotate_by_complex(x, positions, 10000.0, layout), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_apply_rope_handles_strided_views(layout):
    """Does apply_rope give the same result for transposed, sliced and Fortran-ordered input?"""
    rng = np.random.default_rng(3)
    positions = np.arange(5, 17)
    views = {
        "swapped axes": np.swapaxes(rng.standard_normal((12, 3, 32)), 0, 1),
        "every other row": rng.standard_normal((3, 24, 32))[:, ::2, :],
        "strided last axis": rng.standard_normal((3, 12, 64))[..., ::2],
        "fortran order": np.asfortranarray(rng.standard_normal((3, 12, 32))),
        "float32 swapped": np.swapaxes(rng.standard_normal((12, 3, 32)), 0, 1).astype(np.float32),
        "big-endian": rng.standard_normal((3, 12, 32)).astype(">f8"),
    }
    for name, x in views.items():
        dtype = np.float32 if x.dtype == np.float32 else np.float64
        out = apply_rope(x, positions, layout=layout)
        assert out.dtype == x.dtype.newbyteorder("="), name
        _assert_close(out, rotate_by_complex(x, positions, 10000.0, layout), dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_apply_rope_leaves_input_unmodified(layout, dtype):
    """Does apply_rope leave its input unmodified and return a fresh array of the same dtype?"""
    x = np.random.default_rng(4).standard_normal((2, 8, 16)).astype(dtype)
    before = x.copy()
    out = apply_rope(x, np.arange(8) + 3, layout=layout)
    assert np.array_equal(x, before)
    assert out.dtype == dtype
    assert not np.shares_memory(out, x)


def test_apply_rope_computes_angles_in_float64():
    """Are float32 inputs at large positions rotated with float64 angles?"""
    positions = 1_000_000 + np.arange(64)  # float32 angles here would be off by ~0.03 rad
    x = np.random.default_rng(5).standard_normal((64, 32)).astype(np.float32)
    out = apply_rope(x, positions)
    _assert_close(out, rotate_by_complex(x, positions, 10000.0, "interleaved"), np.float32)


def test_apply_rope_accepts_huge_finite_values():
    """Are huge but finite values (whose row sums overflow) accepted and rotated correctly?"""
    x = np.full((2, 4, 8), 1e38, dtype=np.float32)
    out = apply_rope(x, np.arange(4))
    assert np.isfinite(out).all()
    ref = rotate_by_complex(x, np.arange(4), 10000.0, "interleaved")
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_apply_rope_on_empty_sequence():
    """Does an empty sequence give an empty result of the same shape and dtype?"""
    x = np.zeros((2, 0, 8), dtype=np.float32)
    out = apply_rope(x, np.zeros(0))
    assert out.shape == (2, 0, 8) and out.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# The angle-addition table
# ---------------------------------------------------------------------------------------------
def test_angle_addition_table_matches_direct_evaluation():
    """Is the table within 1e-12 of direct cos/sin for seq = 16384, d = 128?

    Direct float64 evaluation rounds p*theta by up to half an ulp of 16384 (9.1e-13); the
    table itself is exact to ~1e-16 (next test), so the two differ by at most ~9.1e-13.
    """
    positions = np.arange(16384)
    table = _rotation_table(positions, 128)
    angles = np.outer(positions.astype(np.float64), rope_frequencies(128))
    assert table.shape == (16384, 64)
    assert np.max(np.abs(table.real - np.cos(angles))) <= 1e-12
    assert np.max(np.abs(table.imag - np.sin(angles))) <= 1e-12


@pytest.mark.parametrize(
    "positions",
    [
        np.arange(16384),
        position_interpolation(np.arange(16384), 16384, 4096),
        5 + 3 * np.arange(900),
    ],
    ids=["integers", "interpolated", "offset step 3"],
)
def test_angle_addition_table_is_exact_to_rounding(positions):
    """Does the table agree with 30-digit mpmath values to 1e-14 on sampled entries?"""
    table = _rotation_table(positions, 128)
    theta = rope_frequencies(128)
    rng = np.random.default_rng(6)
    rows = np.concatenate([[0, positions.size - 1], rng.integers(0, positions.size, 150)])
    cols = np.concatenate([[0, 63], rng.integers(0, 64, 150)])
    with mpmath.workdps(30):
        for row, col in zip(rows, cols, strict=True):
            exact = mpmath.expj(mpmath.mpf(float(positions[row])) * mpmath.mpf(float(theta[col])))
            assert abs(complex(exact) - table[row, col]) <= 1e-14, (row, col)


def test_irregular_positions_use_direct_evaluation():
    """Do irregular positions give exactly the direct cos/sin table (up to 1 ulp)?"""
    positions = np.random.default_rng(7).uniform(-5000, 5000, 3000)
    table = _rotation_table(positions, 64)
    direct = np.exp(1j * np.outer(positions, rope_frequencies(64)))
    assert np.max(np.abs(table - direct)) <= 1e-15


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------
def _vectors(dim_pairs: int, seq: int):
    return hnp.arrays(
        np.float64,
        (seq, 2 * dim_pairs),
        elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False),
    )


positions_strategy = st.floats(-5000, 5000, allow_nan=False, allow_infinity=False)


@PROPERTY
@given(
    data=st.data(),
    dim_pairs=st.integers(1, 16),
    seq=st.integers(1, 6),
    layout=st.sampled_from(LAYOUTS),
)
def test_rotation_preserves_pair_norms(data, dim_pairs, seq, layout):
    """Does every rotated pair keep its length (so every vector keeps its norm)?"""
    x = data.draw(_vectors(dim_pairs, seq))
    positions = np.array(data.draw(st.lists(positions_strategy, min_size=seq, max_size=seq)))
    out = apply_rope(x, positions, layout=layout)
    pairs = np.array(_pair_indices(2 * dim_pairs, layout))
    norm_in = np.hypot(x[:, pairs[:, 0]], x[:, pairs[:, 1]])
    norm_out = np.hypot(out[:, pairs[:, 0]], out[:, pairs[:, 1]])
    np.testing.assert_allclose(norm_out, norm_in, rtol=1e-13, atol=1e-13)


@PROPERTY
@given(data=st.data(), dim_pairs=st.integers(1, 16), layout=st.sampled_from(LAYOUTS))
def test_position_zero_is_the_identity(data, dim_pairs, layout):
    """Is a vector at position 0 left as it is?"""
    x = data.draw(_vectors(dim_pairs, 3))
    out = apply_rope(x, np.zeros(3), layout=layout)
    np.testing.assert_allclose(out, x, rtol=1e-15, atol=0)


@PROPERTY
@given(
    data=st.data(),
    dim_pairs=st.integers(1, 16),
    p=positions_strategy,
    r=positions_strategy,
    shift=positions_strategy,
    layout=st.sampled_from(LAYOUTS),
)
def test_scores_depend_only_on_relative_position(data, dim_pairs, p, r, shift, layout):
    """Is <R_p q, R_r k> unchanged when both positions move by the same shift?"""
    q, k = data.draw(_vectors(dim_pairs, 2))
    score = apply_rope(q[None], [p], layout=layout)[0] @ apply_rope(k[None], [r], layout=layout)[0]
    moved = (
        apply_rope(q[None], [p + shift], layout=layout)[0]
        @ apply_rope(k[None], [r + shift], layout=layout)[0]
    )
    scale = max(1.0, float(np.linalg.norm(q) * np.linalg.norm(k)))
    assert abs(score - moved) <= 1e-10 * scale


@PROPERTY
@given(data=st.data(), dim_pairs=st.integers(1, 16), seq=st.integers(1, 6))
def test_layouts_agree_up_to_a_permutation(data, dim_pairs, seq):
    """Does the half layout on permuted coordinates give the permuted interleaved result?"""
    dim = 2 * dim_pairs
    x = data.draw(_vectors(dim_pairs, seq))
    positions = np.array(data.draw(st.lists(positions_strategy, min_size=seq, max_size=seq)))
    perm = _interleaved_to_half(dim)  # half index i <- 2i, i + d/2 <- 2i + 1
    interleaved = apply_rope(x, positions, layout="interleaved")
    half = apply_rope(x[:, perm], positions, layout="half")
    np.testing.assert_allclose(half, interleaved[:, perm], rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
X = np.zeros((2, 4, 8))
P = np.arange(4)

ERROR_CASES = {
    "odd d": (lambda: rope_frequencies(127), "even"),
    "zero d": (lambda: rope_frequencies(0), "positive even integer"),
    "negative d": (lambda: wavelengths(-4), "positive even integer"),
    "non-integer d": (lambda: rope_frequencies(128.5), "integer"),
    "boolean d": (lambda: rope_frequencies(True), "boolean"),
    "zero base": (lambda: rope_frequencies(128, base=0), "base must be positive"),
    "negative base": (lambda: wavelengths(128, base=-10.0), "base must be positive"),
    "nan base": (lambda: rope_frequencies(128, base=float("nan")), "base must be finite"),
    "inf base": (lambda: apply_rope(X, P, base=float("inf")), "base must be finite"),
    "boolean base": (lambda: rope_frequencies(128, base=True), "boolean"),
    "string base": (lambda: rope_frequencies(128, base="10000"), "real number"),
    "d = 2 for lambda": (lambda: ntk_scaling_factor(16384, 4096, 2), "single rotary pair"),
    "d = 2 for base": (lambda: ntk_scaled_base(1e4, 16384, 4096, 2), "theta_0 = base\\*\\*0 = 1"),
    "odd d for lambda": (lambda: ntk_scaling_factor(16384, 4096, 127), "even"),
    "zero m": (lambda: ntk_scaling_factor(0, 4096, 128), "m must be positive"),
    "negative m_l": (lambda: ntk_scaling_factor(16384, -1, 128), "m_l must be positive"),
    "boolean m": (lambda: ntk_scaling_factor(True, 4096, 128), "boolean"),
    "nan m_l": (lambda: position_interpolation(P, 16384, float("nan")), "m_l must be finite"),
    "zero base for NTK": (lambda: ntk_scaled_base(0.0, 16384, 4096, 128), "base must be positive"),
    "2-D positions": (lambda: position_interpolation([[0, 1]], 2, 1), r"shape \(seq,\)"),
    "integer x": (lambda: apply_rope(np.zeros((4, 8), int), P), "cast x to float32 or float64"),
    "boolean x": (lambda: apply_rope(np.zeros((4, 8), bool), P), "cast x to float32 or float64"),
    "complex x": (lambda: apply_rope(np.zeros((4, 8), complex), P), "complex"),
    "1-D x": (lambda: apply_rope(np.zeros(8), P), r"at least 2 axes, got shape \(8,\)"),
    "odd last axis": (lambda: apply_rope(np.zeros((4, 7)), P), "even"),
    "short positions": (
        lambda: apply_rope(X, np.arange(5)),
        r"positions has shape \(5,\) but x has shape \(2, 4, 8\)",
    ),
    "2-D positions for rope": (lambda: apply_rope(X, np.zeros((4, 1))), r"shape \(seq,\)"),
    "boolean positions": (lambda: apply_rope(X, np.ones(4, bool)), "boolean"),
    "string positions": (lambda: rope_angles(["a", "b"], 8), "real numbers"),
    "nan position": (lambda: apply_rope(X, [0, 1, np.nan, 3]), "positions contain NaN"),
    "inf position": (lambda: rope_angles([0, np.inf], 8), "positions contain NaN or infinity"),
    "nan in x": (lambda: apply_rope(np.where(X == 0, np.nan, X), P), "x contains NaN"),
    "inf in x": (lambda: apply_rope(_poke(X, np.inf), P, layout="half"), "NaN or infinity"),
    "-inf in x": (lambda: apply_rope(_poke(X, -np.inf).astype(np.float32), P), "infinity"),
    "unknown layout": (lambda: apply_rope(X, P, layout="rotate_half"), "unknown layout"),
}


def _poke(x: np.ndarray, value: float) -> np.ndarray:
    poked = x.copy()
    poked[1, 2, 5] = value
    return poked


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_input_raises_value_error_with_reason(case):
    """Does each kind of bad input raise ValueError with a message that names the problem?"""
    call, message = ERROR_CASES[case]
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.skipif(np.dtype(np.longdouble) == np.float64, reason="longdouble is float64 here")
def test_long_double_is_refused():
    """Is an extended-precision x refused rather than silently rounded?"""
    with pytest.raises(ValueError, match="unsupported dtype"):
        apply_rope(np.zeros((4, 8), np.longdouble), P)
