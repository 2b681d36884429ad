"""Grade a whole class in parallel with nbgrader, losing nothing.

Design (nbgrader cannot grade in parallel: jupyter/nbgrader#174):
- a private working copy of the course holds a *template* gradebook made by nbgrader's
  own generate_assignment;
- each job (one student, one assignment) runs plain ``nbgrader autograde`` in its own copy
  with its own SQLite gradebook, so jobs never share a database file or a kernel;
- a finished job is written to a journal file by atomic rename; a rerun skips journalled
  jobs, so a run killed at any point resumes and grades every student exactly once.  Each
  entry carries a fingerprint of the notebook's bytes and of the grading settings (sandbox,
  time limit, course): a resubmitted file or a changed setting is graded again;
- only the parent process writes the class gradebook, one transaction per job.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grader import cgroups, feedback, lean, pipeline, sandbox, scoring
from grader.items import NOTEBOOKS, items_for
from grader.results import GradeRecord, ItemResult, SubmissionResult, Verdict
from grader.submissions import BAD_STUDENT_ID, Submission
from grader.workers import JobFailure, run_isolated


@dataclass(frozen=True)
class Workspace:
    """The private working area under the output folder."""

    root: Path
    """``OUT/.work``"""

    @property
    def course(self) -> Path:
        """The template course (config, source, release, template gradebook)."""
        return self.root / "course"

    @property
    def template_db(self) -> Path:
        """The template gradebook each job starts from."""
        return self.course / "gradebook.db"

    @property
    def journal(self) -> Path:
        """Finished jobs, one JSON file each."""
        return self.root / "journal"

    @property
    def autograded(self) -> Path:
        """Autograded notebooks kept for feedback."""
        return self.root / "autograded"

    @property
    def sandbox(self) -> Path:
        """The sandbox launcher's config, kernelspec and capture package."""
        return self.root / "sandbox"

    def autograded_notebook(self, result: SubmissionResult) -> Path:
        """Where nbgrader's autograded copy of a result's notebook is kept."""
        return self.autograded / result.student / result.assignment / f"{result.assignment}.ipynb"

    def rendered_feedback(self, key: str) -> Path:
        """A job's feedback page, rendered by the job itself."""
        return self.root / "feedback" / f"{key}.html"

    def job_dir(self, key: str) -> Path:
        """The scratch course of one job."""
        return self.root / "jobs" / key


def prepare(ws: Workspace, db_url: str, kernel_python: str | None) -> str:
    """Make the template course and register every assignment in the class gradebook;
    install the sandbox kernel unless ``kernel_python`` is None (``--no-sandbox``).  Return
    the course's digest (:func:`grader.pipeline.course_digest`)."""
    if kernel_python is not None:
        sandbox.install(ws.sandbox, kernel_python)
    else:
        shutil.rmtree(ws.sandbox, ignore_errors=True)
    stamp, digest = ws.root / "course.digest", pipeline.course_digest()
    if not ws.template_db.exists() or not stamp.is_file() or stamp.read_text() != digest:
        tmp = pipeline.generated_course(ws.root / "course.tmp", NOTEBOOKS)
        shutil.rmtree(ws.course, ignore_errors=True)
        tmp.rename(ws.course)
        stamp.write_text(digest)  # an edited course is copied again on the next run
    main_file = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite:///") else None
    if main_file is not None and not main_file.exists():
        shutil.copyfile(ws.template_db, main_file)  # the cells nbgrader just recorded
    else:
        for assignment in NOTEBOOKS:
            with Gradebook(db_url) as gb:
                try:
                    registered = bool(gb.find_assignment(assignment).notebooks)
                except MissingEntry:
                    registered = False
            if not registered:  # nbgrader itself records the assignment's cells
                pipeline.nbgrader(["generate_assignment", assignment, "--force", "--db", db_url],
                                  ws.course)
    ws.journal.mkdir(parents=True, exist_ok=True)
    return digest


def grade_cells(ws: Workspace, assignment: str) -> list[GradeRecord]:
    """The assignment's grade cells, each with zero points (for ungradable submissions);
    none for a folder that is not an assignment of this course."""
    if assignment not in NOTEBOOKS:
        return []
    with Gradebook(f"sqlite:///{ws.template_db}") as gb:
        nb = gb.find_notebook(assignment, assignment)
        return [GradeRecord(c.name, 0.0, float(c.max_score), False) for c in nb.grade_cells]


def ungradable(ws: Workspace, sub: Submission, problem: str, detail: str) -> SubmissionResult:
    """A zero result in which every item carries the reason."""
    items = tuple(ItemResult(it.id, 0.0, float(it.points), Verdict.INVALID, problem,
                             f"This submission could not be graded: {detail}")
                  for it in items_for(sub.assignment))
    grades = tuple(grade_cells(ws, sub.assignment))
    return SubmissionResult(sub.student, sub.assignment, items, grades, problem, detail,
                            sub.notes)


def run_job(ws: Workspace, sub: Submission, timeout: int) -> SubmissionResult:
    """Grade one submission in its own scratch course (in a worker process); never raises
    for a student's fault."""
    if sub.problem or sub.path is None:
        return ungradable(ws, sub, sub.problem or "missing_notebook", sub.detail)
    job = ws.job_dir(sub.key)
    shutil.rmtree(job, ignore_errors=True)
    (job / "submitted" / sub.student / sub.assignment).mkdir(parents=True)
    shutil.copy2(ws.course / "nbgrader_config.py", job)
    shutil.copytree(ws.course / "source" / sub.assignment, job / "source" / sub.assignment)
    shutil.copy2(ws.template_db, job / "gradebook.db")
    nb_name = f"{sub.assignment}.ipynb"
    shutil.copyfile(sub.path, job / "submitted" / sub.student / sub.assignment / nb_name)
    ok, log = autograde_in_process(job, sub.assignment, sub.student, timeout,
                                   ws.sandbox if ws.sandbox.exists() else None)
    graded = job / "autograded" / sub.student / sub.assignment / nb_name
    if not ok or not graded.exists():
        shutil.rmtree(job, ignore_errors=True)
        if "DeadKernelError" in log:  # nbclient's word for a kernel that exited mid-notebook
            return ungradable(ws, sub, "kernel_died", KERNEL_DIED)
        if "CellTimeoutError" in log:  # still busy after the interrupt that follows a timeout
            return ungradable(ws, sub, "cell_timeout", CELL_TIMEOUT.format(timeout))
        if _SIGNATURE.search(log):  # jupyter_client refused a message from the kernel
            return ungradable(ws, sub, "kernel_messaging", KERNEL_MESSAGING)
        return ungradable(ws, sub, "autograde_failed", _last_error(log))
    report = pipeline.read_report(graded, sub.assignment)
    with Gradebook(f"sqlite:///{job / 'gradebook.db'}") as gb:
        snb = gb.find_submission_notebook(sub.assignment, sub.assignment, sub.student)
        grades = tuple(GradeRecord(g.name, g.auto_score, float(g.max_score),
                                   bool(g.needs_manual_grade)) for g in snb.grades)
    keep = ws.autograded / sub.student / sub.assignment
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(graded, keep / nb_name)
    shutil.rmtree(job, ignore_errors=True)
    notes = sub.notes + tuple(f"not_graded: {p}" for p in report.problems) + (
        (f"kernel_died: {KERNEL_DIED_PARTLY}",) if any(
            it.tag == "kernel_died" for it in report.items) else ()) + _stopped_cells(
        keep / nb_name)
    return SubmissionResult(sub.student, sub.assignment, report.items, grades, notes=notes)


def _stopped_cells(graded: Path) -> tuple[str, ...]:
    """A note for each cell stopped at the time limit (the cells after it still ran, so its
    answers may all be graded: the note says where the time went)."""
    nb = nbformat.read(graded, as_version=4)
    return tuple(f"cell_timeout: the cell starting `{scoring.opening(c)}` ran past the time "
                 "limit and was stopped; the cells after it still ran"
                 for c in nb.cells if c.get("cell_type") == "code" and scoring.timed_out(c))


def autograde_in_process(job: Path, assignment: str, student: str, timeout: int,
                         sandbox_dir: Path | None) -> tuple[bool, str]:
    """Run nbgrader's own ``autograde`` (through its Python API) on one job's course, with
    the kernel in the sandbox when ``sandbox_dir`` holds its kernelspec."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(job)).load_config()
    config.CourseDirectory.root = str(job)  # the file says ".": jobs share this process's cwd
    config.CourseDirectory.db_url = f"sqlite:///{job / 'gradebook.db'}"
    lean.scratch_gradebook(job / "gradebook.db")  # a throwaway copy: no fsync per commit
    config.Execute.timeout = timeout
    runtime = None
    if sandbox_dir is not None:
        # a short private folder: a Unix socket path must fit in 107 bytes, which a deep OUT
        # and a long student id would exceed (every notebook would fail with ZMQError)
        sweep_stale_runtimes()
        runtime = Path(tempfile.mkdtemp(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-"))
        config.KernelManager.transport = "ipc"  # the sandboxed kernel has no network
        config.KernelManager.ip = str(runtime / "ipc")
        config.KernelManager.connection_file = str(runtime / "kernel.json")
        os.environ["JUPYTER_PATH"] = str(sandbox_dir)  # its python3 kernelspec comes first
    else:
        os.environ.pop("JUPYTER_PATH", None)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
            result = api.autograde(assignment, student, force=True, create=True)
    finally:
        if runtime is not None:
            shutil.rmtree(runtime, ignore_errors=True)
            cgroups.sweep()
    return bool(result.get("success")), str(result.get("error", "")) + str(result.get("log", ""))


RUNTIME_PREFIX = "rope-kernel-"
"""Kernel socket folders are ``<tmp>/rope-kernel-<grading pid>-<random>``."""


def sweep_stale_runtimes() -> None:
    """Remove the socket folders of grading processes that no longer exist (killed with
    SIGKILL, they could not clean up)."""
    for path in Path(tempfile.gettempdir()).glob(f"{RUNTIME_PREFIX}*-*"):
        pid = path.name[len(RUNTIME_PREFIX):].split("-")[0]
        if not pid.isdigit() or int(pid) <= 0:
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # alive, someone else's
            pass
    cgroups.sweep()


KERNEL_DIED = ("the notebook's kernel died while it ran (it crashed, exited or was killed, "
               "for example by os._exit, a segmentation fault or a signal), so no cell from "
               "that point on could run")

KERNEL_DIED_PARTLY = ("the notebook's kernel died while it ran; the answers of the cells "
                      "before that were graded, those after it got no points (see the feedback)")

CELL_TIMEOUT = ("a cell was still running {} s after it started and ignored the interrupt "
                "sent to stop it (it blocks or ignores KeyboardInterrupt), so the notebook "
                "could not be run to the end")

KERNEL_MESSAGING = ("the notebook's kernel sent a message whose signature did not check out, "
                    "so the grader stopped listening to it and the notebook could not be run "
                    "to the end; this happens when a notebook replaces Python builtins or the "
                    "kernel's own internals (its session, sockets or signing) while it runs")

_SIGNATURE = re.compile(r"ValueError: (Invalid|Duplicate) Signature|ValueError: Unsigned Message")
_RAISED = re.compile(r"^\s*[\w.]*(Error|Exception)\b[^:]*: ")


def _last_error(log: str) -> str:
    """The most telling line of a failed nbgrader log: the last exception raised (nbgrader's
    closing "see the above traceback" excepted), else the last error line."""
    lines = [ln for ln in log.strip().splitlines() if ln.strip()]
    raised = [ln.strip() for ln in lines
              if _RAISED.match(ln) and "NbGraderException" not in ln]
    errors = [ln for ln in lines if "Error" in ln or "ERROR" in ln]
    return (raised or errors or lines or ["nbgrader autograde failed"])[-1][:300]


def journal_path(ws: Workspace, sub: Submission) -> Path:
    """Where a finished job is recorded."""
    return ws.journal / f"{sub.key}.json"


def fingerprint(sub: Submission, settings: str) -> str:
    """What a journalled result depends on: the notebook's bytes, what discovery found, and
    the grading ``settings``."""
    h = hashlib.sha256(json.dumps([settings, sub.problem, sub.detail, list(sub.notes)]).encode())
    if sub.path is not None and sub.path.is_file():
        h.update(sub.path.read_bytes())
    return h.hexdigest()


def save(ws: Workspace, sub: Submission, result: SubmissionResult, settings: str = "") -> None:
    """Record a finished job atomically (write, fsync, rename), with its :func:`fingerprint`."""
    path = journal_path(ws, sub)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({**result.to_dict(), "fingerprint": fingerprint(sub, settings)}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load(ws: Workspace, sub: Submission, settings: str = "") -> SubmissionResult | None:
    """A journalled result, if the job finished in an earlier run on the same notebook with
    the same settings; None otherwise (the job is graded again)."""
    path = journal_path(ws, sub)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("fingerprint", None) != fingerprint(sub, settings):
            return None  # resubmitted, or graded with other settings
        return SubmissionResult.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged entry is regraded


def _job(args: tuple[Workspace, Submission, int]) -> SubmissionResult:
    """One job, in its own process (see :mod:`grader.workers`)."""
    ws, sub, timeout = args
    warnings.simplefilter("ignore")
    pipeline.tools_on_path()
    result = run_job(ws, sub, timeout)
    if not result.problem:  # render the feedback page here, in parallel with other jobs
        page = ws.rendered_feedback(sub.key)
        page.parent.mkdir(parents=True, exist_ok=True)
        tmp = page.with_suffix(".tmp")
        tmp.write_text(feedback.render(result, ws.autograded_notebook(result)), encoding="utf-8")
        os.replace(tmp, page)
    return result


def job_limit(timeout: int) -> float:
    """Hard limit for one whole notebook: generous, since every cell may use ``timeout``."""
    return max(600.0, 20.0 * timeout)


def grade_all(ws: Workspace, subs: list[Submission], workers: int, timeout: int,
              on_done: Callable[[SubmissionResult, bool], None] = lambda r, resumed: None,
              settings: str = "") -> list[SubmissionResult]:
    """Grade every submission (resuming those journalled with the same notebook and
    ``settings``), in parallel; results in input order."""
    results: dict[str, SubmissionResult] = {}
    todo = []
    for sub in subs:
        done = load(ws, sub, settings)
        if done is not None:
            results[sub.key] = done
            on_done(done, True)
        else:
            todo.append(sub)

    def finished(job: tuple[Workspace, Submission, int],
                 outcome: SubmissionResult | JobFailure) -> None:
        sub = job[1]
        if isinstance(outcome, JobFailure):  # infrastructure: record it, go on with the rest
            shutil.rmtree(ws.job_dir(sub.key), ignore_errors=True)
            outcome = ungradable(ws, sub, "grading_timeout" if outcome.reason == "timeout"
                                 else "grader_error", outcome.detail)
        save(ws, sub, outcome, settings)
        results[sub.key] = outcome
        on_done(outcome, False)

    run_isolated([(ws, sub, timeout) for sub in todo], _job, workers, job_limit(timeout),
                 finished)
    return [results[s.key] for s in subs]


def merge(db_url: str, results: Iterable[SubmissionResult]) -> None:
    """Write results into the class gradebook: a single writer, one transaction per job."""
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        for r in results:
            if r.assignment not in NOTEBOOKS or r.problem == BAD_STUDENT_ID:
                continue  # an unknown folder or an unusable id: nothing for the gradebook
            gb.update_or_create_student(r.student)
            gb.update_or_create_submission(r.assignment, r.student)
            for g in r.grades:
                try:
                    grade = gb.find_grade(g.name, r.assignment, r.assignment, r.student)
                except MissingEntry:
                    continue
                grade.auto_score = g.auto_score
                grade.needs_manual_grade = g.needs_manual_grade
            gb.db.commit()
