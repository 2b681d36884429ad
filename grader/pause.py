"""Pause a student's kernel, and every process it started, while the grader times code.

The speed item compares the student's function with the answer key, both timed in a box
beside the kernel (or, for a function that cannot be pickled, the student's in the kernel and
the key's in the grader, between the student's calls).  Anything the kernel leaves running
(a thread spinning in the kernel, a forked child burning CPU or memory bandwidth) would slow
the key's rounds and flatter the student's ratio.  So while the key's rounds run, the
kernel's whole process tree is stopped with SIGSTOP, which no process can catch or ignore
(the clock starts once every one is seen stopped), and continued with SIGCONT afterwards,
whatever happens.  In the sandbox every process the kernel starts stays in its tree (a PID
namespace re-parents orphans to the sandbox's own init), so none escapes the pause.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from grader import procstat

_ROUNDS = 20
"""Scans of the tree while stopping it: a process may fork while its parent is being stopped."""
_SETTLE_S = 0.2
"""How long to wait, at most, for every process signalled to be seen stopped: a signal to a
process running on another core takes effect a moment after ``kill`` returns."""


def _settle(pids: list[int]) -> None:
    """Wait (briefly) until every process in ``pids`` has stopped or ended."""
    deadline = time.monotonic() + _SETTLE_S
    waiting = list(pids)
    while waiting and time.monotonic() < deadline:
        waiting = [pid for pid in waiting if procstat.state(pid) not in ("T", "t", "", "Z", "X")]
        if waiting:
            time.sleep(0.0005)


def _signal(pid: int, signum: int) -> bool:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@contextlib.contextmanager
def paused(root: int | None) -> Iterator[list[int]]:
    """Stop ``root``'s process tree for the duration of the block (nothing when ``root`` is
    None or not visible here); yields the pids stopped."""
    stopped: list[int] = []
    seen: set[int] = set()
    try:
        if root is not None and procstat.PROC.is_dir():
            for _ in range(_ROUNDS):
                new = [pid for pid in procstat.tree(root) if pid not in seen]
                if not new:
                    break
                seen.update(new)
                stopped.extend(pid for pid in new if _signal(pid, signal.SIGSTOP))
            _settle(stopped)
        yield stopped
    finally:
        for pid in reversed(stopped):
            _signal(pid, signal.SIGCONT)
