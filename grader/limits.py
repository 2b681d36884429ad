"""Hard time limits for untrusted computations (CAS calls, student-shaped expressions).

A signal-based limit only works on the main thread, and sympy can spin in C-level loops,
so the calls run in a forked child process that is killed when its time is up.  The parent
waits on a pipe, never on the child's good will.

:func:`run_each` runs a batch of calls one after another in one child, each with its own
limit: a notebook's checks cost one fork, not one each.  A call that times out or kills the
child is charged to that call alone; the rest go on in a fresh child.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import traceback
from collections.abc import Callable, Sequence
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


def _child(conn: Any, fn: Callable[..., Any], calls: Sequence[tuple[Any, ...]]) -> None:
    try:
        for args in calls:
            try:
                payload: tuple[str, Any] = ("ok", fn(*args))
            except BaseException as exc:  # report every failure to the parent
                payload = ("error", f"{type(exc).__name__}: {str(exc)[:500]}")
                traceback.clear_frames(exc.__traceback__)
            try:
                data = pickle.dumps(payload)
            except Exception as exc:  # an unpicklable result is this call's failure
                data = pickle.dumps(("crashed", f"unpicklable result: {exc}"[:500]))
            conn.send_bytes(data)
    except BaseException:
        pass
    finally:
        conn.close()
        os._exit(0)


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
                    status, value = pickle.loads(recv.recv_bytes())
                except (EOFError, OSError):
                    proc.join(1.0)
                    outcomes.append(Outcome("crashed", message="the checking process died "
                                            f"(exit code {proc.exitcode})"))
                    break
                outcomes.append(Outcome("ok", value) if status == "ok"
                                else Outcome(status, message=value))
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(1.0)
            recv.close()
    return outcomes


def call_with_timeout(fn: Callable[..., T], *args: Any, seconds: float = DEFAULT_SECONDS) -> T:
    """Run ``fn(*args)`` in a forked child and return its result.

    Raises :class:`CheckTimeout` after ``seconds``; re-raises an exception of the child as
    ``RuntimeError("<Type>: <message>")``; raises :class:`CheckCrashed` when the child dies.
    """
    return run_each(fn, [args], seconds)[0].unwrap()
