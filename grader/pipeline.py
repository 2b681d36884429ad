"""Grade notebooks with the real nbgrader pipeline, in a private working copy of the course.

nbgrader does the work (generate_assignment, OverwriteCells, Execute, SaveAutoGrades);
this module only prepares the course folder, places submissions and reads back the
verdicts that :class:`~grader.preprocessors.ScoreCaptures` stored in each cell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from grader import scoring
from grader.items import items_for
from grader.results import ItemResult, NotebookReport

COURSE = Path(__file__).resolve().parent.parent / "course"
"""The course bundled with this package."""


class PipelineError(RuntimeError):
    """An nbgrader step failed; the message carries nbgrader's own explanation."""


def tools_on_path() -> None:
    """Put this environment's scripts first on PATH: nbgrader's Gradebook shells out to
    ``alembic`` and its kernels to ``jupyter``, even when the venv is not activated."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *parts])


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


def read_report(notebook_path: Path, assignment: str) -> NotebookReport:
    """Collect the verdicts stored in an autograded notebook, one per registry item."""
    nb = nbformat.read(notebook_path, as_version=4)
    found: dict[str, ItemResult] = {}
    for cell in nb.cells:
        result = scoring.read_result(cell)
        if result is not None:
            found[result.item] = result
    problems = tuple(f"item {it.id} was not graded (its test cell is missing)"
                     for it in items_for(assignment) if it.id not in found)
    ordered = tuple(found[it.id] for it in items_for(assignment) if it.id in found)
    return NotebookReport(assignment, ordered, problems)
