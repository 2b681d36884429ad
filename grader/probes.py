"""The inputs the grader feeds to students' functions, per kernel item.

Probes are data: deterministic recipes that build the same arrays in the student kernel
(where the student's function is called) and in the grader (where the answer key is
called on identical inputs).  Arrays come from the legacy ``RandomState`` stream, which
numpy keeps frozen across versions.  Imports only numpy: safe in a student kernel.
"""

from __future__ import annotations

from collections.abc import Callable
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
class Probe:
    """One call: positional arguments (specs or literals) and keyword arguments."""

    args: tuple[Any, ...]
    """positional arguments; :class:`Arr` and :class:`Positions` are built fresh"""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """keyword arguments, literals only"""
    note: str = ""
    """what the probe exercises, for the instructor's detail"""


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
    )


KERNEL_PROBES: dict[str, tuple[Probe, ...]] = {
    "rope_frequencies": (
        Probe((8,)), Probe((128,)), Probe((64,), {"base": 500_000.0}), Probe((6, 10.0)),
    ),
    "rope_angles": (
        Probe((Positions(6), 8)),
        Probe((Positions(5, start=100), 16), {"base": 500.0}),
        Probe((Positions(7, step=0.25), 12), note="interpolated positions"),
        Probe((Positions(4, start=16_380), _D128), {"base": _NTK_BASE}),
    ),
    "apply_rope": _rotation_probes(),
    "apply_rope_half": _rotation_probes(),
    "interleaved_to_half": (Probe((4,)), Probe((8,)), Probe((128,))),
    "position_interpolation": (
        Probe((Positions(10), 16_384, 4096)),
        Probe((Positions(5, start=100), 8192, 2048)),
        Probe((Positions(6, start=0.5, step=1.5), 3000, 1000)),
    ),
    "ntk_scaled_base": (
        Probe((10_000.0, 16_384, 4096, 128)), Probe((10_000.0, 8192, 4096, 64)),
        Probe((500_000.0, 131_072, 8192, 128)), Probe((10.0, 300, 100, 6)),
    ),
    "wavelengths": (Probe((8,)), Probe((128,)), Probe((64,), {"base": 500_000.0})),
    "find_lambda": (
        Probe((16_384, 4096, 128)), Probe((8192, 4096, 64)), Probe((32_768, 2048, 256)),
        Probe((3000, 1000, 16)),
    ),
    "rope_score": (
        Probe((Arr((16,), seed=7), Arr((16,), seed=8), 5, 2)),
        Probe((Arr((16,), seed=7), Arr((16,), seed=8), 103, 100)),
        Probe((Arr((64,), seed=9), Arr((64,), seed=10), 0, 9000), {"base": 500.0}),
        Probe((Arr((128,), seed=11), Arr((128,), seed=12), 16_000, 3)),
    ),
}
"""Probes per kernel item id, in the order their outcomes are captured."""


@dataclass(frozen=True)
class TimingSpec:
    """How to time a rotation kernel against ``x.copy()`` in the student's kernel."""

    shape: tuple[int, ...] = (8, 16_384, 128)
    """the full workload"""
    dtype: str = "float32"
    """its dtype"""
    screen_shape: tuple[int, ...] = (8, 256, 128)
    """a small first try: a Python loop is caught here without timing the full workload"""
    screen_ratio: float = 100.0
    """a screening ratio to copy above this is reported without the full run"""
    repeats: int = 5
    """interleaved repetitions; the median is reported"""


SAMPLE_STEP = 4099
"""Every this-many-th value of a timed output is sent back, to check the timed kernel is right
(a prime step, so the sample covers every pair and position pattern)."""


def output_sample(out: Any) -> np.ndarray:
    """The strided sample of a timed kernel's output."""
    return np.asarray(out).reshape(-1)[::SAMPLE_STEP].copy()


TIMINGS: dict[str, TimingSpec] = {"apply_rope_speed": TimingSpec()}
"""Speed items: the student's kernel is timed, as a ratio, in their own kernel."""


def timing_inputs(shape: tuple[int, ...], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The array and positions of a timing run."""
    x = np.random.RandomState(42).standard_normal(shape).astype(dtype)
    return x, np.arange(shape[-2], dtype=np.float64)


def median_ratio(fn: Callable[[], Any], floor: Callable[[], Any], repeats: int,
                 clock: Callable[[], float]) -> float:
    """Median of ``repeats`` interleaved timings of ``fn`` divided by those of ``floor``."""
    fn_times, floor_times = [], []
    for _ in range(repeats):
        t0 = clock()
        floor()
        t1 = clock()
        fn()
        t2 = clock()
        floor_times.append(t1 - t0)
        fn_times.append(t2 - t1)
    return float(np.median(fn_times) / max(np.median(floor_times), 1e-9))
