"""The speed item: the grader's clock times the student's kernel against the answer key on
inputs drawn at grading time, and each timed result is checked by a whole-output checksum.

Here the "kernel" is this process (``run`` executes the grader's requests with ``exec``); the
nbgrader-level tests drive a real sandboxed kernel the same way."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from grader import capture, probes, procstat, stopwatch
from grader import payload as P
from grader.items import REGISTRY
from grader.kernels import SpeedCheck
from grader.samples import LOOP_ROPE
from grader.scoring import judge
from solutions.rope import apply_rope

ITEM = "apply_rope_speed"
FULL = probes.TIMINGS[ITEM].shape


@pytest.fixture
def run(monkeypatch):
    """Execute grader requests here, collecting what the capture module emits."""
    outputs: list[dict] = []

    def emit(item, answer):
        outputs.append({"output_type": "display_data",
                        "data": {P.MIME: {"item": item, "answer": P.to_json(answer)}}})

    monkeypatch.setattr(capture, "_emit", emit)

    def execute(code: str) -> list[dict]:
        outputs.clear()
        try:
            exec(code, {})
        except Exception as exc:
            outputs.append({"output_type": "error", "ename": type(exc).__name__,
                            "evalue": str(exc)})
        return list(outputs)

    return execute


def _time(run, fn) -> tuple[P.TimingAnswer, object]:
    capture._capture(ITEM, fn)
    record = stopwatch.time_kernel(run, ITEM)
    again = P.from_json(P.to_json(record))  # as it travels in the cell's metadata
    assert again == record
    return record, judge(REGISTRY[ITEM], record)


def _sample_loop():
    """The demo's Python-loop apply_rope (right values, hopelessly slow)."""
    namespace = {"np": np}
    exec(LOOP_ROPE, namespace)
    return namespace["apply_rope"]


loop_rope = _sample_loop()


def test_the_answer_key_is_as_fast_as_itself(run) -> None:
    """Does the reference, timed as a student's kernel, earn the points on the full workload
    with one warm-up and the spec's interleaved rounds?"""
    record, j = _time(run, apply_rope)
    assert (j.fraction, j.tag) == (1.0, "ok")
    assert record.shape == FULL and record.scale == 1.0
    assert len(record.student_s) == len(record.reference_s) == probes.TIMINGS[ITEM].repeats


def test_python_loop_is_screened_quickly(run) -> None:
    """Is a Python loop judged from the small screening input, its time scaled up?"""
    record, j = _time(run, loop_rope)
    assert (j.fraction, j.tag) == (0.0, "far_too_slow")
    assert record.shape == probes.TIMINGS[ITEM].screen_shape
    assert record.scale == np.prod(FULL) / np.prod(record.shape)


def test_fast_but_wrong_kernel_earns_nothing(run) -> None:
    """Does an apply_rope that returns its input unchanged get no speed points?"""
    _record, j = _time(run, lambda x, p, base=10000.0: x)
    assert (j.fraction, j.tag) == (0.0, "wrong_values")


def test_a_cached_result_fails_the_checksum(run) -> None:
    """Does a kernel that returns its first result again (a cache) fail, since every round
    uses new positions?"""
    cache = {}

    def cached(x, p, base=10000.0):
        return cache.setdefault(x.shape, apply_rope(x, p, base))

    _record, j = _time(run, cached)
    assert (j.fraction, j.tag) == (0.0, "wrong_values")


def test_changing_the_input_in_place_fails(run) -> None:
    """Does a kernel that overwrites its input get no speed points (the next round's
    result is then wrong)?"""
    def in_place(x, p, base=10000.0):
        x[...] = apply_rope(x, p, base)
        return x

    _record, j = _time(run, in_place)
    assert (j.fraction, j.tag) == (0.0, "wrong_values")


def test_failing_timing_reports_the_exception(run) -> None:
    """Does an apply_rope that raises get the exception tag and its message, and one that
    still raises the release's NotImplementedError the missing tag?"""
    def raises(x, p, base=10000.0):
        raise RuntimeError("broken on large inputs")

    _record, j = _time(run, raises)
    assert (j.fraction, j.tag) == (0.0, "exception")
    assert "RuntimeError: broken on large inputs" in j.message

    def stub(x, p, base=10000.0):
        raise NotImplementedError()

    _record, j = _time(run, stub)
    assert (j.fraction, j.tag, j.verdict.value) == (0.0, "missing", "missing")


@pytest.mark.parametrize("forged", [np.asarray(0.0), np.asarray("fast"), np.zeros(3), None])
def test_a_forged_timed_call_is_a_wrong_output(run, monkeypatch, forged) -> None:
    """Does a kernel that skips the work and emits a made-up checksum get nothing?"""
    def skip(item, offset):
        capture._emit(item, P.CallsAnswer((P.CallOutcome(forged),)))

    monkeypatch.setattr(capture, "stopwatch_call", skip)
    _record, j = _time(run, apply_rope)
    assert (j.fraction, j.tag) == (0.0, "wrong_values")


@pytest.mark.parametrize(("ratio", "fraction", "tag"), [
    (1.0, 1.0, "ok"), (2.9, 1.0, "ok"), (10.0, 0.5, "slow_kernel"), (25.0, 0.0, "far_too_slow"),
])
def test_speed_thresholds(ratio: float, fraction: float, tag: str) -> None:
    """Are speed points given at <= 3x the reference (all) and <= 20x (half)?"""
    record = P.TimingAnswer((0.5 * ratio,) * 5, (0.5,) * 5, FULL)
    assert record.ratio == pytest.approx(ratio)
    # each side's fastest round counts: a disturbed round (either side) moves nothing
    noisy = P.TimingAnswer((0.5 * ratio, 0.5 * ratio * 3, 0.5 * ratio * 1.5), (0.5, 0.6, 30.0),
                           FULL)
    assert noisy.ratio == pytest.approx(ratio)
    j = SpeedCheck().judge(record, ITEM, {})
    assert (j.fraction, j.tag) == (fraction, tag)


def test_a_timeout_is_reported_as_a_loop() -> None:
    """Does a timed call that ran past the cell limit count as a Python loop?"""
    record = P.TimingAnswer((), (), FULL, error="CellTimeoutError: no reply from kernel")
    assert SpeedCheck().judge(record, ITEM, {}).tag == "far_too_slow"


def test_an_empty_record_is_refused() -> None:
    """Is a record without times judged unusable, never fast?"""
    j = SpeedCheck().judge(P.TimingAnswer((), (), FULL), ITEM, {})
    assert (j.fraction, j.tag) == (0.0, "tampered")


def test_the_kernels_processes_are_paused_while_the_key_is_timed(run, monkeypatch) -> None:
    """In the fallback the key runs here between the student's calls: a process the student
    left spinning (standing in for the kernel, with a spinning child) is stopped for every
    timing of the key, and runs again afterwards."""
    import subprocess
    import sys

    from tests.test_pause import SPINNER, _state_and_cpu

    kernel = subprocess.Popen([sys.executable, "-c", SPINNER], stdout=subprocess.PIPE, text=True)
    try:
        child = int(kernel.stdout.readline())
        seen: list[set[str]] = []
        key = stopwatch._reference

        def watched(x, pos):
            seen.append({_state_and_cpu(pid)[0] for pid in (kernel.pid, child)})
            return key(x, pos)

        monkeypatch.setattr(stopwatch, "_reference", watched)
        stopwatch.reference_seconds.cache_clear()
        capture._capture(ITEM, apply_rope)
        record = stopwatch.time_kernel(run, ITEM, kernel.pid)
        assert record.student_s and not record.error
        # reference_seconds' 6 calls, 2 screening rounds at most, a warm-up and the repeats
        assert len(seen) >= 6 + 1 + 1 + probes.TIMINGS[ITEM].repeats
        running = [(k, sorted(states)) for k, states in enumerate(seen) if states != {"T"}]
        assert not running, (len(seen), running)
        assert {_state_and_cpu(pid)[0] for pid in (kernel.pid, child)} <= {"R", "S"}
    finally:
        stopwatch.reference_seconds.cache_clear()
        for pid in reversed(procstat.tree(kernel.pid)):
            os.kill(pid, signal.SIGKILL)
        kernel.wait(timeout=10)
