"""Benchmark 1: the answer key's ``apply_rope`` against ``x.copy()`` and a naive port.

The naive baseline is a straight numpy port of Hugging Face's
``q * cos + rotate_half(q) * sin`` with full-width ``(seq, d)`` cos/sin tables; for the
interleaved layout it uses the interleaved equivalent (cos/sin repeated per pair and GPT-J's
``rotate_every_two``).  Its angles are computed in float64 (the answer key's accuracy); a
second variant computes them in float32, as Hugging Face itself does, and is reported for
float32 inputs only.  Everything runs end to end, positions to output, tables included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.common import Summary, interleaved, ratios
from solutions import rope as R

SHAPE = (8, 16_384, 128)
SMOKE_SHAPE = (2, 256, 64)
BASE = 10_000.0


def _inv_freq(d: int, base: float, dtype: type = np.float64) -> np.ndarray:
    return (1.0 / base ** (np.arange(0, d, 2, dtype=np.float64) / d)).astype(dtype)


def _tables(x: np.ndarray, positions: np.ndarray, base: float, layout: str,
            angle_dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Full-width (seq, d) cos and sin tables, cast to x's dtype as Hugging Face does
    (``.to(dtype=x.dtype)``: no copy when the dtype is already x's)."""
    freqs = np.outer(positions.astype(angle_dtype), _inv_freq(x.shape[-1], base, angle_dtype))
    if layout == "half":
        emb = np.concatenate([freqs, freqs], axis=-1)
    else:
        emb = np.repeat(freqs, 2, axis=-1)
    return np.cos(emb).astype(x.dtype, copy=False), np.sin(emb).astype(x.dtype, copy=False)


def rotate_half(x: np.ndarray) -> np.ndarray:
    """Hugging Face's ``rotate_half``: ``[x1, x2] -> [-x2, x1]``."""
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def rotate_every_two(x: np.ndarray) -> np.ndarray:
    """GPT-J's ``rotate_every_two``: ``(x0, x1) -> (-x1, x0)`` for every interleaved pair."""
    return np.stack((-x[..., 1::2], x[..., ::2]), axis=-1).reshape(x.shape)


def naive_rope(x: np.ndarray, positions: np.ndarray, base: float = BASE,
               layout: str = "interleaved", angle_dtype: type = np.float64) -> np.ndarray:
    """``x * cos + rotate(x) * sin`` with full-width tables (the naive baseline)."""
    cos, sin = _tables(x, positions, base, layout, angle_dtype)
    rotate = rotate_half if layout == "half" else rotate_every_two
    return x * cos + rotate(x) * sin


@dataclass
class KernelCase:
    """One configuration (layout, dtype): per-repetition times of every contender."""

    layout: str
    dtype: str
    threads: int
    """threads ``apply_rope`` uses by default here (one per available core)"""
    times: dict[str, list[float]] = field(default_factory=dict)
    max_diff: dict[str, float] = field(default_factory=dict)
    """largest |contender - answer key| on the benchmark input"""

    def vs(self, name: str, other: str) -> Summary:
        """Per-repetition ``times[name] / times[other]``."""
        return ratios(self.times[name], self.times[other])


def _in_spans(x: np.ndarray, threads: int, op: Callable[..., object]) -> np.ndarray:
    """``op(x_part, out=out_part)`` into a fresh array, split by position between ``threads``
    threads with ``apply_rope``'s own split and thread runner."""
    out = np.empty_like(x)

    def part(start: int, stop: int) -> None:
        op(x[..., start:stop, :], out=out[..., start:stop, :])

    R._in_threads(part, R._spans(x.shape[-2], threads))
    return out


def threaded_copy(x: np.ndarray, threads: int) -> np.ndarray:
    """``x.copy()`` split the way ``apply_rope`` splits it: the floor for a kernel that uses
    those threads."""
    return _in_spans(x, threads, lambda part, out: np.copyto(out, part))


def threaded_pass(x: np.ndarray, threads: int) -> np.ndarray:
    """One numpy ufunc pass over ``x`` (``np.positive`` into a fresh array), split the same way:
    the least that a kernel built from numpy ufuncs, which must read x and write its result at
    least once, costs in those threads."""
    return _in_spans(x, threads, np.positive)


def run_case(layout: str, dtype: str, shape: tuple[int, ...], repeats: int) -> KernelCase:
    """Time copy, the answer key (by default and on one thread) and the naive baselines,
    interleaved, on one configuration."""
    x = np.random.RandomState(0).standard_normal(shape).astype(dtype)
    pos = np.arange(shape[-2], dtype=np.float64)
    threads = R._thread_count(None, x.size)
    fns = {
        "copy": x.copy,
        "apply_rope": lambda: R.apply_rope(x, pos, BASE, layout),
        "apply_rope_1t": lambda: R.apply_rope(x, pos, BASE, layout, threads=1),
        "naive": lambda: naive_rope(x, pos, BASE, layout),
        "pass": lambda: np.positive(x),
    }
    if threads > 1:
        fns["copy_threads"] = lambda: threaded_copy(x, threads)
        fns["pass_threads"] = lambda: threaded_pass(x, threads)
    if dtype == "float32":
        fns["naive_f32_angles"] = lambda: naive_rope(x, pos, BASE, layout, np.float32)
    case = KernelCase(layout, dtype, threads)
    ref = R.apply_rope(x, pos, BASE, layout).astype(np.float64)
    for name in ("naive", "naive_f32_angles"):
        if name in fns:  # correctness first (and a warm-up of every code path)
            case.max_diff[name] = float(np.max(np.abs(fns[name]() - ref)))
    del ref
    case.times = interleaved(fns, repeats)
    return case


@dataclass(frozen=True)
class TableAccuracy:
    """Max error of the angle-addition table (complex128) against direct cos/sin."""

    positions: int
    vs_direct: float
    """max |table - (cos + i sin)(p*theta)|, both float64"""
    vs_extended: float | None
    """max |table - e^{i p theta}| with the angle and cos/sin in long double"""
    direct_vs_extended: float | None
    """the same for the direct float64 evaluation (its own rounding of p*theta)"""
    longdouble_eps: float


def table_accuracy(seq: int, d: int = 128, base: float = BASE) -> TableAccuracy:
    pos = np.arange(seq, dtype=np.float64)
    theta = R.rope_frequencies(d, base)
    table = R._rotation_table(pos, d, base, np.complex128)
    angles = np.multiply.outer(pos, theta)
    cos, sin = np.cos(angles), np.sin(angles)
    vs_direct = float(max(np.max(np.abs(table.real - cos)), np.max(np.abs(table.imag - sin))))
    ld = np.longdouble
    eps = float(np.finfo(ld).eps)
    if eps >= float(np.finfo(np.float64).eps):
        return TableAccuracy(seq, vs_direct, None, None, eps)
    ang = np.multiply.outer(pos.astype(ld), theta.astype(ld))  # error ~ |angle| * 2**-64
    c_ld, s_ld = np.cos(ang), np.sin(ang)

    def err(c: np.ndarray, s: np.ndarray) -> float:
        return float(max(np.max(np.abs(c.astype(ld) - c_ld)), np.max(np.abs(s.astype(ld) - s_ld))))

    return TableAccuracy(seq, vs_direct, err(table.real, table.imag), err(cos, sin), eps)


def run(smoke: bool = False, repeats: int = 9) -> dict[str, object]:
    """Every configuration of benchmark 1 and the table accuracy."""
    shape = SMOKE_SHAPE if smoke else SHAPE
    cases = [run_case(layout, dtype, shape, repeats)
             for layout, dtype in (("interleaved", "float32"), ("interleaved", "float64"),
                                   ("half", "float32"))]
    return {"shape": shape, "repeats": repeats, "cases": cases,
            "accuracy": table_accuracy(shape[-2])}
