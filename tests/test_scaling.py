"""Tests for the frequencies, wavelengths, position interpolation and NTK-aware scaling of the
answer key (``solutions.rope``, ``solutions.scaling``), against the book's formulas written
out here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from solutions.rope import rope_angles, rope_frequencies
from solutions.scaling import (
    ntk_scaled_base,
    ntk_scaling_factor,
    position_interpolation,
    wavelengths,
)


def test_frequencies_follow_the_book_formula():
    """Is theta_i = b**(-2i/d) for i = 0..d/2-1, i.e. the book's theta_k with k = i + 1?"""
    book = [10000.0 ** (-2 * (k - 1) / 128) for k in range(1, 65)]
    np.testing.assert_allclose(rope_frequencies(128), book, rtol=1e-15)
    np.testing.assert_allclose(wavelengths(128), 2 * np.pi / np.array(book), rtol=1e-14)
    assert rope_frequencies(128).dtype == np.float64


def test_angles_are_positions_times_frequencies():
    """Is rope_angles the (seq, d/2) table of p*theta_i?"""
    angles = rope_angles([0, 2.5, 7], 8, base=100.0)
    expected = [[p * 100.0 ** (-k / 4) for k in range(4)] for p in (0, 2.5, 7)]
    np.testing.assert_allclose(angles, expected, rtol=1e-15)


def test_position_interpolation_scales_positions():
    """Does PI map p to p*m_l/m, stretching every period by m/m_l?"""
    scaled = position_interpolation(np.arange(5), 16384, 4096)
    np.testing.assert_allclose(scaled, [0, 0.25, 0.5, 0.75, 1.0], rtol=1e-15)
    assert scaled.dtype == np.float64


@pytest.mark.parametrize(
    ("m", "m_l", "d"), [(16384, 4096, 128), (8192, 4096, 64), (100000, 2048, 4), (3000, 4096, 16)]
)
def test_ntk_scaling_stretches_periods_as_designed(m, m_l, d):
    """Is the last period stretched by m/m_l, the first unchanged, pair i by (m/m_l)**(2i/(d-2))?"""
    before = wavelengths(d, 10000.0)
    after = wavelengths(d, ntk_scaled_base(10000.0, m, m_l, d))
    ratio = after / before
    assert ratio[-1] == pytest.approx(m / m_l, rel=1e-12)
    assert ratio[0] == pytest.approx(1.0, rel=1e-15)
    expected = (m / m_l) ** (2 * np.arange(d // 2) / (d - 2))
    np.testing.assert_allclose(ratio, expected, rtol=1e-12)


def test_ntk_last_pair_angle_equals_position_interpolation():
    """Does the last pair turn by the same angle under NTK scaling as under PI?"""
    positions = np.arange(0, 16384, 97)
    ntk = rope_angles(positions, 128, ntk_scaled_base(10000.0, 16384, 4096, 128))
    pi = rope_angles(position_interpolation(positions, 16384, 4096), 128, 10000.0)
    np.testing.assert_allclose(ntk[:, -1], pi[:, -1], rtol=1e-12)
    np.testing.assert_allclose(ntk[:, 0], positions, rtol=1e-15)  # fastest pair untouched
    assert not np.allclose(ntk[1:, 0], pi[1:, 0])  # ... where PI does move it


def test_scaling_factor_for_wide_heads_approaches_pi():
    """Does lambda approach m/m_l as d grows?"""
    factors = [ntk_scaling_factor(16384, 4096, d) for d in (4, 16, 128, 4096, 2**20)]
    assert all(a > b for a, b in itertools.pairwise(factors))
    assert factors[-1] == pytest.approx(4.0, rel=1e-5)
