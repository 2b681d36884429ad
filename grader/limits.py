"""Hard time limits for untrusted computations (CAS calls, student-shaped expressions).

A signal-based limit only works on the main thread, and sympy can spin in C-level loops,
so the calls run in a forked child process that is killed when its time is up.  The parent
waits on a pipe, never on the child's good will.

:func:`run_each` runs a batch of calls one after another in one child, each with its own
limit: a notebook's checks cost one fork, not one each.  A call that times out or kills the
child is charged to that call alone; the rest go on in a fresh child.  :class:`Worker` does
the same for calls that arrive one at a time.

The limit counts the CPU time the checking child and its own children (a proof attempt runs
in one) spend on the call, read from /proc, not the wall clock: a class graded with more
workers than cores, or beside a running notebook, slows every check down, and an answer must
not come back "too complex" because the machine was busy.  A call that does not use its CPU
time (it waits) is still stopped after ``WALL_FACTOR`` times its limit on the wall clock.
Without /proc the limit is on the wall clock.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from grader import procstat

T = TypeVar("T")

DEFAULT_SECONDS = 5.0
"""The default per-call limit, in seconds of CPU time."""
WALL_FACTOR = 8.0
"""A call is stopped after this many times its limit on the wall clock, whatever CPU time it
used: the backstop for a call that waits instead of computing."""
_SLICE_S = 1.0
"""The longest wait between two readings of the child's CPU time."""


class CheckTimeout(Exception):
    """The computation did not finish within its time limit."""


class CheckCrashed(Exception):
    """The computation died (killed, out of memory) or returned something unpicklable."""


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How one call ended: ``ok`` (``value``), ``error`` (the exception's type and message),
    ``timeout`` or ``crashed`` (``message`` says what happened)."""

    status: str
    value: T | None = None
    message: str = ""

    def unwrap(self) -> T:
        """The value, or the failure raised: :class:`CheckTimeout`, :class:`CheckCrashed`,
        or ``RuntimeError("<Type>: <message>")`` for an exception of the call."""
        if self.status == "ok":
            return self.value  # type: ignore[return-value]
        if self.status == "timeout":
            raise CheckTimeout(self.message)
        if self.status == "crashed":
            raise CheckCrashed(self.message)
        raise RuntimeError(self.message)


def _reply(fn: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    """The pickled ``(status, value)`` of ``fn(*args)``; every failure is reported."""
    try:
        payload: tuple[str, Any] = ("ok", fn(*args))
    except BaseException as exc:  # report every failure to the parent
        payload = ("error", f"{type(exc).__name__}: {str(exc)[:500]}")
        traceback.clear_frames(exc.__traceback__)
    try:
        return pickle.dumps(payload)
    except Exception as exc:  # an unpicklable result is this call's failure
        return pickle.dumps(("crashed", f"unpicklable result: {exc}"[:500]))


def _child(conn: Any, fn: Callable[..., Any], calls: Iterable[tuple[Any, ...]]) -> None:
    """A checking child: reply to every call in ``calls``, in order, then exit."""
    try:
        for args in calls:
            conn.send_bytes(_reply(fn, args))
    except BaseException:
        pass
    finally:
        conn.close()
        os._exit(0)


def _outcome(data: bytes) -> Outcome[Any]:
    """The :class:`Outcome` of one reply of a checking child."""
    status, value = pickle.loads(data)
    return Outcome("ok", value) if status == "ok" else Outcome(status, message=value)


def _await(conn: Any, pid: int, seconds: float) -> str:
    """Wait for the reply to the call the child ``pid`` is computing: "" once ``conn`` has
    data (or the child is gone, which reading then shows), else why the call ran out of time:
    ``seconds`` of CPU time of the child and its own children (a proof attempt runs in one)
    since this wait began, or ``WALL_FACTOR`` times that on the wall clock.  A call starts
    with no children of the child alive, so the child's own count is the baseline, and the
    process tree is read only when a call takes longer than one slice."""
    start = procstat.cpu_seconds(pid)
    if start is None:  # no /proc here (or the child is gone): the wall clock is all there is
        return "" if conn.poll(seconds) else f"no result within {seconds:g} s"
    wall_end = time.monotonic() + seconds * WALL_FACTOR
    left, wall_left = seconds, seconds * WALL_FACTOR
    while not conn.poll(min(left, wall_left, _SLICE_S)):
        used = procstat.tree_cpu_seconds(pid)
        if used is None:
            return ""
        left, wall_left = seconds - (used - start), wall_end - time.monotonic()
        if left <= 0:
            return f"no result within {seconds:g} s"
        if wall_left <= 0:
            return (f"no result within {seconds * WALL_FACTOR:g} s on the clock, "
                    f"{used - start:.2g} s of it computing")
    return ""


def _died(exitcode: int | None) -> Outcome[Any]:
    return Outcome("crashed", message=f"the checking process died (exit code {exitcode})")


def run_each(fn: Callable[..., T], calls: Sequence[tuple[Any, ...]],
             seconds: float = DEFAULT_SECONDS) -> list[Outcome[T]]:
    """``fn(*args)`` for every ``args`` in ``calls``, in order, in forked children, each
    call limited to ``seconds`` of CPU time from the moment the previous one returned."""
    outcomes: list[Outcome[T]] = []
    ctx = mp.get_context("fork")
    while len(outcomes) < len(calls):
        rest = calls[len(outcomes):]
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(send, fn, rest), daemon=False)  # may nest
        proc.start()
        send.close()
        try:
            for _ in rest:
                late = _await(recv, proc.pid, seconds)
                if late:
                    outcomes.append(Outcome("timeout", message=late))
                    break
                try:
                    outcomes.append(_outcome(recv.recv_bytes()))
                except (EOFError, OSError):
                    proc.join(1.0)
                    outcomes.append(_died(proc.exitcode))
                    break
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(1.0)
            recv.close()
    return outcomes


def _serve(conn: Any, parent_end: Any, fn: Callable[..., Any]) -> None:
    """A :class:`Worker`'s child: reply to every pickled ``args`` received until the pipe
    closes (the parent's end, inherited by the fork, is closed here first, or it never
    would)."""
    parent_end.close()

    def received() -> Iterator[tuple[Any, ...]]:
        while True:
            try:
                yield pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return

    _child(conn, fn, received())


class Worker(Generic[T]):
    """:func:`run_each` for calls that arrive one at a time: one forked child serves them in
    order, each ``args`` pickled to it and each call limited to ``seconds`` of CPU time.  A
    call that times out or kills the child is charged to that call alone; the next call forks
    a fresh child.  The child is forked at the first call, so it holds the parent's state of
    then."""

    def __init__(self, fn: Callable[..., T], seconds: float = DEFAULT_SECONDS) -> None:
        self.fn, self.seconds = fn, seconds
        self._proc: Any = None
        self._conn: Any = None

    def call(self, *args: Any) -> Outcome[T]:
        """``fn(*args)`` in the child, or how it failed."""
        if self._proc is None:
            ctx = mp.get_context("fork")
            self._conn, child = ctx.Pipe(duplex=True)
            self._proc = ctx.Process(target=_serve, args=(child, self._conn, self.fn),
                                     daemon=False)
            self._proc.start()
            child.close()
        try:
            self._conn.send_bytes(pickle.dumps(args))
            late = _await(self._conn, self._proc.pid, self.seconds)
            if late:
                self.close(kill=True)
                return Outcome("timeout", message=late)
            return _outcome(self._conn.recv_bytes())
        except (EOFError, OSError):
            self._proc.join(1.0)
            died = _died(self._proc.exitcode)
            self.close(kill=True)
            return died

    def close(self, kill: bool = False) -> None:
        """End the child: it ends once its pipe is closed, or at once with ``kill``."""
        if self._proc is None:
            return
        self._conn.close()
        if not kill:
            self._proc.join(2.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(1.0)
        self._proc = self._conn = None


def call_with_timeout(fn: Callable[..., T], *args: Any, seconds: float = DEFAULT_SECONDS) -> T:
    """Run ``fn(*args)`` in a forked child and return its result.

    Raises :class:`CheckTimeout` after ``seconds`` of CPU time; re-raises an exception of the
    child as ``RuntimeError("<Type>: <message>")``; raises :class:`CheckCrashed` when the child
    dies.
    """
    return run_each(fn, [args], seconds)[0].unwrap()
