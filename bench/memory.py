"""Benchmark 4's instrument: peak memory of a process tree, by role, while it runs.

A background thread polls the tree every ``interval`` seconds (psutil) and reads each
process's ``VmHWM`` (its own peak resident set, kept by the kernel, so a spike between two
polls is not missed while the process lives) and current RSS.  Roles come from command lines:
the grader's main process, the forkserver and the grading processes (one per job, or a pool's
workers), the forked check children of a grading process, the student kernels (ipykernel),
and everything else (bwrap, alembic, resource tracker).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROLES = ("grader main", "forkserver", "grading worker", "check child", "student kernel", "other")


def _hwm(pid: int) -> int | None:
    """The peak RSS (bytes) the kernel recorded for ``pid``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.Error, OSError):
        return ""


def _role(proc: psutil.Process, root: int, forkservers: set[int], workers: set[int]) -> str:
    """The role of ``proc`` in a grading run rooted at ``root``.  Grading processes are either
    a pool's workers (``spawn_main``, children of the root) or one process per job forked from
    a preloaded forkserver (children of the forkserver)."""
    if proc.pid == root:
        return "grader main"
    cmd = _cmdline(proc)
    if "ipykernel" in cmd:
        return "student kernel"
    try:
        parent = proc.parent()
    except psutil.Error:
        parent = None
    ppid = parent.pid if parent is not None else -1
    if ppid in forkservers:
        workers.add(proc.pid)
        return "grading worker"
    if ppid in (root, *workers) and parent is not None and cmd == _cmdline(parent):
        return "check child"  # forked by grader.limits: the parent's own command line
    if ppid == root and "multiprocessing.forkserver" in cmd:
        forkservers.add(proc.pid)
        return "forkserver"
    if ppid == root and "spawn_main" in cmd:
        workers.add(proc.pid)
        return "grading worker"
    return "other"


@dataclass
class MemoryWatch:
    """Peaks seen by role; use as a context manager around a running process."""

    root: int
    interval: float = 0.25
    peak: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    """largest VmHWM (or RSS) of any one process of the role"""
    peak_total: int = 0
    """largest sum of RSS over the whole tree at one poll"""
    seen: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    """how many distinct processes of each role were seen"""
    peak_cmd: dict[str, str] = field(default_factory=dict)
    """the command (first words) of the process that set each role's peak"""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _pids: dict[int, str] = field(default_factory=dict)
    _workers: set[int] = field(default_factory=set)
    _forkservers: set[int] = field(default_factory=set)

    def poll(self) -> None:
        try:
            top = psutil.Process(self.root)
            procs = [top, *top.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for proc in procs:
            role = self._pids.get(proc.pid)
            if role is None:
                role = _role(proc, self.root, self._forkservers, self._workers)
                self._pids[proc.pid] = role
                self.seen[role] += 1
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            high = max(rss, _hwm(proc.pid) or 0)
            if high > self.peak[role]:
                self.peak[role] = high
                self.peak_cmd[role] = " ".join(Path(w).name if i == 0 else w for i, w in
                                               enumerate(_cmdline(proc).split()[:4]))
        self.peak_total = max(self.peak_total, total)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def __enter__(self) -> MemoryWatch:
        self.poll()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
