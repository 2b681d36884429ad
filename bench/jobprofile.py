"""Where one grading job spends its time: ``python -m bench.jobprofile OUT.json [--smoke]``.

Run in a fresh process, so that import costs are those a grading worker pays.  It prepares a
workspace as ``rope-course grade`` does (``grader.runner.prepare``), then grades a few
submissions with ``grader.runner.run_job`` -- exactly the worker's code -- while time stamps
are taken around each phase by wrapping, in this process only:

* ``NbGraderAPI.autograde`` (nbgrader's whole autograde of one notebook);
* every nbconvert preprocessor's ``__call__`` (nbgrader's sanitising and grading passes);
* nbclient's ``start_new_kernel`` (launcher, sandbox, kernel process), ``start_new_kernel_client``
  (until the kernel answers), ``execute_cell`` (each cell, by kind) and ``_cleanup_kernel``;
* ``grader.scoring.judge_all`` and the forked, time-limited checks inside it (``run_each``),
  and the checks judged early, in a grader thread (``grader.limits.Worker.call``);
* the speed item's timing box: its start-up and our checksums (a grader thread), and the
  timed rounds (``TimingBox.time``).

Kernel-side imports are timed separately, in the student environment's python.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import functools  # noqa: E402  (the clock starts before any import)
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import warnings  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

IMPORTS = (
    ("rfc3987_syntax (pulled in by jsonschema via nbformat: builds lark grammars)",
     "rfc3987_syntax"),
    ("nbformat (rest: jsonschema, validator)", "nbformat"),
    ("sympy", "sympy"),
    ("answer key, registry and checks (grader.items)", "grader.items"),
    ("nbgrader apps (nbconvert, jupyter_server, sqlalchemy)", "nbgrader.apps"),
    ("grader.runner, grader.preprocessors", "grader.preprocessors"),
)
KERNEL_IMPORTS = """
import time
t = time.perf_counter(); marks = []
def mark(label):
    global t
    now = time.perf_counter(); marks.append((label, now - t)); t = now
import ipykernel.kernelapp; mark("ipykernel (kernel boot)")
import numpy; mark("numpy")
import matplotlib.pyplot; mark("matplotlib.pyplot")
import matplotlib_inline.backend_inline; mark("matplotlib inline backend")
import sympy; mark("sympy")
import json; print(json.dumps(marks))
"""


class Recorder:
    """Time stamps of wrapped calls: (phase, label, seconds), in completion order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []

    def wrap(self, owner: Any, name: str, phase: str,
             label: Callable[..., str] = lambda *a, **k: "") -> None:
        orig = getattr(owner, name)

        @functools.wraps(orig)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return orig(*args, **kwargs)
            finally:  # work in a grader thread overlaps the cells: kept apart
                where = "" if threading.current_thread() is threading.main_thread() else BG
                self.events.append((where + phase, label(*args, **kwargs),
                                    time.perf_counter() - t0))

        setattr(owner, name, timed)

    def take(self) -> list[tuple[str, str, float]]:
        events, self.events = self.events, []
        return events


SCRATCH = "speed timing: grader requests in the kernel"
BG = "background: "
"""Prefix of a phase that ran in a grader thread, while the notebook's cells ran."""


def _cell_kind(cell: Any) -> str:
    if "grader.capture" in cell.get("source", "") and not cell.get("metadata"):
        return SCRATCH  # the speed item's hand-over (or in-kernel stopwatch) requests
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade_id") == "setup":
        return "setup cell (imports numpy, sympy, matplotlib)"
    if meta.get("grade") and not meta.get("solution"):
        return "test cells (hidden captures + visible asserts)"
    if meta.get("solution"):
        return "answer cells (student code)"
    return "other cells (plots, demos, checks)"


def instrument(rec: Recorder) -> None:
    from nbclient.client import NotebookClient
    from nbconvert.preprocessors.base import Preprocessor
    from nbgrader.apps import NbGraderAPI

    from grader import limits, scoring, sidebyside, stopwatch

    rec.wrap(NbGraderAPI, "autograde", "nbgrader autograde")
    rec.wrap(Preprocessor, "__call__", "preprocessor",  # nbgrader's Execute, or a subclass
             lambda self, *a, **k: "Execute" if isinstance(self, NotebookClient)
             else type(self).__name__)
    rec.wrap(NotebookClient, "start_new_kernel", "kernel start")
    rec.wrap(NotebookClient, "start_new_kernel_client", "kernel ready")
    rec.wrap(NotebookClient, "_cleanup_kernel", "kernel shutdown")
    rec.wrap(NotebookClient, "execute_cell",
             "cell", lambda self, cell, index, *a, **k: f"{_cell_kind(cell)}|{index}|"
             f"{cell.get('metadata', {}).get('nbgrader', {}).get('grade_id', '')}")
    rec.wrap(scoring, "judge_all", "judge", lambda pending, *a, **k: str(len(pending)))
    rec.wrap(scoring, "run_each", "forked check")
    rec.wrap(limits.Worker, "call", "judge", lambda *a, **k: "1")  # early, in the background
    rec.wrap(sidebyside.TimingBox, "time", "speed timing")  # the box was started ahead
    rec.wrap(sidebyside.TimingBox, "_start", "timing box start-up")
    rec.wrap(sidebyside, "_prepare", "answer-key checksums")
    rec.wrap(stopwatch, "time_kernel", "speed timing")


def breakdown(events: list[tuple[str, str, float]], job_seconds: float) -> dict[str, Any]:
    """Exclusive phases of one job (they add up to the job's wall time)."""
    def total(phase: str, label: str | None = None) -> float:
        return sum(s for p, lab, s in events if p == phase and label in (None, lab))

    cells: dict[str, float] = defaultdict(float)
    slow = []
    for p, lab, s in events:
        if p == "cell":
            kind, index, gid = lab.split("|")
            cells[kind] += s
            slow.append((s, f"cell {index} {gid}".strip()))
    execute = total("preprocessor", "Execute")
    kernel = {"kernel start (launcher, sandbox, process)": total("kernel start"),
              "kernel ready (ipykernel boot until it answers)": total("kernel ready"),
              "kernel shutdown": total("kernel shutdown")}
    speed = total("speed timing") - cells.get(SCRATCH, 0.0)  # the box and our checksums
    in_execute = sum(kernel.values()) + sum(cells.values()) + speed
    judges = [(lab, s) for p, lab, s in events if p == "judge"]  # label: how many checks
    judge_total = sum(s for _l, s in judges)
    others: dict[str, float] = defaultdict(float)
    for p, lab, s in events:
        if p == "preprocessor" and lab not in ("Execute", "ScoreCaptures"):
            others[lab] += s
    forked = total("forked check")
    score = total("preprocessor", "ScoreCaptures")
    preprocessors = total("preprocessor")
    autograde = total("nbgrader autograde")
    phases = [*kernel.items(), *sorted(cells.items()),
              ("speed timing: timing box, answer-key checksums", speed),
              ("Execute: nbclient bookkeeping (messages, outputs)", execute - in_execute),
              ("checks: warm-up (answer-key tables, reference timing)", judge_total - forked),
              ("checks: forked, time-limited judging left for the end", forked),
              ("ScoreCaptures: reading captures, writing verdicts", score - judge_total),
              ("nbgrader: other preprocessors", preprocessors - execute - score),
              ("nbgrader: gradebook, files, conversion", autograde - preprocessors),
              ("run_job: scratch course, report, gradebook read", job_seconds - autograde)]
    background = [("checks judged while the cells ran (forked, time-limited)",
                   total(BG + "judge")),
                  ("timing box start-up (box, input, answer key)",
                   total(BG + "timing box start-up")),
                  ("answer-key checksums for the timed rounds", total(BG + "answer-key checksums"))]
    return {"total": job_seconds, "phases": phases, "background": background,
            "slow_cells": sorted(slow, reverse=True)[:5],
            "slow_preprocessors": sorted(((s, lab) for lab, s in others.items()),
                                         reverse=True)[:6],
            "checks": sum(int(lab) for p, lab, _s in events if p in ("judge", BG + "judge"))}


def kernel_imports(python: str, mpl: Path) -> list[tuple[str, float]]:
    env = {**os.environ, "MPLCONFIGDIR": str(mpl), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([python, "-c", KERNEL_IMPORTS], capture_output=True, text=True,
                          env=env, timeout=300)
    return [tuple(x) for x in json.loads(proc.stdout)] if proc.returncode == 0 else []


NBFORMAT_IMPORT = "import nbformat"
NBFORMAT_IMPORT_BLOCKED = "import sys; sys.modules['rfc3987_syntax'] = None; import nbformat"


def import_whatif(repeats: int) -> dict[str, list[float]]:
    """Wall time of a fresh ``python -c 'import nbformat'``, as installed and with
    ``rfc3987_syntax`` blocked (jsonschema then skips its optional IRI format check),
    interleaved."""
    times: dict[str, list[float]] = {"as installed": [], "rfc3987_syntax blocked": []}
    for rep in range(repeats):
        order = list(times)[rep % 2:] + list(times)[:rep % 2]
        for name in order:
            code = NBFORMAT_IMPORT if name == "as installed" else NBFORMAT_IMPORT_BLOCKED
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
            times[name].append(time.perf_counter() - t0)
    return times


def main(argv: list[str]) -> int:
    out_path, smoke = Path(argv[0]), "--smoke" in argv
    warnings.simplefilter("ignore")
    per_job = importlib.util.find_spec("grader.workers") is not None
    result: dict[str, Any] = {"imports": [],
                              "runner": "per-job process" if per_job else "process pool"}
    for label, module in IMPORTS:
        t0 = time.perf_counter()
        try:
            importlib.import_module(module)
        except ImportError:
            label += " -- not installed"
        result["imports"].append((label, time.perf_counter() - t0))

    from grader import pipeline, runner, sandbox
    from grader.samples import write_samples
    from grader.submissions import discover

    pipeline.tools_on_path()
    kernel_python = sandbox.kernel_python()
    with tempfile.TemporaryDirectory(prefix="bench-jobprofile-") as tmp:
        ws = runner.Workspace(Path(tmp) / "out" / ".work")
        ws.root.mkdir(parents=True)
        t0 = time.perf_counter()
        if smoke:  # one assignment's template only: the smoke run must stay short
            sandbox.install(ws.sandbox, kernel_python)
            pipeline.working_copy(ws.course)
            pipeline.generate(ws.course, "derive_lambda")
        else:
            runner.prepare(ws, f"sqlite:///{Path(tmp) / 'out' / 'gradebook.db'}", kernel_python)
        result["prepare"] = time.perf_counter() - t0
        result["kernel_imports"] = kernel_imports(kernel_python, ws.sandbox / "mplconfig")
        subs = {(s.student, s.assignment): s for s in discover(write_samples(Path(tmp) / "sub"))}
        bare = runner.Workspace(Path(tmp) / "bare" / ".work")  # same course, no sandbox
        bare.root.mkdir(parents=True)
        (bare.root / "course").symlink_to(ws.course)
        quick = runner.Workspace(Path(tmp) / "immediate" / ".work")  # what-if: no graceful wait
        quick.root.mkdir(parents=True)
        shutil.copytree(ws.course, quick.course, symlinks=True)
        with open(quick.course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write('\nc.Execute.shutdown_kernel = "immediate"  # bench what-if\n')
        (quick.root / "sandbox").symlink_to(ws.sandbox)
        plan = [("cold", ws, "ada_model", "derive_lambda")]
        if not smoke:
            plan += [("cold", ws, "ada_model", "numeric_rope"),
                     ("warm", ws, "ada_model", "derive_lambda"),
                     ("warm", ws, "ada_model", "numeric_rope"),
                     ("warm", ws, "gus_slow_loop", "numeric_rope"),
                     ("warm, no sandbox", bare, "ada_model", "derive_lambda"),
                     ("warm, no sandbox", bare, "ada_model", "numeric_rope"),
                     ("warm, immediate shutdown", quick, "ada_model", "derive_lambda"),
                     ("warm, immediate shutdown", quick, "ada_model", "numeric_rope")]
        rec = Recorder()
        instrument(rec)
        result["jobs"] = []
        for when, space, student, assignment in plan:
            rec.take()
            t0 = time.perf_counter()
            res = runner.run_job(space, subs[(student, assignment)], 60)
            seconds = time.perf_counter() - t0
            job = breakdown(rec.take(), seconds)
            job.update(when=when, student=student, assignment=assignment,
                       problem=res.problem, score=res.score, max_score=res.max_score)
            result["jobs"].append(job)
    out_path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
