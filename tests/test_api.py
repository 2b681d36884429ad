"""The Python API: grade one notebook without a course directory (jupyter/nbgrader#1371)."""

from __future__ import annotations

from pathlib import Path

import pytest

import grader
from grader.items import items_for
from grader.pipeline import COURSE
from grader.samples import with_slips

pytestmark = pytest.mark.nbgrader


def test_grade_notebook_scores_a_slip(tmp_path: Path) -> None:
    """Does grader.grade_notebook grade a file anywhere, item by item, in the sandbox?"""
    import nbformat

    nb = with_slips(COURSE / "source" / "derive_lambda" / "derive_lambda.ipynb",
                    {"lam_solution": "lam_solution = (m / m_l) ** (d / 2)"})
    path = tmp_path / "alice.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    report = grader.grade_notebook(path, "derive_lambda")
    assert isinstance(report, grader.NotebookReport)
    assert [r.item for r in report.items] == [it.id for it in items_for("derive_lambda")]
    by = report.by_item()
    assert (by["lam_solution"].score, by["lam_solution"].tag) == (0.0, "half_d_exponent")
    assert (by["theta_i"].score, by["theta_i"].tag) == (1.0, "ok")
    assert report.problems == ()
    assert path.read_bytes() == before


def test_grade_notebook_rejects_an_unknown_assignment(tmp_path: Path) -> None:
    """Does an unknown assignment name give a clear error listing the known ones?"""
    path = tmp_path / "homework.ipynb"
    path.write_text("{}")
    with pytest.raises(ValueError, match="unknown assignment 'homework'"):
        grader.grade_notebook(path)
