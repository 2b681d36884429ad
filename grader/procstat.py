"""What /proc says about a process: its state and the CPU time it has used (Linux).

Both the pause of a student's kernel (:mod:`grader.pause`, which stops a process tree and waits
for every process in it to show the stopped state) and the hard limit of a check
(:mod:`grader.limits`, which counts the CPU time of the checking process and its children, not
the wall clock of a busy machine) read the same ``/proc/<pid>/stat`` lines, here.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
"""Clock ticks per second, the unit of the CPU times in /proc/<pid>/stat."""
TICK = 1.0 / _TICKS
"""The resolution of :func:`cpu_seconds`, in seconds."""


def fields(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after "pid (comm)" (comm may hold spaces and
    parentheses): state, ppid, ...; empty when the process is gone (or there is no /proc)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return []
    return stat[stat.rfind(")") + 2:].split()


def state(pid: int) -> str:
    """The state letter of ``pid`` (``"T"`` when stopped), or "" when it is gone."""
    found = fields(pid)
    return found[0] if found else ""


def cpu_seconds(pid: int) -> float | None:
    """The CPU time ``pid`` has used, in seconds: its own user and system time and that of
    the children it has waited for (stat fields 14-17); None when it is gone or /proc is
    not there."""
    found = fields(pid)
    if len(found) < 15:
        return None
    return sum(int(tick) for tick in found[11:15]) / _TICKS


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        found = fields(entry.name)  # empty if it ended meanwhile
        if len(found) > 1 and found[1].isdigit():
            parents[int(entry.name)] = int(found[1])
    return parents


def _scanned_tree(root: int) -> list[int]:
    """:func:`tree` from the parent of every process in /proc."""
    children: dict[int, list[int]] = {}
    parents = _parents()
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    if root not in parents:
        return []
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _children(pid: int) -> list[int] | None:
    """The children of ``pid`` (of every thread of it), from /proc/<pid>/task/*/children;
    empty when it is gone, None when a list cannot be read."""
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except FileNotFoundError:
        return []
    except OSError:
        return None
    kids: list[int] = []
    for task in tasks:
        try:
            kids.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        except OSError:
            return None
    return kids


_HAS_CHILDREN = (PROC / str(os.getpid()) / "task" / str(os.getpid()) / "children").exists()
"""Whether this kernel lists a thread's children (CONFIG_PROC_CHILDREN)."""


def tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now, parents first: read down from
    ``root`` where the kernel lists children, else from every process's parent."""
    if not _HAS_CHILDREN:
        return _scanned_tree(root)
    if not fields(root):
        return []
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        kids = _children(pid)
        if kids is None:  # not allowed to read it: ask every process instead
            return _scanned_tree(root)
        todo.extend(reversed(kids))
    return found


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid``; empty when it is gone."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def schedstat(pid: int) -> tuple[float, float] | None:
    """``(on a CPU, runnable but waiting for one)``, in seconds, of the main thread of ``pid``
    (/proc/<pid>/task/<pid>/schedstat, kept to the nanosecond); None when it is gone or this
    kernel keeps no such count.  Up to date for a thread that is not running now."""
    try:
        found = (PROC / str(pid) / "task" / str(pid) / "schedstat").read_text().split()
    except OSError:
        return None
    if len(found) < 2:
        return None
    return int(found[0]) / 1e9, int(found[1]) / 1e9


def tree_cpu_seconds(root: int) -> float | None:
    """The CPU time used by ``root`` and its descendants alive now (those it has already
    waited for are in its own count), in seconds; None when ``root`` is gone."""
    own = cpu_seconds(root)
    if own is None:
        return None
    return own + sum(cpu_seconds(pid) or 0.0 for pid in tree(root)[1:])
