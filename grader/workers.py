"""Run jobs in parallel, each in its own fresh process with a hard time limit.

One process per job isolates students from each other completely: a kernel, zmq or sqlite
state left over by one notebook cannot hang or change the next (a leaked zmq context can
block forever in its finaliser), a job that hangs is killed at its limit, and a process that
dies is reported instead of taking a pool down.  Processes come from a forkserver that has
already imported nbgrader and the checks, so starting one costs milliseconds, not seconds.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")

PRELOAD = ["grader.lean", "grader.runner", "grader.preprocessors", "nbgrader.apps", "nbclient",
           "jupyter_client.manager", "grader.prewarm"]
"""Modules the forkserver imports once, so every job process starts warm (``grader.prewarm``
also fills the checks' caches)."""


@dataclass(frozen=True)
class JobFailure:
    """A job that produced no result."""

    reason: str
    """``timeout`` or ``crashed`` or ``error``"""
    detail: str
    """what happened, for the instructor"""


@dataclass
class _Running(Generic[J]):
    job: J
    process: Any
    conn: Connection
    started: float


def _entry(conn: Connection, fn: Callable[[Any], Any], job: Any) -> None:
    try:
        try:
            conn.send(("ok", fn(job)))
        except KeyboardInterrupt:  # Ctrl-C reached the whole process group: the parent stops
            return                 # and resumes this job on the next run; nothing to report
        except BaseException as exc:  # report every failure to the parent
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))
    except OSError:  # the parent is gone (interrupted): no one to tell
        pass
    finally:
        conn.close()


def start_server() -> None:
    """Start the forkserver now, so that its imports and warm-up overlap with whatever the
    caller does next (preparing the course) instead of delaying the first job."""
    from multiprocessing import forkserver

    mp.get_context("forkserver").set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()


def run_isolated(jobs: Sequence[J], fn: Callable[[J], R], workers: int, limit: float,
                 on_result: Callable[[J, R | JobFailure], None]) -> None:
    """Run ``fn(job)`` for every job, at most ``workers`` at a time, each in a new process
    killed after ``limit`` seconds; call ``on_result`` in this process as each one ends."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    pending: deque[J] = deque(jobs)
    running: list[_Running[J]] = []
    while pending or running:
        while pending and len(running) < max(1, workers):
            job = pending.popleft()
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_entry, args=(send, fn, job), daemon=False)
            proc.start()
            send.close()
            running.append(_Running(job, proc, recv, time.monotonic()))
        wait([r.conn for r in running] + [r.process.sentinel for r in running], timeout=1.0)
        for r in list(running):
            outcome = _collect(r, limit)
            if outcome is not None:
                running.remove(r)
                on_result(r.job, outcome)


def _collect(r: _Running[J], limit: float) -> Any | None:
    """The job's result or failure if it has ended (or overrun), else None."""
    if r.conn.poll():
        try:
            status, value = r.conn.recv()
        except (EOFError, OSError):
            status, value = "crashed", "the grading process died while reporting"
        _reap(r)
        return value if status == "ok" else JobFailure("error", value) if status == "error" \
            else JobFailure("crashed", value)
    if not r.process.is_alive():
        _reap(r)
        return JobFailure("crashed", f"the grading process died (exit code {r.process.exitcode})")
    if time.monotonic() - r.started > limit:
        r.process.kill()
        _reap(r)
        return JobFailure("timeout", f"grading took longer than {limit:.0f} s and was stopped")
    return None


def _reap(r: _Running[Any]) -> None:
    r.process.join(5)
    if r.process.is_alive():
        r.process.kill()
        r.process.join(5)
    r.conn.close()
