"""``apply_rope(..., threads=n)``: the work is split by position between threads, and the result
is the same array, bit for bit, whatever ``n`` (each table entry is the same product, whichever
thread builds it). The grader times the key on one thread."""

from __future__ import annotations

import functools
import gc
import sys
import threading
import time

import numpy as np
import pytest

from grader import probes, sidebyside, stopwatch, timebox
from solutions import rope, rope_table
from solutions.rope import apply_rope
from solutions.scaling import position_interpolation

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


@pytest.mark.parametrize("chunk", [rope._CHUNK_BYTES, 48], ids=["chunks", "tiny chunks"])
@pytest.mark.parametrize("layout", rope.LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_thread_count_gives_the_same_bits(case: str, layout: str, chunk: int,
                                                monkeypatch) -> None:
    """Is the result of 2, 3, 7 and 64 threads identical to one thread's, bit for bit? (With
    tiny chunks, each thread's rows are rotated a few at a time.)"""
    monkeypatch.setattr(rope, "_CHUNK_BYTES", chunk)
    x, positions = CASES[case]
    before = x.copy()
    one = apply_rope(x, positions, layout=layout, threads=1)
    for threads in (2, 3, 7, 64):
        many = apply_rope(x, positions, layout=layout, threads=threads)
        assert many.dtype == one.dtype and many.shape == one.shape
        assert many.tobytes() == one.tobytes(), threads
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(("n", "workers", "expected"), [
    (100, 2, [(0, 50), (50, 100)]),
    (100, 3, [(0, 33), (33, 66), (66, 100)]),
    (5, 8, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
    (16384, 2, [(0, 8192), (8192, 16384)]),
    (3, 1, [(0, 3)]),
])
def test_spans_cover_the_rows_once(n: int, workers: int, expected: list) -> None:
    assert rope._spans(n, workers) == expected


@pytest.mark.parametrize("positions", [np.arange(37) * 0.25 + 3, np.arange(36) * 3 - 50.0,
                                       RNG.uniform(-50, 50, 37)],
                         ids=["angle addition", "whole blocks", "direct"])
def test_any_rows_of_the_table_are_those_rows_of_the_whole(positions: np.ndarray) -> None:
    """Rows asked for alone (in blocks of 7 for 37 positions, 6 for 36) or written into scratch
    space are bit for bit those rows of the whole table, which matches cos/sin to 1e-14."""
    n = positions.shape[0]
    rows = rope_table.table_maker(positions, rope.rope_frequencies(16), np.dtype(np.complex128))
    whole = rows(0, n)
    angles = np.multiply.outer(positions, rope.rope_frequencies(16))
    np.testing.assert_allclose(whole, np.cos(angles) + 1j * np.sin(angles), rtol=0, atol=1e-14)
    scratch = np.full((n, 8), np.nan, dtype=np.complex128)
    for start, stop in [(0, 1), (3, 10), (6, 7), (7, 14), (13, n), (n - 1, n), (30, n),
                        (5, 35), (0, n)]:
        assert rows(start, stop).tobytes() == whole[start:stop].tobytes(), (start, stop)
        filled = rows(start, stop, scratch)
        assert filled.base is scratch or filled is scratch
        assert filled.tobytes() == whole[start:stop].tobytes(), (start, stop)


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
    assert rope._thread_count(None, 1000) == 1
    assert rope._thread_count(None, 2 * rope._THREAD_ELEMENTS) == 2
    assert rope._thread_count(None, 100 * rope._THREAD_ELEMENTS) == 4
    assert rope._thread_count(np.int64(3), 10) == 3


def test_the_grader_times_the_key_on_one_thread(monkeypatch) -> None:
    """The in-kernel stopwatch's reference and the timing box's key both get KEY_THREADS = 1,
    and the box is told so in its ``key`` request (which has no default for it)."""
    assert probes.KEY_THREADS == 1
    seen: list[object] = []
    real = rope.apply_rope
    monkeypatch.setattr(rope, "apply_rope", lambda x, pos, **kw: seen.append(kw) or real(
        x, pos, **kw))
    stopwatch._reference(_x((2, 8, 8)), np.arange(8.0))
    assert seen == [{"threads": 1}]

    asked: list[dict] = []

    class FakeBox:
        def __init__(self, argv: object, env: object) -> None:
            pass

        def ask(self, request: dict | None, timeout: float) -> tuple[dict, float]:
            asked.append(request or {})
            return {"ok": True}, 0.0

        def find_server(self) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(sidebyside, "_Box", FakeBox)
    monkeypatch.setattr(sidebyside, "_prepare", lambda *args: (1.0, []))
    with sidebyside.TimingBox("apply_rope_speed", [sys.executable]) as box:
        assert box._ready.result(timeout=30)
    key = next(request for request in asked if request.get("op") == "key")
    assert key["threads"] == 1 and key["name"] == "apply_rope"

    inside = timebox._Box()
    assert [name for name, _ in key["modules"]] == ["solutions.rope_table", "solutions.rope"]
    assert inside.key(key["modules"], "apply_rope", threads=1) == {"ok": True}
    assert isinstance(inside.fn, functools.partial) and inside.fn.keywords == {"threads": 1}
    loaded = sys.modules["solutions.rope_table"]
    assert loaded is not rope_table and inside.fn.func.__globals__["table_maker"] is (
        loaded.table_maker)  # the box's rope uses the box's table module
    x, positions = _x((2, 8, 8)), np.arange(8.0)
    assert np.array_equal(inside.fn(x, positions), apply_rope(x, positions))
    assert inside.forget() == {"ok": True} and inside.fn is None
    assert sys.modules["solutions.rope_table"] is rope_table  # put back as it was


def _failing_job(fail: dict[int, BaseException]):
    done: list[int] = []

    def job(start: int, stop: int) -> None:
        if start in fail:
            raise fail[start]
        time.sleep(0.05)
        done.append(start)

    return job, done


def test_the_earliest_failed_span_is_raised_after_every_thread_has_finished() -> None:
    job, done = _failing_job({20: KeyError("second"), 30: ValueError("third")})
    before = threading.active_count()
    with pytest.raises(KeyError, match="second"):
        rope._in_threads(job, [(0, 10), (10, 20), (20, 30), (30, 40)])
    assert sorted(done) == [0, 10] and threading.active_count() == before


def test_a_ctrl_c_in_the_caller_wins_and_no_helper_is_left_running() -> None:
    job, done = _failing_job({0: KeyboardInterrupt(), 10: ValueError("helper")})
    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        rope._in_threads(job, [(0, 10), (10, 20), (20, 30)])
    assert done == [20] and threading.active_count() == before


def test_a_helper_that_cannot_start_leaves_no_other_running(monkeypatch) -> None:
    job, done = _failing_job({})
    started: list[int] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        if started:
            raise RuntimeError("can't start new thread")
        started.append(1)
        real_start(self)

    before = threading.active_count()
    monkeypatch.setattr(threading.Thread, "start", start)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        rope._in_threads(job, [(0, 10), (10, 20), (20, 30)])
    assert done == [10] and threading.active_count() == before


def test_an_error_leaves_no_reference_cycle_holding_the_arrays() -> None:
    """After a NaN error on two threads, the output and table are freed without the GC."""
    x = _x((2, 4000, 64))
    x[1, 3999, 0] = np.inf
    gc.collect()
    gc.disable()
    try:
        with pytest.raises(ValueError, match="NaN or infinity"):
            apply_rope(x, np.arange(4000), threads=2)
        assert gc.collect() == 0
    finally:
        gc.enable()
