"""Hard time limits for untrusted computations (CAS calls, student-shaped expressions).

A signal-based limit only works on the main thread, and sympy can spin in C-level loops,
so each call runs in a forked child process that is killed when its time is up.  The
parent waits on a pipe, never on the child's good will.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_SECONDS = 5.0
"""The default per-call limit, in seconds."""


class CheckTimeout(Exception):
    """The computation did not finish within its time limit."""


class CheckCrashed(Exception):
    """The computation died (killed, out of memory) or returned something unpicklable."""


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        try:
            payload = ("ok", fn(*args))
        except BaseException as exc:  # report every failure to the parent
            payload = ("err", (type(exc).__name__, str(exc)[:500], traceback.format_exc()[-2000:]))
        conn.send_bytes(pickle.dumps(payload))
    except BaseException:
        pass
    finally:
        conn.close()
        os._exit(0)


def call_with_timeout(fn: Callable[..., T], *args: Any, seconds: float = DEFAULT_SECONDS) -> T:
    """Run ``fn(*args)`` in a forked child and return its result.

    Raises :class:`CheckTimeout` after ``seconds``; re-raises an exception of the child as
    ``RuntimeError("<Type>: <message>")``; raises :class:`CheckCrashed` when the child dies.
    """
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args), daemon=False)  # may nest
    proc.start()
    send.close()
    try:
        if not recv.poll(seconds):
            raise CheckTimeout(f"no result within {seconds:g} s")
        try:
            status, value = pickle.loads(recv.recv_bytes())
        except (EOFError, OSError) as exc:
            raise CheckCrashed(f"the checking process died (exit code {proc.exitcode})") from exc
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1.0)
        recv.close()
    if status == "err":
        name, message, _tb = value
        raise RuntimeError(f"{name}: {message}")
    return value
