"""The RoPE base-scaling course's autograder.

Kernel-safe modules (imported inside student kernels): :mod:`grader.capture`,
:mod:`grader.payload`, :mod:`grader.probes`.  Everything else runs in the grader's own
process.  This package initialiser stays import-free so that ``grader.capture`` loads fast
and pulls in nothing from the answer key.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NotebookReport", "grade_notebook"]


def __getattr__(name: str) -> Any:
    if name == "grade_notebook":
        from grader.api import grade_notebook

        return grade_notebook
    if name == "NotebookReport":
        from grader.results import NotebookReport

        return NotebookReport
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
