"""Follow-through (grader.carry) for the numeric_rope kernels: a kernel built right on a
student's own slipped rope_frequencies, wavelengths or apply_rope earns its points tagged
carried_over; a kernel with a slip of its own does not.  The slipped kernels here are small
numpy functions written for the test, not the registry's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from answercells import captured_cell

from grader import capture, probes, scoring
from grader import payload as P
from grader.items import REGISTRY
from grader.scoring import TIMING_KEY


def _freqs(d, base=10000.0, shift=0, factor=2.0):
    return base ** (-factor * (np.arange(d // 2) + shift) / d)


def _rope(x, positions, base=10000.0, **slip):
    angles = np.asarray(positions, np.float64)[:, None] * _freqs(x.shape[-1], base, **slip)
    z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * angles)
    return np.stack([z.real, z.imag], axis=-1).reshape(x.shape).astype(x.dtype)


def _kernel_scores(fns: dict[str, object]) -> dict[str, tuple[float, str]]:
    return {r.item: (r.score, r.tag) for r in _kernel_results(fns)}


def _kernel_results(fns: dict[str, object]) -> list:
    cells = [captured_cell(item_id, capture._capture(item_id, fn)) for item_id, fn in fns.items()]
    return [r for r in scoring.score_cells(cells) if r is not None]


@pytest.mark.parametrize(("slip", "tag"), [({"shift": 1}, "one_based_index"),
                                           ({"factor": 1.0}, "missing_factor_2")])
def test_kernels_built_right_on_a_slipped_rope_frequencies_are_carried(slip, tag) -> None:
    """One slip in rope_frequencies costs its own points only: the angle table, both
    rotations and the wavelengths done right on those frequencies are carried over."""
    def half(x, positions, base=10000.0):
        h = x.shape[-1] // 2
        perm = np.r_[0:2 * h:2, 1:2 * h:2]
        return _rope(x[..., np.argsort(perm)], positions, base, **slip)[..., perm]

    got = _kernel_scores({
        "rope_frequencies": lambda d, base=10000.0: _freqs(d, base, **slip),
        "rope_angles": lambda p, d, base=10000.0: np.outer(p, _freqs(d, base, **slip)),
        "apply_rope": lambda x, p, base=10000.0: _rope(x, p, base, **slip),
        "apply_rope_half": half,
        "wavelengths": lambda d, base=10000.0: 2 * np.pi / _freqs(d, base, **slip)})
    assert got.pop("rope_frequencies") == (0.0, tag)
    assert got == {k: (float(REGISTRY[k].points), "carried_over") for k in got}


def test_a_kernel_with_a_slip_of_its_own_is_not_carried() -> None:
    """rope_frequencies one-based, apply_rope with factor 1 (another slip): nothing carried;
    the rotation right on the key's frequencies stays plain ok."""
    got = _kernel_scores({
        "rope_frequencies": lambda d, base=10000.0: _freqs(d, base, shift=1),
        "apply_rope": lambda x, p, base=10000.0: _rope(x, p, base, factor=1.0),
        "apply_rope_half": lambda x, p, base=10000.0: x * 0})
    assert got == {"rope_frequencies": (0.0, "one_based_index"),
                   "apply_rope": (0.0, "missing_factor_2"),
                   "apply_rope_half": (0.0, "wrong_values")}


def test_an_attention_score_built_on_a_slipped_apply_rope_is_carried() -> None:
    """apply_rope rotating the wrong way (sin_sign) costs its own points; rope_score, which
    rotates with it, is carried.  The same score beside a right apply_rope is the slip."""
    def backwards(x, positions, base=10000.0):
        return _rope(x, -np.asarray(positions, np.float64), base)

    def score(q, k, p, r, base=10000.0):
        return float(backwards(np.asarray(q)[None], [p], base)[0]
                     @ backwards(np.asarray(k)[None], [r], base)[0])

    assert _kernel_scores({"apply_rope": backwards, "rope_score": score}) == {
        "apply_rope": (0.0, "sin_sign"), "rope_score": (2.0, "carried_over")}
    assert _kernel_scores({"apply_rope": _rope, "rope_score": score}) == {
        "apply_rope": (4.0, "ok"), "rope_score": (0.0, "sin_sign")}


def test_speed_refused_for_a_carried_apply_rope_names_no_wrong_function() -> None:
    """apply_rope built right on a one-based rope_frequencies is carried (right for the
    student's own frequencies), but its timed values are not the key's: the speed item gets
    nothing, and its feedback no longer sends the student to fix apply_rope, whose own
    feedback says it is right."""
    speed = captured_cell("apply_rope_speed", P.CallsAnswer(()))
    speed.metadata["rope_course"] = {TIMING_KEY: P.to_json(P.TimingAnswer(
        (0.02,) * 3, (0.01,) * 3, (8, 16384, 128), wrong_output=True))}
    slipped = lambda x, p, base=10000.0: _rope(x, p, base, shift=1)  # noqa: E731
    cells = [captured_cell(item, capture._capture(item, fn)) for item, fn in (
        ("rope_frequencies", lambda d, base=10000.0: _freqs(d, base, shift=1)),
        ("apply_rope", slipped))] + [speed]
    results = {r.item: r for r in scoring.score_cells(cells) if r is not None}
    assert (results["apply_rope"].score, results["apply_rope"].tag) == (4.0, "carried_over")
    last = results["apply_rope_speed"]
    assert (last.score, last.tag) == (0.0, "wrong_values")
    assert "Fix apply_rope first" not in last.message
    assert last.message.startswith("Speed points need apply_rope to return the key's values "
                                   "on the timed input. Yours is right for your own earlier")


def _speed_cells(rounds, seed):
    """rope_frequencies one-based, apply_rope built right on it, and a speed record whose
    timed checksums are ``rounds`` (refused against the key's: wrong_output)."""
    speed = captured_cell("apply_rope_speed", P.CallsAnswer(()))
    speed.metadata["rope_course"] = {TIMING_KEY: P.to_json(P.TimingAnswer(
        (0.02,) * 5, (0.01,) * 5, (8, 16384, 128), wrong_output=True, side_by_side=True,
        seed=seed, rounds=tuple(rounds)))}
    slipped = lambda x, p, base=10000.0: _rope(x, p, base, shift=1)  # noqa: E731
    return [captured_cell(item, capture._capture(item, fn)) for item, fn in (
        ("rope_frequencies", lambda d, base=10000.0: _freqs(d, base, shift=1)),
        ("apply_rope", slipped))] + [speed]


def test_speed_of_a_carried_apply_rope_is_timed_on_its_own_frequencies() -> None:
    """Timed results that are the rotation on the student's own one-based frequencies (a
    checksum per round, recomputed here from the round's seed and positions) earn the speed
    points by the time ratio; one round off (a kernel that cuts corners on large inputs)
    earns nothing."""
    seed, shape = 1234, (8, 16384, 128)
    x, weights, scale = probes.timed_inputs(seed, shape, "float32")
    rounds = [(offset, probes.checksum(_rope(x, probes.stopwatch_positions(shape[-2], offset),
                                             shift=1), weights))
              for offset in (17, 901, 40_000)]
    results = {r.item: r for r in scoring.score_cells(_speed_cells(rounds, seed))
               if r is not None}
    speed = results["apply_rope_speed"]
    assert (speed.score, speed.tag) == (2.0, "ok")
    assert "Timed on your own frequencies" in speed.message
    off = [*rounds[:2], (rounds[2][0], rounds[2][1] + 10 * probes.CHECK_RTOL * scale)]
    results = {r.item: r for r in scoring.score_cells(_speed_cells(off, seed)) if r is not None}
    assert (results["apply_rope_speed"].score, results["apply_rope_speed"].tag) == (
        0.0, "wrong_values")


def test_an_in_place_change_made_by_apply_rope_is_charged_once() -> None:
    """apply_rope writing its result into x costs half its points (modified_input); a
    rope_score that changes q and k only through it is carried, not charged again.  The same
    change made by rope_score beside an apply_rope that leaves x alone is rope_score's own."""
    def in_place(x, positions, base=10000.0):
        x[...] = _rope(x, positions, base)
        return x

    def score_with(rotate):
        def score(q, k, p, r, base=10000.0):
            return float(rotate(np.asarray(q)[None], [p], base)[0]
                         @ rotate(np.asarray(k)[None], [r], base)[0])
        return score

    got = _kernel_scores({"apply_rope": in_place, "rope_score": score_with(in_place)})
    assert got == {"apply_rope": (2.0, "modified_input"), "rope_score": (2.0, "carried_over")}
    got = _kernel_scores({"apply_rope": _rope, "rope_score": score_with(in_place)})
    assert got == {"apply_rope": (4.0, "ok"), "rope_score": (1.0, "modified_input")}


def test_float32_angles_in_apply_rope_are_charged_once() -> None:
    """An apply_rope with float32 angles earns half (float32_angles); a rope_score built on
    it shows the same rounding and is carried, not charged again."""
    def f32(x, positions, base=10000.0):
        theta = (1.0 / base ** (np.arange(0, x.shape[-1], 2) / x.shape[-1])).astype(np.float32)
        angles = np.asarray(positions, np.float32)[:, None] * theta
        z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * angles)
        return np.stack([z.real, z.imag], axis=-1).reshape(x.shape).astype(x.dtype)

    def score(q, k, p, r, base=10000.0):
        return float(f32(np.asarray(q)[None], [p], base)[0]
                     @ f32(np.asarray(k)[None], [r], base)[0])

    got = _kernel_scores({"apply_rope": f32, "rope_score": score})
    assert got == {"apply_rope": (2.0, "float32_angles"), "rope_score": (2.0, "carried_over")}


_FIND_LAMBDA = """
def find_lambda(m, m_l, d):
    target = m / m_l * wavelengths(d, 10000.0)[-1]
    lo, hi = -200.0, 200.0  # log2 of lam
    if not (wavelengths(d, 2.0**lo * 1e4)[-1] < target < wavelengths(d, 2.0**hi * 1e4)[-1]):
        raise ValueError("g does not change sign")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if wavelengths(d, 2.0**mid * 1e4)[-1] < target else (lo, mid)
    return float(2.0 ** (0.5 * (lo + hi)))
"""


def _find_lambda_on(periods):
    """A student's find_lambda: bisection in log space on the notebook's ``wavelengths``,
    here ``periods`` (a global of its namespace, as in a notebook)."""
    space = {"wavelengths": periods}
    exec(_FIND_LAMBDA, space)
    return space["find_lambda"]


def test_m_over_m_l_beside_one_based_wavelengths_is_not_carried() -> None:
    """m/m_l is what a right bisection on one-based wavelengths finds, but a function that
    just returns it is not computed from them (the rebased call shows it): the pi_factor
    slip, not carried."""
    one_based = lambda d, base=10000.0: 2 * np.pi / _freqs(d, base, shift=1)  # noqa: E731
    space = {"wavelengths": one_based}
    exec("def find_lambda(m, m_l, d):\n    return float(m / m_l)", space)
    assert _kernel_scores({"wavelengths": one_based, "find_lambda": space["find_lambda"]}) == {
        "wavelengths": (0.0, "one_based_index"), "find_lambda": (0.0, "pi_factor")}


@pytest.mark.parametrize(("slip", "tag", "exponent"), [
    ({"shift": 1}, "one_based_index", lambda d: 1.0),  # theta_last = 1/base: lam = m/m_l
    ({"factor": 1.0}, "missing_factor_2", lambda d: 2 * d / (d - 2))])
def test_find_lambda_bisecting_slipped_wavelengths_is_carried(slip, tag, exponent) -> None:
    """wavelengths with a frequency slip: a right bisection on them finds another lam (for
    the one-based slip m/m_l, the value of the pi_factor slip) and is carried; the same
    values beside right wavelengths are a slip of find_lambda's own."""
    periods = lambda d, base=10000.0: 2 * np.pi / _freqs(d, base, **slip)  # noqa: E731
    find = _find_lambda_on(periods)
    assert math.isclose(find(16384, 4096, 128), 4.0 ** exponent(128), rel_tol=1e-12)
    assert _kernel_scores({"wavelengths": periods, "find_lambda": find}) == {
        "wavelengths": (0.0, tag), "find_lambda": (2.0, "carried_over")}
    right = lambda d, base=10000.0: 2 * np.pi / _freqs(d, base)  # noqa: E731
    own_slip = "pi_factor" if tag == "one_based_index" else tag  # its own slip, named
    assert _kernel_scores({"wavelengths": right, "find_lambda": find}) == {
        "wavelengths": (2.0, "ok"), "find_lambda": (0.0, own_slip)}


def test_find_lambda_beside_periods_that_shrink_with_the_base() -> None:
    """wavelengths = 2*pi*theta falls as the base grows, so g never changes sign and a right
    find_lambda raises ValueError on every call, as the notebook asks.  A stub that raises
    ValueError does exactly the same, so nothing is carried (an exception).  A closed form
    beside the slip has the right values but was not found from wavelengths (half)."""
    shrinking = lambda d, base=10000.0: 2 * np.pi * _freqs(d, base)  # noqa: E731
    find = _find_lambda_on(shrinking)
    with pytest.raises(ValueError):
        find(16384, 4096, 128)
    periods, found = _kernel_results({"wavelengths": shrinking, "find_lambda": find})
    assert (periods.score, periods.tag) == (0.0, "frequency_not_period")
    assert (found.score, found.tag) == (0.0, "exception")
    assert found.message.endswith("This answer builds on your wavelengths, which is not right "
                                  "yet: fix that first (see its feedback).")
    assert "builds on" not in periods.message
    closed = lambda m, m_l, d: (m / m_l) ** (d / (d - 2))  # noqa: E731
    assert _kernel_scores({"wavelengths": shrinking, "find_lambda": closed})[
        "find_lambda"] == (1.0, "not_from_wavelengths")
