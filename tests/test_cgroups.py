"""Whole-kernel caps: a control group counts the memory and processes of every process a
kernel starts together (rlimits count each process, or each uid, on its own)."""

from __future__ import annotations

import os
import time

import pytest

from grader import cgroups

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or (not (cgroups.ROOT / "memory").is_dir()
    and not (cgroups.ROOT / "cgroup.controllers").is_file()),
    reason="needs root and a cgroup memory hierarchy (as in CI)")


def _in_child(body) -> tuple[int, int | None]:
    """Run ``body`` in a forked child confined by a fresh group; (its pid, exit code or None
    when a signal ended it)."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(body())
        finally:
            os._exit(99)
    _, status = os.waitpid(pid, 0)
    return pid, os.WEXITSTATUS(status) if os.WIFEXITED(status) else None


def _group_dirs(pid: int) -> list:
    return [p / f"{cgroups.PREFIX}{pid}" for p in set(cgroups._parents().values())]


def test_memory_of_all_processes_together_is_capped() -> None:
    """With a 256 MiB group, do three children of 128 MiB each get OOM-killed (at least one),
    though each alone is far below any per-process limit?  And is the group removed after?"""
    def body() -> int:
        if not cgroups.confine(256 << 20, 64):
            return 3
        kids = []
        for _ in range(3):
            kid = os.fork()
            if kid == 0:
                block = b"\x01" * (128 << 20)  # written: resident, not lazily mapped
                time.sleep(1.5)
                os._exit(len(block) > 0)
            kids.append(kid)
        statuses = [os.waitpid(k, 0)[1] for k in kids]
        return 10 + sum(os.WIFSIGNALED(s) and os.WTERMSIG(s) == 9 for s in statuses)

    pid, code = _in_child(body)
    assert code != 3, "could not create the group"
    assert code is None or code >= 11  # the child itself, or a grandchild, was killed
    cgroups.sweep()
    assert not any(d.exists() for d in _group_dirs(pid))


def test_processes_of_the_group_are_capped() -> None:
    """With pids.max 8, does the ninth process fail to start?"""
    def body() -> int:
        if not cgroups.confine(1 << 30, 8):
            return 3
        started = 0
        kids = []
        try:
            for _ in range(20):
                kid = os.fork()
                if kid == 0:
                    time.sleep(2)
                    os._exit(0)
                kids.append(kid)
                started += 1
        except OSError:
            pass
        for k in kids:
            os.waitpid(k, 0)
        return started

    _pid, started = _in_child(body)
    assert started == 7  # eight processes in all: this one and seven children
