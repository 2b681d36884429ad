"""Time a student's kernel against the answer key side by side, in one sandboxed process.

After a speed item's hidden test, the student's kernel pickles the function it was handed
(cloudpickle: the function and whatever it uses from the notebook) and nothing more.  The
grader then starts a timing box (:mod:`grader.timebox`) in the same sandbox as the student's
kernel, and drives it: the answer key's rounds first, then the key is dropped, then the
student's function is loaded and timed on the same input, in the same process, with the
grader's clock around each request.  Every timed result of the student's is checked against
the checksum of the key's output at that round's offset, which the grader draws and checks
on its own copy of the input while the box starts; the box learns each offset only in its
timed request.

A request's time is the grader's clock less the time the box's serving thread spent ready
to run but waiting for a CPU (/proc/<pid>/schedstat), so that a class graded beside other
work, or with more notebooks at once than cores, is timed as on an idle machine: the key's
rounds and the student's do not run at the same moment, and the load may change in between.
It is never less than the CPU time the whole box used meanwhile (every thread and process in
it), so work handed to other threads while the serving thread waits is still counted.

When the function cannot be pickled, or no box can start, :func:`time_kernel` returns None and
the caller times the kernel in place instead (:mod:`grader.stopwatch`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from grader import pause, probes, procstat, stopwatch
from grader import payload as P

Run = Callable[[str], Sequence[Any]]
"""Execute code in the student's kernel; returns the request's notebook outputs."""

KEY_FUNCTION = "apply_rope"
"""The answer key's function a speed item is timed against."""
_STEP_S = 60.0
"""Time allowed for each untimed step of the grader's (start, set-up, the key's rounds)."""
_LOAD_S = 20.0
"""Time allowed for loading the student's function (unpickling runs student code)."""


class _Stop(Exception):
    """The box stopped answering: died, timed out or replied nonsense."""

    def __init__(self, reason: str, elapsed: float = 0.0, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.elapsed, self.timed_out = elapsed, timed_out


def charged(wall: float, waited: float, cpu: float) -> float:
    """The seconds a request is charged: the clock's ``wall`` less the time the serving
    thread ``waited`` for a CPU, but at least the ``cpu`` time of the whole box (less the
    resolution of that count)."""
    return max(wall - waited, cpu - procstat.TICK)


class _Box:
    """One timing box process, spoken to one JSON line at a time."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        self._pending = b""
        self.busy = False
        self.server: int | None = None
        """pid of the process serving requests, once :meth:`find_server` has seen it"""

    def find_server(self) -> None:
        """Find the process that serves requests (``python -m grader.timebox``, in the
        sandbox's own process tree when there is one); call it before any student code
        exists in the box."""
        for pid in procstat.tree(self.proc.pid):
            if procstat.cmdline(pid)[-2:] == ["-m", "grader.timebox"]:
                self.server = pid

    def _usage(self) -> tuple[float, float] | None:
        """(seconds the serving thread has waited for a CPU, CPU seconds of the whole box),
        or None when either cannot be read here."""
        stat = procstat.schedstat(self.server) if self.server is not None else None
        cpu = procstat.tree_cpu_seconds(self.proc.pid)
        return None if stat is None or cpu is None else (stat[1], cpu)

    def ask(self, request: dict[str, Any] | None, timeout: float) -> tuple[dict[str, Any],
                                                                         float]:
        """Send a request; its reply and the seconds it is charged (see :func:`charged`;
        the clock's seconds from sending to the reply's last byte when the box's use of the
        CPU cannot be read)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        before = self._usage() if request is not None else None
        t0 = time.perf_counter()
        if request is not None:
            try:
                self.proc.stdin.write(json.dumps(request).encode() + b"\n")
                self.proc.stdin.flush()
            except (OSError, ValueError) as exc:  # ValueError: closed meanwhile
                raise _Stop(f"the timing process ended ({exc})") from exc
        fd = self.proc.stdout.fileno()
        self.busy = True
        while b"\n" not in self._pending:
            left = timeout - (time.perf_counter() - t0)
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _Stop("timeout", time.perf_counter() - t0, timed_out=True)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Stop("the timing process ended", time.perf_counter() - t0)
            self._pending += chunk
        elapsed = time.perf_counter() - t0
        self.busy = False
        after = self._usage() if before is not None else None
        if before is not None and after is not None:
            elapsed = charged(elapsed, after[0] - before[0], after[1] - before[1])
        line, self._pending = self._pending.split(b"\n", 1)
        try:
            reply = json.loads(line)
        except ValueError as exc:
            raise _Stop("the timing process replied nonsense") from exc
        if not isinstance(reply, dict):
            raise _Stop("the timing process replied nonsense")
        return reply, elapsed

    def close(self) -> None:
        """End the process (and everything it started): at once if a request is still
        waiting for its reply, else by closing its input."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=0 if self.busy else 2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def box_command(kernel_argv: Sequence[str]) -> tuple[list[str], dict[str, str], str | None]:
    """The timing box's command line, environment and private folder (to remove after), for
    the sandbox the student's kernel runs in (its kernelspec's ``argv``)."""
    argv = list(kernel_argv)
    if len(argv) >= 4 and argv[1:3] == ["-m", "grader.sandbox"]:
        runtime = tempfile.mkdtemp(prefix="rope-timebox-")
        return [argv[0], "-m", "grader.sandbox", "--timebox", argv[3], runtime], dict(
            os.environ), runtime
    python = argv[0] if argv and os.path.isabs(argv[0]) else sys.executable
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    return [python, "-m", "grader.timebox"], env, None


def export_function(run: Run, item: str) -> str | None:
    """The student's function, pickled in their kernel (base64), or None when it cannot be."""
    outputs = run(f"__import__('grader.capture', fromlist=['_']).stopwatch_export({item!r})")
    for output in outputs:
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        capture = data.get(P.MIME)
        if isinstance(capture, dict) and capture.get("item") == item:
            function = capture.get("function")
            return function if isinstance(function, str) else None
    return None


def _key_modules() -> list[list[str]]:
    """The answer key's kernel modules as ``[name, source]``, each after those it imports."""
    from solutions import rope, rope_table

    return [[module.__name__, Path(module.__file__).read_text(encoding="utf-8")]
            for module in (rope_table, rope)]


def _offset() -> int:
    return 1 + secrets.randbelow(2**20)


def _prepare(seed: int, spec: probes.TimingSpec, offsets: Sequence[int]
             ) -> tuple[float, list[float]]:
    """Our copy of the timed input: its checksum scale, and the key's checksum at each
    offset (drawn here, revealed to the box one request at a time)."""
    x, weights, scale = probes.timed_inputs(seed, spec.shape, spec.dtype)
    return scale, [stopwatch.key_checksum(x, weights, offset) for offset in offsets]


class TimingBox:
    """A timing box for one speed item, started ahead of need: in a background thread (while
    the student's notebook runs) the box starts, builds its input and loads the answer key,
    and then the grader computes its checksums.  :meth:`time` then only exports the
    student's function and runs the timed rounds.  Close it (or use it as a context manager)
    to end the box, used or not."""

    def __init__(self, item: str, kernel_argv: Sequence[str]) -> None:
        self.item, self.spec = item, probes.TIMINGS[item]
        self._seed = secrets.randbelow(2**30)
        self._offsets = [_offset() for _ in range(self.spec.repeats + 2)]  # key's 1st, student's
        self._argv, self._env, self._runtime = box_command(kernel_argv)
        self._box: _Box | None = None
        self._closed = False
        # one thread, one step after the other: with the student's kernel running, the box's
        # start-up and our checksums take the other core in turn rather than share it
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="timing-box")
        self._ready = self._pool.submit(self._start)
        self._ours = self._pool.submit(self._checksums)

    def _start(self) -> bool:
        """Start the box, build its input and load the key; False when any of it fails."""
        try:
            self._box = box = _Box(self._argv, self._env)
        except OSError:
            return False
        try:
            if self._closed:  # closed while starting: nothing will use it
                return False
            box.ask(None, _STEP_S)  # "ready"
            box.find_server()
            setup, _ = box.ask({"op": "setup", "seed": self._seed,
                                "shape": list(self.spec.shape), "dtype": self.spec.dtype},
                               _STEP_S)
            key, _ = box.ask({"op": "key", "modules": _key_modules(), "name": KEY_FUNCTION,
                              "threads": probes.KEY_THREADS}, _STEP_S)
        except _Stop:
            return False
        return bool(setup.get("ok") and key.get("ok"))

    def _checksums(self) -> tuple[float, list[float]] | None:
        """Our checksums (see :func:`_prepare`), once the box is ready; None if it is not."""
        if not self._ready.result() or self._closed:
            return None
        return _prepare(self._seed, self.spec, self._offsets)

    def time(self, run: Run, kernel_pid: int | None = None) -> P.TimingAnswer | None:
        """Time the function ``grade(item, fn)`` handed over in the student's kernel, side by
        side with the answer key; None when that cannot be done here (the caller then times
        it in place).  The kernel with pid ``kernel_pid`` and every process it started are
        paused while the rounds run (:mod:`grader.pause`)."""
        function = export_function(run, self.item)
        if function is None or self._closed:
            return None
        ours = self._ours.result()
        if ours is None or self._box is None:
            return None
        scale, expected = ours
        with pause.paused(kernel_pid):
            return _rounds(self._box, scale, list(zip(self._offsets, expected)), function,
                           self.spec, self._seed)

    def close(self) -> None:
        """End the box, at once if it is still starting, and remove its private folder."""
        self._closed = True
        if self._box is not None and not self._ready.done():
            self._box.close()  # a start in progress ends with the process
        with contextlib.suppress(Exception):
            self._ready.result()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._box is not None:
            self._box.close()
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)

    def __enter__(self) -> TimingBox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def time_kernel(run: Run, item: str, kernel_argv: Sequence[str]) -> P.TimingAnswer | None:
    """Time the function ``grade(item, fn)`` handed over, side by side with the answer key in
    one timing box started now; None when that cannot be set up (the caller then times it in
    place)."""
    with TimingBox(item, kernel_argv) as box:
        return box.time(run)


def _agrees(reply: dict[str, Any], expected: float, scale: float) -> bool:
    got = reply.get("checksum")
    return isinstance(got, float) and probes.checksums_agree(got, expected, scale)


def _rounds(box: _Box, scale: float, checks: list[tuple[int, float]], function: str,
            spec: probes.TimingSpec, seed: int) -> P.TimingAnswer | None:
    """The key's rounds, then the student's, in the box; None when the key's own go wrong.
    ``checks`` are (offset, key's checksum): the first for the key's first round, the rest
    for the student's rounds. Rounds whose checksums disagree with the key's are still timed,
    their checksums kept: the function may be right for the student's own earlier answers
    (:mod:`grader.speedcarry`); the record says wrong_output all the same."""
    reference: list[float] = []
    overhead: list[float] = []  # computing the checksum, inside each timed request
    try:
        for counted in [False] + [True] * spec.repeats:
            offset, expected = checks[0] if not counted else (_offset(), None)
            reply, seconds = box.ask({"op": "call", "offset": offset}, _STEP_S)
            if expected is not None and not _agrees(reply, expected, scale):
                return None  # the box's key disagrees with ours: a grader fault
            took = reply.get("checksum_s")
            if not isinstance(took, float) or not 0 <= took < seconds:
                return None
            if counted:
                reference.append(seconds - took)
                overhead.append(took)
        gone, _ = box.ask({"op": "forget"}, _STEP_S)
        loaded, _ = box.ask({"op": "load", "function": function}, _LOAD_S)
    except _Stop:
        return None
    if not (gone.get("ok") and loaded.get("ok")):
        return None  # e.g. a module the box lacks: fall back to timing in the kernel
    checksum_s = float(np.median(overhead))  # the key's, measured before student code ran
    limit = spec.give_up * float(np.median(reference)) + checksum_s + 1.0
    student: list[float] = []
    sums: list[tuple[int, float]] = []  # (offset, the student's checksum) of every round
    wrong = False
    timing = dict(reference_s=tuple(reference), shape=spec.shape, side_by_side=True)
    for counted, (offset, expected) in zip([False] + [True] * spec.repeats, checks[1:]):
        try:
            reply, seconds = box.ask({"op": "call", "offset": offset}, limit)
        except _Stop as stop:
            if stop.timed_out:  # slower than the limit: that is all we need to know
                return P.TimingAnswer((max(stop.elapsed, limit) - checksum_s,), cut_off=True,
                                      **timing)
            return P.TimingAnswer((), error=f"the function crashed its process ({stop})",
                                  **timing)
        if reply.get("error"):
            return P.TimingAnswer((), error=str(reply["error"])[:300], **timing)
        got = reply.get("checksum")
        if not isinstance(got, float) or reply.get("dtype") != spec.dtype:
            return P.TimingAnswer((), wrong_output=True, **timing)  # no values, or x's dtype
        sums.append((offset, got))
        wrong = wrong or not _agrees(reply, expected, scale)
        if counted:
            student.append(max(seconds - checksum_s, 1e-6))
    if wrong:
        return P.TimingAnswer(tuple(student), wrong_output=True, seed=seed, rounds=tuple(sums),
                              **timing)
    return P.TimingAnswer(tuple(student), **timing)
