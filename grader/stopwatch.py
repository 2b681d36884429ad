"""Time a student's kernel in place, with the grader's clock, against the answer key.

The fallback of :mod:`grader.sidebyside`, for a function that cannot be pickled into a timing
box.  A speed item's hidden test only hands the student's function to :mod:`grader.capture`.
Then, still in the student's kernel session, the grader sends its own short requests and
times each one from outside, in its own process:

1. set-up (not timed): the kernel builds an input from a seed drawn now, at grading time;
2. rounds: the answer key rotates the same input here, then the student's function rotates it
   there, at positions from an offset drawn for that round and first revealed in the timed
   request; the request also returns a checksum that depends on every output value.

Nothing the kernel does can shorten its measured time: the clock is the grader's, the inputs
cannot be computed ahead, and a checksum that matches the answer key's cannot be had without
the whole rotation.  Clock patching, forged captures and cached results gain nothing.  The
reference runs in the grader's process on identical arrays, interleaved round by round with
the student's calls, so both see the same machine load.

The kernel is driven through ``run(code) -> outputs``: :class:`grader.preprocessors.
CappedExecute` passes its own cell executor; tests can pass an in-process one.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import numpy as np

from grader import pause, probes
from grader import payload as P

Run = Callable[[str], Sequence[Any]]
"""Execute code in the student's kernel; returns the request's notebook outputs."""

def _module_call(function: str, *args: Any) -> str:
    return f"__import__('grader.capture', fromlist=['_']).{function}({', '.join(map(repr, args))})"


def _reference(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The answer key on one thread, as it is timed (its result does not depend on threads)."""
    from solutions.rope import apply_rope

    return apply_rope(x, pos, threads=probes.KEY_THREADS)


def key_checksum(x: np.ndarray, weights: np.ndarray, offset: int) -> float:
    """The checksum of the answer key's output at positions from ``offset``."""
    return probes.checksum(_reference(x, probes.stopwatch_positions(x.shape[-2], offset)),
                           weights)


@lru_cache(maxsize=4)
def reference_seconds(shape: tuple[int, ...], dtype: str, repeats: int = 5) -> float:
    """Median time of the answer key on a workload, measured once per grading process."""
    x = probes.stopwatch_array(0, shape, dtype)
    times = []
    for offset in range(repeats + 1):
        t0 = time.perf_counter()
        _reference(x, probes.stopwatch_positions(shape[-2], offset))
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def _checksum_of(outputs: Sequence[Any], item: str) -> P.CallOutcome | str:
    """The one call outcome a timed request emitted, or why there is none."""
    for output in outputs:
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        capture = data.get(P.MIME)
        if isinstance(capture, dict) and capture.get("item") == item:
            try:
                answer = P.from_json(capture.get("answer"))
            except P.PayloadError as exc:
                return f"tampered: {exc}"
            if isinstance(answer, P.CallsAnswer) and len(answer.calls) == 1:
                return answer.calls[0]
            return "tampered: not a timed call"
    return _error_of(outputs) or "the timed call returned nothing"


def _agrees(outcome: P.CallOutcome, expected: float, scale: float) -> bool:
    got = outcome.output
    if got is None or got.shape != () or got.dtype.kind != "f":
        return False
    return probes.checksums_agree(float(got), expected, scale)


class _Rounds:
    """Interleaved rounds on one workload: reference here, student there, same input."""

    def __init__(self, run: Run, item: str, shape: tuple[int, ...], dtype: str,
                 kernel_pid: int | None = None) -> None:
        self.run, self.item, self.shape, self.kernel_pid = run, item, shape, kernel_pid
        seed = secrets.randbelow(2**30)
        with ThreadPoolExecutor(1) as pool:  # build our copy while the kernel builds its own
            ours = pool.submit(probes.timed_inputs, seed, shape, dtype)
            self.setup_error = _error_of(run(_module_call("stopwatch_setup", item, seed,
                                                              shape, dtype)))
            self.x, self.weights, self.scale = ours.result()
        self.student: list[float] = []
        self.reference: list[float] = []

    def round(self, counted: bool) -> str | None:
        """One round; returns what went wrong (``wrong_output`` or the call's error)."""
        offset = 1 + secrets.randbelow(2**20)
        pos = probes.stopwatch_positions(self.shape[-2], offset)
        with pause.paused(self.kernel_pid):  # idle between requests: nothing of it runs now
            t0 = time.perf_counter()
            ref = _reference(self.x, pos)
            t1 = time.perf_counter()
        expected = probes.checksum(ref, self.weights)
        t2 = time.perf_counter()  # the kernel computes a checksum inside its request too
        outputs = self.run(_module_call("stopwatch_call", self.item, offset))
        t3 = time.perf_counter()
        outcome = _checksum_of(outputs, self.item)
        if isinstance(outcome, str):
            return outcome
        if outcome.error:
            return outcome.error
        if not _agrees(outcome, expected, self.scale):
            return "wrong_output"
        if counted:
            self.reference.append(t1 - t0)
            self.student.append(max(t3 - t2 - (t2 - t1), 1e-6))
        return None


def _error_of(outputs: Sequence[Any]) -> str:
    """``"Name: message"`` of a request's error output, or "" when it raised nothing."""
    for output in outputs:
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"[:300]
    return ""


def time_kernel(run: Run, item: str, kernel_pid: int | None = None) -> P.TimingAnswer:
    """Time the function that ``grade(item, fn)`` handed over in the kernel behind ``run``.
    The kernel with pid ``kernel_pid`` and every process it started are paused while the
    answer key is timed here, so that nothing the student left running there (a thread, a
    forked process) slows the key between the student's calls.

    A screening round on a small input comes first: a kernel that would take more than
    ``give_up`` times the reference on the full workload is reported from it (its time, less
    the messaging cost, scaled up), without minutes of timing.  Full-workload times include
    the messaging cost of a request (milliseconds), to the student's disadvantage only.
    Otherwise one warm-up and ``repeats`` timed rounds run on the full workload."""
    spec = probes.TIMINGS[item]
    with pause.paused(kernel_pid):
        full = reference_seconds(spec.shape, spec.dtype)
    try:
        screen = _Rounds(run, item, spec.screen_shape, spec.dtype, kernel_pid)
        if screen.setup_error:
            return P.TimingAnswer((), (), spec.screen_shape, error=screen.setup_error)
        scale = float(np.prod(spec.shape) / np.prod(spec.screen_shape))
        empty = None
        for _ in range(2):  # a second try when the first looks slow (first-call costs)
            problem = screen.round(True)
            if problem:
                return _failed(spec.screen_shape, problem)
            empty = _empty_request(run) if empty is None else empty
            work = max(min(screen.student) - empty, 0.0)  # the kernel's own share
            if work * scale <= spec.give_up * full:
                break
        else:
            return P.TimingAnswer((work,), (full,), spec.screen_shape, scale)
        del screen
        rounds = _Rounds(run, item, spec.shape, spec.dtype, kernel_pid)
        if rounds.setup_error:
            return P.TimingAnswer((), (), spec.shape, error=rounds.setup_error)
        for counted in [False] + [True] * spec.repeats:
            problem = rounds.round(counted)
            if problem:
                return _failed(spec.shape, problem)
        return P.TimingAnswer(tuple(rounds.student), tuple(rounds.reference), spec.shape)
    finally:
        with contextlib.suppress(Exception):  # a dead kernel: the notebook's run reports it
            run(_module_call("stopwatch_done", item))


def _empty_request(run: Run) -> float:
    """The shortest of a few do-nothing requests: the messaging cost inside a timed call.
    Used only to scale the small screening call up (full-workload times are not reduced)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run("None")
        times.append(time.perf_counter() - t0)
    return min(times)


def _failed(shape: tuple[int, ...], problem: str) -> P.TimingAnswer:
    if problem == "wrong_output":
        return P.TimingAnswer((), (), shape, wrong_output=True)
    return P.TimingAnswer((), (), shape, error=problem)
