"""``grader.grade_notebook``: grade one notebook from Python, without a course directory.

Instructors asked nbgrader for exactly this (jupyter/nbgrader#1371).  It runs the same path
as ``rope-course grade`` (a private course copy, real nbgrader, the sandboxed kernel) for a
single notebook, in a temporary folder, and returns the typed report.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from grader import runner, sandbox
from grader.items import NOTEBOOKS
from grader.results import NotebookReport
from grader.submissions import Submission, check


def grade_notebook(path: str | os.PathLike[str], assignment: str | None = None, *,
                   sandboxed: bool = True, kernel_python: str | None = None,
                   timeout: int = 60) -> NotebookReport:
    """Autograde one notebook with real nbgrader and return its :class:`NotebookReport`.

    ``assignment`` defaults to the file name (``derive_lambda`` or ``numeric_rope``).  The
    notebook is never modified.  ``sandboxed=False`` runs the kernel without bubblewrap.
    """
    src = Path(path).absolute()
    assignment = assignment or src.stem
    if assignment not in NOTEBOOKS:
        raise ValueError(f"unknown assignment {assignment!r}: expected one of {list(NOTEBOOKS)} "
                         "(pass assignment=... when the file is named differently)")
    if not src.is_file():
        raise FileNotFoundError(f"no notebook at {src}")
    if sandboxed:
        sandbox.check_bwrap()
        kernel_python = sandbox.kernel_python(kernel_python)
    saved = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory(prefix="rope-grade-") as tmp:
        try:
            ws = runner.Workspace(Path(tmp) / ".work")
            ws.root.mkdir(parents=True)
            runner.prepare(ws, f"sqlite:///{Path(tmp) / 'gradebook.db'}",
                           kernel_python if sandboxed else None)
            result = runner.run_job(ws, check(Submission("student", assignment, src)), timeout)
        finally:
            if saved is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = saved
    problems = ((f"{result.problem}: {result.detail}",) if result.problem else ()) + result.notes
    return NotebookReport(assignment, result.items, problems)
