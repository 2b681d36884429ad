"""Pausing a student's kernel and everything it started while the grader times code
(grader.pause): a real process tree, with a spinning thread and a spinning child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from grader import pause, procstat

SPINNER = textwrap.dedent('''
    import subprocess, sys, threading
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    threading.Thread(target=lambda: [None for _ in iter(int, 1)], daemon=True).start()
    print(child.pid, flush=True)
    child.wait()
''')


def _state_and_cpu(pid: int) -> tuple[str, int]:
    """(state letter, utime + stime in clock ticks) from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[0], int(fields[11]) + int(fields[12])


def test_a_process_tree_is_stopped_for_the_block_and_continued_after() -> None:
    parent = subprocess.Popen([sys.executable, "-c", SPINNER], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert procstat.tree(parent.pid) == [parent.pid, child]
        time.sleep(0.2)  # both spin: a thread in the parent, the child itself
        with pause.paused(parent.pid) as stopped:
            assert sorted(stopped) == sorted([parent.pid, child])
            before = {pid: _state_and_cpu(pid) for pid in stopped}
            time.sleep(0.5)
            after = {pid: _state_and_cpu(pid) for pid in stopped}
            assert {s for s, _ in after.values()} == {"T"}
            assert all(after[pid][1] - before[pid][1] <= 1 for pid in stopped), (before, after)
        time.sleep(0.3)
        assert {_state_and_cpu(pid)[0] for pid in (parent.pid, child)} <= {"R", "S"}
        assert _state_and_cpu(child)[1] > after[child][1]  # spinning again
    finally:
        for pid in reversed(procstat.tree(parent.pid)):
            os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=10)


def test_nothing_to_pause() -> None:
    with pause.paused(None) as stopped:
        assert stopped == []
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with pause.paused(dead.pid) as stopped:
        assert stopped == []
