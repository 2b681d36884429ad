"""``apply_rope(..., threads=n)``: the work is split by position between threads, and the result
is the same array, bit for bit, whatever ``n`` (each table entry is the same product, whichever
thread builds it). The grader times the key on one thread."""

from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

from grader import probes, sidebyside, stopwatch, timebox
from solutions import rope
from solutions.rope import apply_rope, position_interpolation

RNG = np.random.default_rng(11)


def _x(shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


CASES = {
    # name: (x, positions); seq 100 gives angle-addition blocks of 10 rows, seq 37 blocks of 7
    "f32 integers": (_x((3, 100, 16)), np.arange(100)),
    "f64 offset step": (_x((2, 100, 8), np.float64), 7 + 3 * np.arange(100)),
    "f32 interpolated": (_x((100, 32)), position_interpolation(np.arange(100), 400, 100)),
    "f64 irregular": (_x((2, 37, 8), np.float64), RNG.uniform(-900, 900, 37)),
    "f16": (_x((2, 37, 8), np.float16), np.arange(37)),
    "strided": (_x((40, 2, 16)).transpose(1, 0, 2)[:, ::2], np.arange(20)),
    "big-endian f64": (_x((37, 8), np.float64).astype(">f8"), np.arange(37)),
    "one row": (_x((4, 1, 8)), np.array([5.0])),
}


@pytest.mark.parametrize("layout", rope.LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_thread_count_gives_the_same_bits(case: str, layout: str) -> None:
    """Is the result of 2, 3, 7 and 64 threads identical to one thread's, bit for bit?"""
    x, positions = CASES[case]
    before = x.copy()
    one = apply_rope(x, positions, layout=layout, threads=1)
    for threads in (2, 3, 7, 64):
        many = apply_rope(x, positions, layout=layout, threads=threads)
        assert many.dtype == one.dtype and many.shape == one.shape
        assert many.tobytes() == one.tobytes(), threads
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(("n", "grain", "workers", "expected"), [
    (100, 10, 2, [(0, 50), (50, 100)]),
    (100, 10, 3, [(0, 40), (40, 80), (80, 100)]),
    (37, 7, 2, [(0, 21), (21, 37)]),
    (5, 1, 8, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
    (16384, 128, 2, [(0, 8192), (8192, 16384)]),
    (3, 2, 1, [(0, 3)]),
])
def test_spans_cover_the_rows_once_and_start_on_a_block(n, grain, workers, expected) -> None:
    spans = rope._spans(n, grain, workers)
    assert spans == expected
    assert all(start % grain == 0 for start, _ in spans)


def test_an_error_in_another_thread_reaches_the_caller() -> None:
    """Does a NaN in the last span (checked by the second thread) raise in the caller?"""
    x = _x((2, 100, 8))
    x[1, 99, 3] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinity"):
        apply_rope(x, np.arange(100), threads=2)


def test_helper_threads_are_gone_after_the_call() -> None:
    before = threading.active_count()
    apply_rope(_x((2, 100, 8)), np.arange(100), threads=4)
    assert threading.active_count() == before


@pytest.mark.parametrize(("threads", "message"), [
    (0, "threads must be at least 1, got 0"),
    (-2, "threads must be at least 1, got -2"),
    (1.5, "threads must be a positive integer or None"),
    (True, "threads must be a positive integer or None"),
    ("2", "threads must be a positive integer or None"),
])
def test_a_bad_thread_count_is_refused(threads: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_rope(_x((4, 8)), np.arange(4), threads=threads)


def test_by_default_small_inputs_take_one_thread_and_large_ones_one_per_core(
        monkeypatch) -> None:
    monkeypatch.setattr(rope.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert rope._workers(None, 1000) == 1
    assert rope._workers(None, 2 * rope._THREAD_ELEMENTS) == 2
    assert rope._workers(None, 100 * rope._THREAD_ELEMENTS) == 4
    assert rope._workers(np.int64(3), 10) == 3


def test_the_grader_times_the_key_on_one_thread(monkeypatch) -> None:
    """The in-kernel stopwatch's reference and the timing box's key both get threads=1."""
    assert probes.TimingSpec().key_threads == 1
    seen: list[object] = []
    real = rope.apply_rope
    monkeypatch.setattr(rope, "apply_rope", lambda x, pos, **kw: seen.append(kw) or real(
        x, pos, **kw))
    stopwatch._reference(_x((2, 8, 8)), np.arange(8.0))
    assert seen == [{"threads": 1}]

    box = timebox._Box()
    assert box.key(sidebyside._key_source(), "apply_rope", threads=1) == {"ok": True}
    assert isinstance(box.fn, functools.partial) and box.fn.keywords == {"threads": 1}
