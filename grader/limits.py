"""Hard time limits for untrusted computations (CAS calls, student-shaped expressions).

A signal-based limit only works on the main thread, and sympy can spin in C-level loops,
so the calls run in a forked child process that is killed when its time is up.  The parent
waits on a pipe, never on the child's good will.

:func:`run_each` runs a batch of calls one after another in one child, each with its own
limit: a notebook's checks cost one fork, not one each.  A call that times out or kills the
child is charged to that call alone; the rest go on in a fresh child.  :class:`Worker` does
the same for calls that arrive one at a time.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

DEFAULT_SECONDS = 5.0
"""The default per-call limit, in seconds."""


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


def _died(exitcode: int | None) -> Outcome[Any]:
    return Outcome("crashed", message=f"the checking process died (exit code {exitcode})")


def run_each(fn: Callable[..., T], calls: Sequence[tuple[Any, ...]],
             seconds: float = DEFAULT_SECONDS) -> list[Outcome[T]]:
    """``fn(*args)`` for every ``args`` in ``calls``, in order, in forked children, each
    call limited to ``seconds`` from the moment the previous one returned."""
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
                if not recv.poll(seconds):
                    outcomes.append(Outcome("timeout", message=f"no result within {seconds:g} s"))
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
    order, each ``args`` pickled to it and each call limited to ``seconds``.  A call that
    times out or kills the child is charged to that call alone; the next call forks a fresh
    child.  The child is forked at the first call, so it holds the parent's state of then."""

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
            if not self._conn.poll(self.seconds):
                self.close(kill=True)
                return Outcome("timeout", message=f"no result within {self.seconds:g} s")
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

    Raises :class:`CheckTimeout` after ``seconds``; re-raises an exception of the child as
    ``RuntimeError("<Type>: <message>")``; raises :class:`CheckCrashed` when the child dies.
    """
    return run_each(fn, [args], seconds)[0].unwrap()
