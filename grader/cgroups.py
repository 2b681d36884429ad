"""Caps on a whole kernel, summed over every process it starts: Linux control groups.

Resource limits (``setrlimit``) count per process (memory) or per uid (processes), so a kernel
that forks many children, each under its own cap, could still take the machine's memory.  A
control group counts them together.  The sandbox launcher moves itself into a fresh group
before it starts bubblewrap, so the kernel and all its descendants share the group's caps; the
grader removes empty groups of finished kernels.

This needs root and a writable ``memory`` and ``pids`` hierarchy (cgroup v1, as on these
machines, or v2).  Elsewhere :func:`confine` returns False and the per-process limits alone
apply; the README says so.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "rope-kernel-"
"""Groups are named ``rope-kernel-<launcher pid>``."""


def _own_path(controller: str) -> str:
    """This process's group in ``controller``'s v1 hierarchy ("" for the unified one)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        _num, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return "/"


def _parents() -> dict[str, Path]:
    """Where to create groups, per controller: under this process's own group (so the caps of
    any group we already run in still apply)."""
    if (ROOT / "cgroup.controllers").is_file():  # cgroup v2, unified at the root
        base = ROOT / _own_path("").lstrip("/")
        return {"memory": base, "pids": base}
    return {c: ROOT / c / _own_path(c).lstrip("/") for c in ("memory", "pids")}


def confine(memory_bytes: int, processes: int) -> bool:
    """Move this process into new groups capping total memory and processes; True if done."""
    if os.geteuid() != 0:
        return False
    name = f"{PREFIX}{os.getpid()}"
    parents = _parents()
    v2 = parents["memory"] == parents["pids"]
    settings = {"memory": ("memory.max" if v2 else "memory.limit_in_bytes", memory_bytes),
                "pids": ("pids.max", processes)}
    made: list[Path] = []
    try:
        for controller, parent in parents.items():
            group = parent / name
            if group not in made:
                group.mkdir(exist_ok=True)
                made.append(group)
            knob, value = settings[controller]
            (group / knob).write_text(str(value))
        for group in made:
            (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        for group in reversed(made):
            with contextlib.suppress(OSError):
                group.rmdir()
        return False
    return True


def sweep() -> None:
    """Remove the groups of kernels whose launcher is gone (empty groups only)."""
    if os.geteuid() != 0:
        return
    for parent in set(_parents().values()):
        try:
            groups = list(parent.glob(f"{PREFIX}*"))
        except OSError:
            continue
        for group in groups:
            pid = group.name[len(PREFIX):]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                with contextlib.suppress(OSError):  # a process still inside: kept for later
                    group.rmdir()
