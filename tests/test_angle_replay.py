"""Follow-through for rotations built on a student's own slipped rope_angles
(grader.anglereplay), and the probe that catches a rotation table cached without its base.
Found by a blind review: a rope_angles that ignored its base cost its point again in both
rotations and in rope_score, although the notebook suggests building the table on it. The
students here are small numpy functions written for the test."""

from __future__ import annotations

import numpy as np
import pytest
from test_carry_kernels import _freqs, _kernel_results, _kernel_scores

from grader import probes


def _right_angles(p, d, base=10000.0):
    return np.outer(np.asarray(p, np.float64), _freqs(d, base))


def _base_ignored(p, d, base=10000.0):
    return _right_angles(p, d)


def _positions_floored(p, d, base=10000.0):
    return _right_angles(np.floor(np.asarray(p, np.float64)), d, base)


def _kernels(angles, sign=1.0):
    """apply_rope, apply_rope_half and rope_score built on ``angles``, as the notebook
    suggests (sign -1: a rotation with a slip of its own)."""
    def rope(x, p, base=10000.0):
        z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(sign * 1j * angles(p, x.shape[-1], base))
        return np.stack([z.real, z.imag], -1).reshape(x.shape).astype(x.dtype)

    def half(x, p, base=10000.0):
        h = x.shape[-1] // 2
        z = (x[..., :h] + 1j * x[..., h:]) * np.exp(sign * 1j * angles(p, x.shape[-1], base))
        return np.concatenate([z.real, z.imag], -1).astype(x.dtype)

    def score(q, k, p, r, base=10000.0):
        return float(rope(np.asarray(q)[None], [p], base)[0]
                     @ rope(np.asarray(k)[None], [r], base)[0])

    return {"rope_frequencies": _freqs, "rope_angles": angles, "apply_rope": rope,
            "apply_rope_half": half, "rope_score": score}


@pytest.mark.parametrize(("angles", "score_tag"), [(_base_ignored, "carried_over"),
                                                   (_positions_floored, "ok")])
def test_rotations_built_right_on_slipped_angles_are_carried(angles, score_tag) -> None:
    """A rope_angles slip no mutant knows (the base ignored, positions floored) costs its
    own points only: both rotations built right on it are carried, and rope_score through
    apply_rope (floored positions do not show at its whole-number positions: plain right).
    The feedback names rope_angles as the answer to fix."""
    results = _kernel_results(_kernels(angles))
    got = {r.item: (r.score, r.tag) for r in results}
    assert got == {"rope_frequencies": (2.0, "ok"), "rope_angles": (1.0, "wrong_values"),
                   "apply_rope": (4.0, "carried_over"), "apply_rope_half": (3.0, "carried_over"),
                   "rope_score": (2.0, score_tag)}
    carried = [r for r in results if r.tag == "carried_over"]
    assert all("fix rope_angles" in r.message for r in carried), [r.message for r in carried]


def test_rotations_with_a_slip_of_their_own_or_angles_that_turn_nothing_are_not_carried() -> None:
    """The sign of sin flipped on top of a slipped rope_angles: not carried. Angles that are
    all 0 beside a rotation that copies x (the rotation by them): nothing carried."""
    got = _kernel_scores(_kernels(_base_ignored, sign=-1.0))
    assert got["rope_angles"][0] == 1.0
    assert got["apply_rope"][1] != "carried_over" and got["apply_rope"][0] < 4.0
    assert got["apply_rope_half"][1] != "carried_over" and got["apply_rope_half"][0] < 3.0
    got = _kernel_scores({"rope_angles": lambda p, d, base=10000.0: np.zeros((len(p), d // 2)),
                          "apply_rope": lambda x, p, base=10000.0: np.array(x, copy=True)})
    assert got == {"rope_angles": (0.0, "wrong_values"), "apply_rope": (0.0, "wrong_values")}


def test_every_angle_a_later_rotation_needs_is_captured() -> None:
    """rope_angles is probed, base named, at the positions, d and base of every probe of
    both rotations and of rope_score."""
    named = {(p.args, tuple(p.kwargs.items())) for p in probes.KERNEL_PROBES["rope_angles"]
             if "base" in p.kwargs}
    for item in ("apply_rope", "apply_rope_half", "rope_score"):
        for probe in probes.KERNEL_PROBES[item]:
            for needed in probes.angles_needed(item, probe):
                assert (needed.args, tuple(needed.kwargs.items())) in named, (item, probe.note)


def test_a_table_cached_without_its_base_is_caught() -> None:
    """A rotation table cached under the positions and d, not the base, is stale when the
    same positions come back with base 500: half the points (right on the other probes)."""
    cache: dict[tuple, np.ndarray] = {}

    def rope(x, p, base=10000.0):
        key = (tuple(np.asarray(p, np.float64)), x.shape[-1])
        if key not in cache:
            cache[key] = np.exp(1j * _right_angles(p, x.shape[-1], base))
        z = (x[..., 0::2] + 1j * x[..., 1::2]) * cache[key]
        return np.stack([z.real, z.imag], -1).reshape(x.shape).astype(x.dtype)

    assert _kernel_scores({"apply_rope": rope}) == {"apply_rope": (2.0, "wrong_values")}


def test_an_upstream_slip_that_does_not_explain_a_kernel_is_not_blamed() -> None:
    """Missing 2*pi in wavelengths cancels in a bisection: a find_lambda that stops too early
    is not sent to fix wavelengths first, but told that slip does not explain it; one that
    raised is still told its upstream may be the cause."""
    def loose(m, m_l, d):
        lo, hi = 1.0, 2.0 ** 20
        while hi - lo > 1e-3:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if (m / m_l) ** (d / (d - 2)) > mid else (lo, mid)
        return (lo + hi) / 2

    results = {r.item: r for r in _kernel_results({
        "wavelengths": lambda d, base=10000.0: 1.0 / _freqs(d, base), "find_lambda": loose})}
    assert results["wavelengths"].tag == "missing_2pi"
    assert "does not explain this answer" in results["find_lambda"].message
    assert "fix that first" not in results["find_lambda"].message
