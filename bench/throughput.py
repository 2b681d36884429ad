"""Benchmark 2 (and 4): grading a class, four ways, side by side, with memory watched.

Workload: N students x the assignments, built from ``grader.samples`` (the model answer, the
untouched release and the typical slips), copied under new ids ``sNN_<sample>``.  Modes:

* ``rope-course grade --workers 2`` and ``--workers 1`` (sandboxed kernels, the default);
* plain serial ``nbgrader autograde <assignment> --force`` in a course copy
  (``grader.pipeline.working_copy`` + ``generate``), unsandboxed kernels, as nbgrader ships;
* bare execution with nbclient of the same notebooks nbgrader executes (the submission with
  its test cells restored from the source, as ``OverwriteCells`` does), unsandboxed, no
  grading: the floor.

Each mode's wall time is end to end (imports, course preparation, grading, outputs).  The
steady-state cost per notebook is read from completion times (journal entries, autograded
files, or our own clock) and excludes start-up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from bench.common import BIN, Summary, loadavg
from bench.memory import MemoryWatch
from grader import pipeline
from grader.samples import write_samples

MODES = ("workers2", "workers1", "nbgrader", "bare")
ASSIGNMENTS = ("derive_lambda", "numeric_rope")
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]


class BenchError(RuntimeError):
    """A benchmarked command failed (its log tail is in the message)."""


def build_workload(dest: Path, students: int, assignments: tuple[str, ...] = ASSIGNMENTS
                   ) -> list[tuple[str, str, Path]]:
    """A ``submitted/`` folder of ``students`` x ``assignments``; returns (student, assignment,
    notebook) rows.  Students cycle through the samples that have every assignment."""
    with tempfile.TemporaryDirectory(prefix="bench-samples-") as tmp:
        samples = write_samples(Path(tmp) / "samples")
        usable = sorted(p.name for p in samples.iterdir() if all(
            _valid(p / a / f"{a}.ipynb") for a in assignments))
        rows = []
        for k in range(students):
            src = usable[k % len(usable)]
            student = f"s{k + 1:02d}_{src}"
            for a in assignments:
                target = dest / student / a / f"{a}.ipynb"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(samples / src / a / f"{a}.ipynb", target)
                rows.append((student, a, target))
    return rows


def _valid(path: Path) -> bool:
    try:
        nbformat.read(path, as_version=4)
        return True
    except Exception:
        return False


@dataclass
class ModeRun:
    """One mode, one repetition."""

    mode: str
    wall: float
    """end-to-end seconds"""
    notebooks: int
    done_times: list[float] = field(default_factory=list)
    """completion time of each notebook, seconds since the start"""
    peaks: dict[str, int] = field(default_factory=dict)
    peak_total: int = 0
    load: tuple[float, float] = (0.0, 0.0)
    """1-minute load average before and after"""
    peak_cmd: dict[str, str] = field(default_factory=dict)
    """which command set each role's peak"""

    @property
    def steady_per_notebook(self) -> float:
        """Seconds per notebook between the first and the last completion (start-up excluded);
        the mean wall time per notebook when there is a single notebook."""
        t = sorted(self.done_times)
        if len(t) < 2:
            return self.wall / max(1, self.notebooks)
        return (t[-1] - t[0]) / (len(t) - 1)


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
            "PYTHONWARNINGS": "ignore"}


def _watched(argv: list[str], cwd: Path, log: Path, timeout: float) -> tuple[float, MemoryWatch]:
    """Run ``argv``, watching its process tree's memory; raise :class:`BenchError` on failure."""
    t0 = time.perf_counter()
    with open(log, "ab") as fh:
        proc = subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=fh, stderr=subprocess.STDOUT)
        with MemoryWatch(proc.pid) as watch:
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = -9
    wall = time.perf_counter() - t0
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-15:])
        raise BenchError(f"{' '.join(argv[:4])} ... exited with {code}:\n{tail}")
    return wall, watch


def _mtimes(paths: list[Path], start_wall: float) -> list[float]:
    return [p.stat().st_mtime - start_wall for p in paths if p.exists()]


def run_rope_course(sub: Path, work: Path, workers: int, n: int, timeout: float) -> ModeRun:
    out = work / f"out-w{workers}"
    shutil.rmtree(out, ignore_errors=True)  # a fresh OUT: nothing may be resumed
    start = time.time()
    wall, watch = _watched([str(BIN / "rope-course"), "grade", str(sub), "--out", str(out),
                            "--workers", str(workers)], work, work / f"w{workers}.log", timeout)
    journal = sorted((out / ".work" / "journal").glob("*.json"))
    if len(journal) != n:
        raise BenchError(f"rope-course graded {len(journal)} of {n} notebooks")
    return ModeRun(f"workers{workers}", wall, n, _mtimes(journal, start), dict(watch.peak),
                   watch.peak_total, peak_cmd=dict(watch.peak_cmd))


def run_nbgrader(sub: Path, work: Path, assignments: tuple[str, ...], n: int,
                 timeout: float) -> ModeRun:
    course = work / "nbgrader-course"
    shutil.rmtree(course, ignore_errors=True)
    start = time.time()
    t0 = time.perf_counter()
    pipeline.working_copy(course)
    for a in assignments:
        pipeline.generate(course, a)
    shutil.copytree(sub, course / "submitted")
    peaks: dict[str, int] = {}
    cmds: dict[str, str] = {}
    total = 0
    for a in assignments:
        _wall, watch = _watched([sys.executable, "-m", "nbgrader", "autograde", a, "--force"],
                                course, work / "nbgrader.log", timeout)
        for role, v in watch.peak.items():
            if v > peaks.get(role, 0):
                peaks[role], cmds[role] = v, watch.peak_cmd.get(role, "")
        total = max(total, watch.peak_total)
    wall = time.perf_counter() - t0
    graded = sorted(course.glob("autograded/*/*/*.ipynb"))
    if len(graded) != n:
        raise BenchError(f"nbgrader autograded {len(graded)} of {n} notebooks")
    return ModeRun("nbgrader", wall, n, _mtimes(graded, start), peaks, total, peak_cmd=cmds)


def executed_form(path: Path, assignment: str) -> nbformat.NotebookNode:
    """The notebook as nbgrader executes it: test and locked cells restored from the source."""
    nb = nbformat.read(path, as_version=4)
    source = nbformat.read(pipeline.COURSE / "source" / assignment / f"{assignment}.ipynb",
                           as_version=4)
    fixed = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") and (
                 c.metadata["nbgrader"].get("locked") or (
                     c.metadata["nbgrader"].get("grade")
                     and not c.metadata["nbgrader"].get("solution")))}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in fixed:
            cell.source = fixed[gid]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def run_bare(rows: list[tuple[str, str, Path]], work: Path, timeout: int) -> ModeRun:
    """Execute every notebook with nbclient, one kernel each, serially; no grading."""
    from nbclient import NotebookClient

    pipeline.tools_on_path()
    scratch = work / "bare"
    shutil.rmtree(scratch, ignore_errors=True)
    t0 = time.perf_counter()
    done = []
    with MemoryWatch(os.getpid()) as watch:
        for student, a, path in rows:
            nb = executed_form(path, a)
            cwd = scratch / student / a
            cwd.mkdir(parents=True)
            NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                           extra_arguments=KERNEL_ARGS,
                           resources={"metadata": {"path": str(cwd)}}).execute()
            done.append(time.perf_counter() - t0)
    peaks = {"student kernel": watch.peak["student kernel"]}
    return ModeRun("bare", time.perf_counter() - t0, len(rows), done, peaks, 0)


@dataclass
class Throughput:
    """Every mode, every repetition."""

    students: int
    assignments: tuple[str, ...]
    notebooks: int
    repeats: int
    runs: list[ModeRun] = field(default_factory=list)

    def of(self, mode: str) -> list[ModeRun]:
        return [r for r in self.runs if r.mode == mode]

    def ratio(self, num: str, den: str, steady: bool = False) -> Summary:
        """Per-repetition ratio of two modes' wall (or steady per-notebook) times."""
        def value(r: ModeRun) -> float:
            return r.steady_per_notebook if steady else r.wall
        return Summary.of(value(a) / value(b) for a, b in zip(self.of(num), self.of(den)))

    def peak(self, role: str) -> int:
        return max((r.peaks.get(role, 0) for r in self.runs), default=0)


def run(work: Path, students: int = 20, assignments: tuple[str, ...] = ASSIGNMENTS,
        repeats: int = 1, modes: tuple[str, ...] = MODES, timeout: float = 3600,
        log: Callable[[str], None] = print) -> Throughput:
    """Grade the workload in every mode, ``repeats`` times, the order rotating per repetition."""
    sub = work / "submitted"
    shutil.rmtree(sub, ignore_errors=True)
    rows = build_workload(sub, students, assignments)
    result = Throughput(students, assignments, len(rows), repeats)
    for rep in range(repeats):
        order = list(modes[rep % len(modes):] + modes[:rep % len(modes)])
        for mode in order:
            before = loadavg()[0]
            log(f"throughput: repetition {rep + 1}/{repeats}, {mode} ({len(rows)} notebooks)")
            if mode.startswith("workers"):
                r = run_rope_course(sub, work, int(mode[-1]), len(rows), timeout)
            elif mode == "nbgrader":
                r = run_nbgrader(sub, work, assignments, len(rows), timeout)
            else:
                r = run_bare(rows, work, 60)
            r.load = (before, loadavg()[0])
            log(f"  {mode}: {r.wall:.1f} s, steady {r.steady_per_notebook:.1f} s/notebook")
            result.runs.append(r)
    return result
