"""Grade notebooks with the real nbgrader pipeline, in a private working copy of the course.

nbgrader does the work (generate_assignment, OverwriteCells, Execute, SaveAutoGrades);
this module only prepares the course folder, places submissions and reads back the
verdicts that :class:`~grader.preprocessors.ScoreCaptures` stored in each cell.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import nbformat

from grader import scoring
from grader.items import items_for
from grader.results import ItemResult, NotebookReport
from grader.toolpath import tools_on_path

COURSE = Path(__file__).resolve().parent.parent / "course"
"""The course bundled with this package."""


class PipelineError(RuntimeError):
    """An nbgrader step failed; the message carries nbgrader's own explanation."""


def nbgrader(args: list[str], cwd: Path, timeout: float = 900) -> str:
    """Run an nbgrader command in ``cwd``; raise :class:`PipelineError` with its log on failure."""
    tools_on_path()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise PipelineError(f"nbgrader {' '.join(args)} failed:\n{tail}")
    return proc.stdout + proc.stderr


def working_copy(dest: Path, course: Path = COURSE) -> Path:
    """Copy the course's config and source notebooks into ``dest`` (no gradebook, no output)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(course / "source", dest / "source", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def generate(course_dir: Path, assignment: str) -> Path:
    """Run nbgrader's generate_assignment; return the release notebook's path."""
    nbgrader(["generate_assignment", assignment, "--force"], course_dir)
    return course_dir / "release" / assignment / f"{assignment}.ipynb"


def course_digest(course: Path = COURSE) -> str:
    """Digest of everything generate_assignment reads, and of nbgrader's version."""
    from nbgrader import __version__

    h = hashlib.sha256(__version__.encode())
    files = [course / "nbgrader_config.py", *sorted((course / "source").rglob("*"))]
    for path in files:
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            h.update(str(path.relative_to(course)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:20]


def _cache_root() -> Path:
    base = os.environ.get("ROPE_COURSE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rope-course")
    return Path(base) / "courses"


def generated_course(dest: Path, assignments: Iterable[str], course: Path = COURSE) -> Path:
    """A working copy of the course in ``dest`` with every assignment generated (release
    notebooks and a gradebook recording their cells).

    nbgrader's generate_assignment costs seconds per assignment, so its result is kept in
    ``$ROPE_COURSE_CACHE`` (default ``~/.cache/rope-course``) under a digest of the source
    notebooks, the config and nbgrader's version, and copied from there while they are
    unchanged.  Without a writable cache the course is generated in ``dest`` directly."""
    assignments = list(assignments)
    key = f"{course_digest(course)}-{'-'.join(assignments)}"
    cached = _cache_root() / key
    if not (cached / "gradebook.db").is_file():
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            build = cached.with_name(f"{key}.build-{os.getpid()}")
        except OSError:
            build = None
        target = build or dest
        shutil.rmtree(target, ignore_errors=True)
        try:
            working_copy(target, course)
            for assignment in assignments:
                generate(target, assignment)
        except BaseException:
            if build is not None:
                shutil.rmtree(build, ignore_errors=True)
            raise
        if build is None:
            return dest
        try:
            build.rename(cached)
        except OSError:  # another process finished first: use its copy
            shutil.rmtree(build, ignore_errors=True)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(cached, dest)
    return dest


def read_report(notebook_path: Path, assignment: str) -> NotebookReport:
    """Collect the verdicts stored in an autograded notebook, one per registry item."""
    nb = nbformat.read(notebook_path, as_version=4)
    found: dict[str, ItemResult] = {}
    for cell in nb.cells:
        item = scoring.registry_item(cell)  # only a hidden-test cell's own verdict counts
        result = scoring.read_result(cell) if item is not None else None
        if result is not None and result.item == item.id:
            found[result.item] = result
    problems = tuple(f"item {it.id} was not graded (its test cell is missing)"
                     for it in items_for(assignment) if it.id not in found)
    ordered = tuple(found[it.id] for it in items_for(assignment) if it.id in found)
    return NotebookReport(assignment, ordered, problems)
