"""Follow-through for kernels built on a rope_frequencies with a slip no mutant knows
(grader.replay): the key's later kernels are rebuilt on the frequencies the student's
function returned on its probes.  The students here are small numpy functions written for
the test; their later kernels call their own rope_frequencies, as a notebook's do."""

from __future__ import annotations

import numpy as np
import pytest
from test_carry_kernels import _kernel_results, _kernel_scores, _rope

from grader import probes, replay
from grader.items import REGISTRY

USERS = ("rope_angles", "apply_rope", "apply_rope_half", "wavelengths")


def test_every_frequency_a_later_kernel_needs_is_captured() -> None:
    """rope_frequencies is probed, base named, at every (d, base) of a later kernel's probes."""
    named = {replay.frequency_args("rope_frequencies", p)
             for p in probes.KERNEL_PROBES["rope_frequencies"]
             if "base" in p.kwargs or len(p.args) > 1}
    for item in (*USERS, "rope_score"):
        assert REGISTRY[item].upstreams == {
            "rope_score": ("apply_rope",), "apply_rope": ("rope_frequencies", "rope_angles"),
            "apply_rope_half": ("rope_frequencies", "rope_angles")}.get(
                item, ("rope_frequencies",))
        for probe in probes.KERNEL_PROBES[item]:
            assert replay.frequency_args(item, probe) in named, (item, probe.note)


def _students(freqs):
    """Later kernels done right on ``freqs`` (the student's own rope_frequencies)."""
    def angles(positions, d, base=10000.0):
        return np.asarray(positions, np.float64)[:, None] * freqs(d, base)

    def rotate(x, positions, base, first, second):
        a = angles(positions, x.shape[-1], base)
        x0, x1 = first(x), second(x)
        out = np.empty_like(x)
        r0 = x0 * np.cos(a) - x1 * np.sin(a)
        r1 = x0 * np.sin(a) + x1 * np.cos(a)
        return out, r0, r1

    def interleaved(x, positions, base=10000.0):
        out, r0, r1 = rotate(x, positions, base, lambda v: v[..., 0::2], lambda v: v[..., 1::2])
        out[..., 0::2], out[..., 1::2] = r0, r1
        return out

    def half(x, positions, base=10000.0):
        h = x.shape[-1] // 2
        out, r0, r1 = rotate(x, positions, base, lambda v: v[..., :h], lambda v: v[..., h:])
        out[..., :h], out[..., h:] = r0, r1
        return out

    def score(q, k, p, r, base=10000.0):
        return float(interleaved(np.asarray(q, np.float64)[None], [p], base)[0]
                     @ interleaved(np.asarray(k, np.float64)[None], [r], base)[0])

    return {"rope_frequencies": freqs, "rope_angles": angles, "apply_rope": interleaved,
            "apply_rope_half": half, "rope_score": score,
            "wavelengths": lambda d, base=10000.0: 2 * np.pi / freqs(d, base)}


def _over_d_minus_2(d, base=10000.0):
    return base ** (-2.0 * np.arange(d // 2) / (d - 2))


def _base_ignored(d, base=10000.0):
    return 10000.0 ** (-2.0 * np.arange(d // 2) / d)


@pytest.mark.parametrize("freqs", [_over_d_minus_2, _base_ignored],
                         ids=["exponent over d-2", "base argument ignored"])
def test_kernels_built_right_on_an_unknown_frequency_slip_are_carried(freqs) -> None:
    """Every later kernel built right on the slipped frequencies, rope_score through the
    student's apply_rope, earns its points."""
    got = _kernel_scores(_students(freqs))
    assert got.pop("rope_frequencies")[0] < 2.0
    assert got == {item: (float(REGISTRY[item].points), "carried_over")
                   for item in (*USERS, "rope_score")}


def test_a_kernel_with_a_slip_of_its_own_on_them_is_not_carried() -> None:
    """apply_rope rotating backwards on the student's frequencies: its own slip, not theirs;
    a kernel that computes the key's frequencies itself is simply right."""
    students = _students(_over_d_minus_2)

    def backwards(x, positions, base=10000.0):
        return students["apply_rope"](x, -np.asarray(positions, np.float64), base)

    got = _kernel_scores({"rope_frequencies": _over_d_minus_2, "apply_rope": backwards,
                          "apply_rope_half": lambda x, p, base=10000.0: _rope(x, p, base)})
    assert got["apply_rope"] == (0.0, "wrong_values")
    assert got["apply_rope_half"] == (0.0, "other_layout")  # _rope is interleaved
    got = _kernel_scores({"rope_frequencies": _over_d_minus_2, "apply_rope": _rope})
    assert got["apply_rope"] == (4.0, "ok")


def _four_i_over_d(d, base=10000.0):
    """i taken as 0, 2, 4, ... (np.arange(0, d, 2)) and the exponent 2*i/d as well."""
    return base ** (-2.0 * np.arange(0, d, 2) / d)


@pytest.mark.parametrize(("freqs", "power"), [
    (_over_d_minus_2, lambda d: 1.0), (_four_i_over_d, lambda d: (2 * d - 4) / d)],
    ids=["exponent over d-2", "i stepping by 2"])
def test_find_lambda_bisecting_own_periods_is_carried(freqs, power) -> None:
    """A right bisection on wavelengths built on an unknown frequency slip finds
    (m/m_l)**(1/c), c the power of the base in the last frequency: carried; the closed form
    beside the same slip was not found from wavelengths, and is not."""
    from test_carry_kernels import _find_lambda_on

    students = _students(freqs)
    find = _find_lambda_on(students["wavelengths"])
    assert abs(find(16384, 4096, 128) / 4.0 ** (1 / power(128)) - 1) < 1e-10
    got = _kernel_scores({"rope_frequencies": freqs, "wavelengths": students["wavelengths"],
                          "find_lambda": find})
    assert got["wavelengths"] == (2.0, "carried_over")
    assert got["find_lambda"] == (2.0, "carried_over")
    space = {"wavelengths": students["wavelengths"]}
    exec("def find_lambda(m, m_l, d):\n    return float((m / m_l) ** (d / (2 * d - 4)))", space)
    got = _kernel_scores({"rope_frequencies": _four_i_over_d,
                          "wavelengths": _students(_four_i_over_d)["wavelengths"],
                          "find_lambda": space["find_lambda"]})
    assert got["find_lambda"][1] != "carried_over"


def test_find_lambda_raising_on_periods_that_ignore_the_base() -> None:
    """A base argument ignored: no lam moves the last period, so a right bisection raises
    ValueError on every call, as the key's would. The grader's swapped periods call the
    student's with another base, which they ignore too, so nothing tells it from a stub that
    raises ValueError: neither is carried, and the feedback says why."""
    from test_carry_kernels import _find_lambda_on

    students = _students(_base_ignored)
    find = _find_lambda_on(students["wavelengths"])
    with pytest.raises(ValueError):
        find(16384, 4096, 128)
    answers = {"rope_frequencies": _base_ignored, "wavelengths": students["wavelengths"]}
    space = {"wavelengths": students["wavelengths"]}
    exec("def find_lambda(m, m_l, d):\n    raise ValueError('g does not change sign')", space)
    for fn in (find, space["find_lambda"]):
        (got,) = [r for r in _kernel_results({**answers, "find_lambda": fn})
                  if r.item == "find_lambda"]
        assert (got.score, got.tag) == (0.0, "exception")
        assert "a function that raises on every call shows no work" in got.message


def test_every_find_lambda_probe_has_two_captured_bases() -> None:
    """find_lambda's replay reads the power of the base from two bases at each probe's d."""
    named = {replay.frequency_args("rope_frequencies", p)
             for p in probes.KERNEL_PROBES["rope_frequencies"]
             if "base" in p.kwargs or len(p.args) > 1}
    for probe in probes.KERNEL_PROBES["find_lambda"]:
        d = probes.call_args(probe)[0][2]
        assert len({base for dd, base in named if dd == d}) >= 2, d


def test_frequencies_that_turn_nothing_carry_nothing() -> None:
    """rope_frequencies returning zeros makes every rotation the identity: an apply_rope that
    copies x would be 'right for them', and carried (speed points too) for no work. Nothing
    is replayed on frequencies under which no pair turns."""
    zeros = lambda d, base=10000.0: np.zeros(d // 2)  # noqa: E731
    copy = lambda x, positions, base=10000.0: np.array(x, copy=True)  # noqa: E731
    got = _kernel_scores({"rope_frequencies": zeros, "apply_rope": copy,
                          "apply_rope_half": copy})
    assert got["apply_rope"][1] != "carried_over" and got["apply_rope"][0] < 4.0
    assert got["apply_rope_half"][1] != "carried_over"
