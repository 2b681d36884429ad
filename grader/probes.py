"""The inputs the grader feeds to students' functions, per kernel item.

Probes are data: deterministic recipes that build the same arrays in the student kernel
(where the student's function is called) and in the grader (where the answer key is
called on identical inputs).  Arrays come from the legacy ``RandomState`` stream, which
numpy keeps frozen across versions.  Imports only numpy: safe in a student kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Arr:
    """A random array argument."""

    shape: tuple[int, ...]
    """its shape"""
    dtype: str = "float64"
    """its dtype name"""
    seed: int = 0
    """RandomState seed"""
    strided: bool = False
    """give a non-contiguous view (every other row of a larger array)"""


@dataclass(frozen=True)
class Positions:
    """``start + step * arange(n)`` as float64 (or int64 when ``integer``)."""

    n: int
    """how many positions"""
    start: float = 0.0
    """the first position"""
    step: float = 1.0
    """the spacing"""
    integer: bool = False
    """give an int64 array"""


@dataclass(frozen=True)
class PositionList:
    """Positions given one by one (float64): spacings a progression cannot have."""

    values: tuple[float, ...]
    """the positions"""


@dataclass(frozen=True)
class Probe:
    """One call: positional arguments (specs or literals) and keyword arguments."""

    args: tuple[Any, ...]
    """positional arguments; :class:`Arr` and :class:`Positions` are built fresh"""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """keyword arguments, literals only"""
    note: str = ""
    """what the probe exercises, for the instructor's detail"""
    rebase: tuple[str, ...] = ()
    """the notebook's own functions to swap, for this call, for stand-ins that raise their
    ``base`` argument to a power (:mod:`grader.rebase`): a result computed from them changes,
    one that does not use them stays the same"""


def build(spec: Any) -> Any:
    """Materialise one argument spec (literals pass through)."""
    if isinstance(spec, Arr):
        rng = np.random.RandomState(spec.seed)
        if spec.strided:
            big = rng.standard_normal((*spec.shape[:-2], 2 * spec.shape[-2], spec.shape[-1]))
            return big.astype(spec.dtype)[..., ::2, :]
        return rng.standard_normal(spec.shape).astype(spec.dtype)
    if isinstance(spec, Positions):
        pos = spec.start + spec.step * np.arange(spec.n, dtype=np.float64)
        return pos.astype(np.int64) if spec.integer else pos
    if isinstance(spec, PositionList):
        return np.array(spec.values, dtype=np.float64)
    return spec


def call_args(probe: Probe) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Fresh positional and keyword arguments for ``probe``."""
    return tuple(build(a) for a in probe.args), dict(probe.kwargs)


_D128 = 128
_NTK_BASE = 10_000.0 * 4.0 ** (128 / 126)  # the 4096 -> 16384 case's new base


def _rotation_probes() -> tuple[Probe, ...]:
    return (
        Probe((Arr((5, 8), seed=1), Positions(5)), note="one sequence, positions 0..4"),
        Probe((Arr((2, 3, 7, 16), "float32", seed=2), Positions(7, start=11)),
              note="batch dims, float32, positions from 11"),
        Probe((Arr((3, 6, 8), seed=3, strided=True), Positions(6, start=3)),
              note="non-contiguous input"),
        Probe((Arr((4, 12), seed=4), Positions(4, start=2.5, step=0.25)), {"base": 500.0},
              note="interpolated (fractional) positions, base 500"),
        Probe((Arr((2, 6, _D128), seed=5), Positions(6, start=16_378)), {"base": _NTK_BASE},
              note="4096 -> 16384, d = 128, NTK-aware base, positions near 16384"),
        Probe((Arr((3, 64), "float32", seed=6), Positions(3, start=4090)),
              note="float32, d = 64, positions near 4096"),
        # the first probe's shapes, length and first position, another spacing: a table
        # cached under those (and not the positions themselves) is stale here
        Probe((Arr((5, 8), seed=1), Positions(5, step=0.5)),
              note="positions 0, 0.5, ..., 2 after a call with 0..4 (a cached table?)"),
        # the first probe's positions and shape, another x: a result cached under anything
        # but x itself is stale here
        Probe((Arr((5, 8), seed=7), Positions(5)),
              note="another x of the same shape at positions 0..4 (a cached result?)"),
        Probe((Arr((2, 6, 16), seed=8), PositionList((0.0, 1.0, 3.0, 7.0, 8.5, 20.0))),
              note="positions 0, 1, 3, 7, 8.5, 20: not evenly spaced"),
        # the first probe's x and positions, another base: a table cached under the
        # positions and d alone (not the base) is stale here
        Probe((Arr((5, 8), seed=1), Positions(5)), {"base": 500.0},
              note="positions 0..4 again, base 500 (a table cached without its base?)"),
    )


def angles_needed(item_id: str, probe: Probe) -> list[Probe]:
    """The ``rope_angles`` calls, base named, whose angles a call of ``item_id`` on
    ``probe`` rotates by (:mod:`grader.anglereplay` replays rotations on them)."""
    base = {"base": float(probe.kwargs.get("base", 10_000.0))}
    if item_id in ("apply_rope", "apply_rope_half"):
        return [Probe((probe.args[1], probe.args[0].shape[-1]), base)]
    if item_id == "rope_score":
        q, _, p, r = probe.args[:4]
        return [Probe((PositionList((float(at),)), q.shape[-1]), base) for at in (p, r)]
    return []


def _angles_for_later_kernels() -> tuple[Probe, ...]:
    plans = {"apply_rope": _rotation_probes(), "rope_score": _SCORE_PROBES}
    needed = [a for item, plan in plans.items() for p in plan for a in angles_needed(item, p)]
    unique: dict[tuple[Any, ...], Probe] = {}
    for probe in needed:  # each once, in order
        unique.setdefault((*probe.args, tuple(sorted(probe.kwargs.items()))), probe)
    return tuple(unique.values())


_SCORE_PROBES = (
    Probe((Arr((16,), seed=7), Arr((16,), seed=8), 5, 2)),
    Probe((Arr((16,), seed=7), Arr((16,), seed=8), 103, 100)),
    Probe((Arr((64,), seed=9), Arr((64,), seed=10), 0, 9000), {"base": 500.0}),
    Probe((Arr((128,), seed=11), Arr((128,), seed=12), 16_000, 3)),
)


KERNEL_PROBES: dict[str, tuple[Probe, ...]] = {
    "rope_frequencies": (
        Probe((8,)), Probe((128,)), Probe((64,), {"base": 500_000.0}), Probe((6, 10.0)),
        # the base named at every (d, base) that a later kernel's probes need: the grader
        # then knows the student's frequencies there (grader.replay)
        *(Probe((d,), {"base": base}) for d, base in (
            (8, 10_000.0), (12, 10_000.0), (16, 10_000.0), (64, 10_000.0), (128, 10_000.0),
            (8, 500.0), (12, 500.0), (16, 500.0), (64, 500.0), (_D128, _NTK_BASE),
            # and a second base at every d of find_lambda's probes (its replay needs two)
            (96, 10_000.0), (96, 500.0), (126, 10_000.0), (126, 500.0), (256, 10_000.0),
            (256, 500.0))),
    ),
    "rope_angles": (
        Probe((Positions(6), 8)),
        Probe((Positions(5, start=100), 16), {"base": 500.0}),
        Probe((Positions(7, step=0.25), 12), note="interpolated positions"),
        Probe((Positions(4, start=16_380), _D128), {"base": _NTK_BASE}),
        # at every (positions, d, base) a later rotation's probes rotate by: the grader then
        # knows the student's angles there (grader.anglereplay)
        *_angles_for_later_kernels(),
    ),
    "apply_rope": _rotation_probes(),
    "apply_rope_half": _rotation_probes(),
    "interleaved_to_half": (Probe((4,)), Probe((8,)), Probe((128,))),
    "position_interpolation": (
        Probe((Positions(10), 16_384, 4096)),
        Probe((Positions(5, start=100), 8192, 2048)),
        Probe((Positions(6, start=0.5, step=1.5), 3000, 1000)),
        Probe((Positions(5, start=10), 6144, 4096), note="m/m_l = 1.5, not a whole number"),
    ),
    "ntk_scaled_base": (
        Probe((10_000.0, 16_384, 4096, 128)), Probe((10_000.0, 8192, 4096, 64)),
        Probe((500_000.0, 131_072, 8192, 128)), Probe((10.0, 300, 100, 6)),
        Probe((10_000.0, 6144, 4096, 128), note="m/m_l = 1.5, not a whole number"),
    ),
    "wavelengths": (Probe((8,)), Probe((128,)), Probe((64,), {"base": 500_000.0})),
    "find_lambda": (
        Probe((16_384, 4096, 128)), Probe((8192, 4096, 64)), Probe((32_768, 2048, 256)),
        Probe((3000, 1000, 16)), Probe((5000, 2048, 96)),  # the last: m/m_l not whole
        Probe((131_072, 1024, 128), note="lam near 138 (a bracket must grow to find it)"),
        Probe((16_384, 4096, 126), rebase=("wavelengths", "rope_frequencies"),
              note="is lam computed from wavelengths?"),  # arguments of no other probe
    ),
    "rope_score": _SCORE_PROBES,
}
"""Probes per kernel item id, in the order their outcomes are captured."""


@dataclass(frozen=True)
class TimingSpec:
    """How the grader times a rotation kernel (see :mod:`grader.stopwatch`)."""

    shape: tuple[int, ...] = (8, 16_384, 128)
    """the full workload"""
    dtype: str = "float32"
    """its dtype"""
    screen_shape: tuple[int, ...] = (8, 1024, 128)
    """a small first try: a Python loop is caught here without timing the full workload
    (large enough that a request's messaging jitter, scaled up 16x, stays far below the
    give-up threshold)"""
    repeats: int = 5
    """timed rounds of each on the full workload (after one warm-up round each); each side's
    fastest counts (:attr:`grader.payload.TimingAnswer.ratio`): a round disturbed by other
    work only ever takes longer"""
    give_up: float = 20.0
    """stop after the screening round when the student's kernel, scaled to the full workload,
    would take more than this many times the reference"""


KEY_THREADS = 1
"""Threads the answer key may use while it is timed, wherever that is: one, as a student's numpy
kernel runs, so the ratio (and the grade) is the same on a laptop and on a 64-core server."""

TIMINGS: dict[str, TimingSpec] = {"apply_rope_speed": TimingSpec()}
"""Speed items: the student's kernel is timed by the grader's clock, outside their kernel."""


def stopwatch_array(seed: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Values in [-1, 1) from an integer hash of (seed, index): the timed input and the
    checksum's weights.  Exact uint32 arithmetic, so every numpy version builds the same
    array, at a fraction of the cost of a random generator on 16M values."""
    h = np.arange(int(np.prod(shape)), dtype=np.uint32)
    h += np.uint32((seed * 0x2545F491 + 0x6A09E667) % 2**32)  # seeds far apart in the stream
    h *= np.uint32(0x9E3779B1)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x85EBCA77)
    h ^= h >> np.uint32(13)
    h >>= np.uint32(8)
    out = h.astype(dtype)
    out *= 2.0**-23
    out -= 1.0
    return out.reshape(shape)


def stopwatch_positions(n: int, offset: int) -> np.ndarray:
    """``offset, offset + 1, ...``: the positions of one timed call."""
    return offset + np.arange(n, dtype=np.float64)


def weights_shape(shape: tuple[int, ...]) -> tuple[int]:
    """The checksum's weights: one per output value, or a 2**20-long block repeated."""
    n = int(np.prod(shape))
    return (2**20,) if n > 2**20 and n % 2**20 == 0 else (n,)


def checksum(out: Any, weights: np.ndarray) -> float:
    """One number that depends on every output value: the dot product of their absolute
    values with pseudo-random weights (a block of them, repeated along the flattened output).

    The absolute value matters.  A linear checksum of a rotation could be had without
    rotating: rotation is linear, so heads could be summed first and each round's value read
    off a few numbers per frequency precomputed once.  Here every value must be computed."""
    flat = np.asarray(out).reshape(-1, weights.size)
    w = weights.astype(np.result_type(flat.dtype, weights.dtype), copy=False)
    block = np.empty_like(w)  # one block at a time: it stays in cache
    total = 0.0
    for row in flat:
        np.abs(row, out=block)
        total += float(block @ w)
    return total


CHECK_RTOL = 1e-7
"""A checksum may differ from the answer key's by this share of :func:`timed_inputs`' scale.
float32 rounding, with the float32 sums of the BLAS dot product, moves it by 1e-10 to 1.3e-9 of
it (seen on CPUs with and without AVX-512); a wrong sign, layout or float32 angles at these
positions by 1e-6 to 1e-4."""


def timed_arrays(seed: int, shape: tuple[int, ...], dtype: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The timed input and the checksum's weights, as every side builds them from a seed."""
    return (stopwatch_array(seed, shape, dtype),
            stopwatch_array(seed + 1, weights_shape(shape), dtype))


def timed_inputs(seed: int, shape: tuple[int, ...], dtype: str
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`timed_arrays` and the scale :data:`CHECK_RTOL` is a share of: the weights
    (repeated) have norm |w|·sqrt(repeats), and |out| = |x| (a rotation keeps every pair's
    length), so |checksum| <= their product."""
    x, weights = timed_arrays(seed, shape, dtype)
    repeats = x.size // weights.size
    return x, weights, float(np.linalg.norm(weights) * repeats**0.5 * np.linalg.norm(x))


def checksums_agree(got: float, expected: float, scale: float) -> bool:
    """Whether a timed call's checksum is the key's, within float32 rounding."""
    return bool(abs(got - expected) <= CHECK_RTOL * scale)
