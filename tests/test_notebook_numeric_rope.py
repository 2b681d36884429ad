"""Does notebook 2 (numeric_rope) release and grade as intended, through real nbgrader?

One module-wide course copy: ``generate_assignment`` runs once, then every fixture student of
``tests/files/numeric_rope/`` and the untouched release are autograded together in a single
``nbgrader autograde numeric_rope --force`` run, and each item's score and tag is checked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.font_manager  # noqa: F401 -- builds the font cache before any kernel starts
import nbformat
import pytest

from grader.items import items_for
from grader.pipeline import COURSE, generate, nbgrader, read_report, working_copy
from grader.results import ItemResult, NotebookReport

pytestmark = pytest.mark.nbgrader

ASSIGNMENT = "numeric_rope"
SOURCE = COURSE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = COURSE / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
FIXTURES = Path(__file__).parent / "files" / ASSIGNMENT
ITEMS = items_for(ASSIGNMENT)
POINTS = {it.id: float(it.points) for it in ITEMS}
HIDDEN = ('### BEGIN HIDDEN TESTS\nfrom grader.capture import grade; grade("{id}", {name})\n'
          "### END HIDDEN TESTS\n")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def expect(**changes: tuple[float, str]) -> dict[str, tuple[float, str]]:
    """Full marks with tag "ok" on every item, except the items given."""
    assert set(changes) <= set(POINTS), set(changes) - set(POINTS)
    return {item: changes.get(item, (points, "ok")) for item, points in POINTS.items()}


@dataclass(frozen=True)
class Scenario:
    """A submitted notebook and what the grader must make of it."""

    changed: frozenset[str]
    """answer cells (grade_ids) that differ from the model's; empty for the model itself"""
    expected: dict[str, tuple[float, str]] = field(default_factory=expect)
    """(score, tag) per item"""


# One fixture per misconception. Later answers call earlier functions, so a slip can cost
# points downstream; every item's score is spelled out.
SCENARIOS: dict[str, Scenario] = {
    "model": Scenario(frozenset()),
    # a half-split rotation in apply_rope: rope_score, which calls it, is carried over (right
    # on the student's own apply_rope); speed points need a correct kernel (the timed output
    # is checked)
    "other_layout": Scenario(frozenset({"apply_rope_answer"}), expect(
        apply_rope=(0.0, "other_layout"), rope_score=(2.0, "carried_over"),
        apply_rope_speed=(0.0, "wrong_values"))),
    # rotates by the conjugate table: rope_score is carried, the timed output is wrong
    "sin_sign": Scenario(frozenset({"apply_rope_answer"}), expect(
        apply_rope=(0.0, "sin_sign"), rope_score=(2.0, "carried_over"),
        apply_rope_speed=(0.0, "wrong_values"))),
    # theta_k = base**(-2k/d) with k = 1..d/2: every kernel built on rope_frequencies inherits the
    # shift, and is carried over (right on the student's own frequencies); so is find_lambda,
    # whose bisection on those wavelengths (last theta = 1/base) finds m/m_l; the timed
    # results are right for those frequencies too, so the speed points stay
    "one_based_index": Scenario(frozenset({"rope_frequencies_answer"}), expect(
        rope_frequencies=(0.0, "one_based_index"), rope_angles=(2.0, "carried_over"),
        apply_rope=(4.0, "carried_over"), apply_rope_half=(3.0, "carried_over"),
        wavelengths=(2.0, "carried_over"), find_lambda=(2.0, "carried_over"),
        rope_score=(2.0, "carried_over"), apply_rope_speed=(2.0, "ok"))),
    "pi_inverted": Scenario(frozenset({"position_interpolation_answer"}), expect(
        position_interpolation=(0.0, "pi_inverted"))),
    # `pairs *= table` on a view of the caller's array; rope_score passes copies, so it is fine;
    # repeated timed calls keep rotating the caller's array, so the timed output is wrong
    "modified_input": Scenario(frozenset({"apply_rope_answer"}), expect(
        apply_rope=(2.0, "modified_input"), apply_rope_speed=(0.0, "wrong_values"))),
    # the complex128 table is never cast to complex64, so float32 in gives float64 out
    # a float64 result for a float32 input: not the right result, so no speed points either
    "wrong_dtype": Scenario(frozenset({"apply_rope_answer"}), expect(
        apply_rope=(2.0, "wrong_dtype"), apply_rope_speed=(0.0, "wrong_values"))),
    # find_lambda compares two periods, so the missing 2*pi cancels there
    "missing_2pi": Scenario(frozenset({"wavelengths_answer"}), expect(
        wavelengths=(0.0, "missing_2pi"))),
    "pi_factor": Scenario(frozenset({"ntk_scaled_base_answer"}), expect(
        ntk_scaled_base=(0.0, "pi_factor"))),
    # forgets the complex view: the broadcast fails on every call, the timing too
    "exception": Scenario(frozenset({"apply_rope_answer"}), expect(
        apply_rope=(0.0, "exception"), rope_score=(0.0, "exception"),
        apply_rope_speed=(0.0, "exception"))),
    # numerically right, a Python loop over positions and pairs: only the speed points go
    "python_loop": Scenario(frozenset({"apply_rope_answer"}), expect(
        apply_rope_speed=(0.0, "far_too_slow"))),
}
RELEASE_EXPECTED = {item: (0.0, "missing") for item in POINTS}  # still NotImplementedError
ALL_STUDENTS = [*SCENARIOS, "release"]

def student_notebook(student: str) -> nbformat.NotebookNode:
    return nbformat.read(FIXTURES / f"{student}.ipynb", as_version=4)


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private course copy with the assignment generated once."""
    course_dir = working_copy(tmp_path_factory.mktemp("numeric_rope") / "course")
    generate(course_dir, ASSIGNMENT)
    return course_dir


@pytest.fixture(scope="module")
def generated_release(course: Path) -> nbformat.NotebookNode:
    return nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def autograded(course: Path) -> dict[str, Path]:
    """Every fixture student and the untouched release, graded in ONE autograde run."""
    for student in ALL_STUDENTS:
        src = (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" if student == "release"
               else FIXTURES / f"{student}.ipynb")
        target = course / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copyfile(src, target / f"{ASSIGNMENT}.ipynb")
    nbgrader(["autograde", ASSIGNMENT, "--force"], course)
    return {s: course / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            for s in ALL_STUDENTS}


@pytest.fixture(scope="module")
def reports(autograded: dict[str, Path]) -> dict[str, NotebookReport]:
    return {student: read_report(path, ASSIGNMENT) for student, path in autograded.items()}


# ---------------------------------------------------------------------------------------------
# The source notebook
# ---------------------------------------------------------------------------------------------
def test_source_format() -> None:
    """Is the source stored clean (no outputs, minimal metadata) with a test cell per item?"""
    raw = nbformat.read(SOURCE, as_version=nbformat.NO_CONVERT)
    nbformat.validate(raw)
    assert raw.nbformat == 4
    assert dict(raw.metadata) == {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"},
    }
    grade_ids = []
    for cell in raw.cells:
        assert set(cell.metadata) <= {"nbgrader"}, (cell.id, dict(cell.metadata))
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
        meta = nbgrader_meta(cell)
        if meta:
            assert meta["schema_version"] == 3, cell.id
            grade_ids.append(meta["grade_id"])
    assert len(grade_ids) == len(set(grade_ids)), "grade_ids must be unique"

    setup = next(c for c in raw.cells if nbgrader_meta(c).get("grade_id") == "setup")
    assert nbgrader_meta(setup)["locked"] and not nbgrader_meta(setup)["solution"]
    for module in ("import time", "import matplotlib.pyplot as plt", "import numpy as np"):
        assert module in setup.source

    tests = {nbgrader_meta(c)["grade_id"]: c for c in raw.cells if nbgrader_meta(c).get("grade")}
    assert set(tests) == set(POINTS), "exactly one test cell per registry item"
    for item in ITEMS:
        meta = nbgrader_meta(tests[item.id])
        assert (meta["solution"], meta["locked"], meta["points"]) == (False, True, item.points)
        assert tests[item.id].source.startswith(HIDDEN.format(id=item.id, name=item.name))
        assert "BEGIN HIDDEN TESTS" not in tests[item.id].source[len(HIDDEN):]
    assert sum(nbgrader_meta(c)["points"] for c in tests.values()) == sum(POINTS.values()) == 24

    for cell in raw.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            assert not meta["grade"] and not meta["locked"], cell.id
            assert all(marker in cell.source for marker in SOLUTION_MARKERS), cell.id


def test_source_validates_and_runs_within_a_minute(course: Path) -> None:
    """Does ``nbgrader validate`` pass the source, with no error or stderr in any cell, in < 60 s?

    On a source notebook, validate clears the outputs and executes every cell with the
    solutions and hidden tests in place. Its checks: a cell whose type differs from its
    nbgrader ``cell_type`` and a locked cell whose checksum changed (neither applies: source
    cells carry no checksums), and a grade cell that fails, i.e. raises (the hidden tests only
    record answers, so validate does not judge them: that is autograde's job).
    ``Validator.validate_all`` extends the last check to every code cell, counting stderr output
    as a failure too, so warnings are caught. PYTHONWARNINGS is left unset here on purpose.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    notebook = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", "--Validator.validate_all=True",
         str(notebook)], cwd=course, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout[-3000:]
    assert elapsed < 60, f"validating the source took {elapsed:.0f} s"


# ---------------------------------------------------------------------------------------------
# The release
# ---------------------------------------------------------------------------------------------
def test_release_is_clean() -> None:
    """Does the committed release hold no solution code, no hidden test and no grader import?"""
    release = nbformat.read(RELEASE, as_version=4)
    for cell in release.cells:
        text = cell.source
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in text, (cell.id, marker)
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(from|import)\s+grader|\bgrade\(", text, re.MULTILINE), (
                cell.id)
            assert cell.outputs == [] and cell.execution_count is None, cell.id
        if nbgrader_meta(cell).get("solution"):
            assert "raise NotImplementedError()" in text, cell.id
            assert not re.search(r"^\s+return\b", text, re.MULTILINE), (
                f"{cell.id} still holds solution code")


def test_release_matches_generate_assignment(generated_release: nbformat.NotebookNode) -> None:
    """Is the committed release what generate_assignment makes of the current source?"""
    committed = nbformat.read(RELEASE, as_version=4)
    assert len(committed.cells) == len(generated_release.cells)
    for mine, fresh in zip(committed.cells, generated_release.cells):
        assert (mine.cell_type, mine.source, nbgrader_meta(mine)) == (
            fresh.cell_type, fresh.source, nbgrader_meta(fresh)), (
            f"cell {fresh.get('id')} is stale: regenerate course/release/{ASSIGNMENT}")
    assert committed.metadata == generated_release.metadata


def test_fixtures_are_the_release_filled_in() -> None:
    """Is every fixture the current release with answers only, each slip in its declared cells?"""
    release = nbformat.read(RELEASE, as_version=4)
    source = nbformat.read(SOURCE, as_version=4)
    model_code = {nbgrader_meta(c)["grade_id"]: strip_markers(c.source)
                  for c in source.cells if nbgrader_meta(c).get("solution")}
    assert sorted(p.stem for p in FIXTURES.glob("*.ipynb")) == sorted(SCENARIOS)
    for student, scenario in SCENARIOS.items():
        nb = student_notebook(student)
        assert len(nb.cells) == len(release.cells), student
        changed = set()
        for cell, released in zip(nb.cells, release.cells):
            assert (cell.cell_type, nbgrader_meta(cell)) == (
                released.cell_type, nbgrader_meta(released)), (student, released.get("id"))
            gid = nbgrader_meta(cell).get("grade_id")
            if nbgrader_meta(cell).get("solution"):
                if cell.source.strip() != model_code[gid].strip():
                    changed.add(gid)
            else:
                assert cell.source == released.source, (student, released.get("id"))
        assert changed == scenario.changed, student


# ---------------------------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------------------------
def check(result: ItemResult, expected: tuple[float, str]) -> None:
    got = (result.score, result.tag)
    assert got == expected, f"{result.item}: {result.message} ({result.detail})"


@pytest.mark.parametrize("item", list(POINTS))
@pytest.mark.parametrize("student", list(SCENARIOS))
def test_fixture_scores(reports: dict[str, NotebookReport], student: str, item: str) -> None:
    """Does each fixture student get exactly the intended score and tag on every item?"""
    report = reports[student]
    assert report.problems == (), report.problems
    assert report.by_item()[item].max_score == POINTS[item]
    check(report.by_item()[item], SCENARIOS[student].expected[item])


@pytest.mark.parametrize("item", list(POINTS))
def test_untouched_release_scores_zero(reports: dict[str, NotebookReport], item: str) -> None:
    """Does the release, submitted as it is, get 0 on every item, as not answered?"""
    check(reports["release"].by_item()[item], RELEASE_EXPECTED[item])


def test_python_loop_feedback_says_why(reports: dict[str, NotebookReport]) -> None:
    """Is a looping apply_rope told that the loop is the problem, and what to do instead?"""
    result = reports["python_loop"].by_item()["apply_rope_speed"]
    assert "Python loop" in result.message and "whole-array numpy" in result.message
    assert re.match(r"\d+(\.\d+)?x the reference", result.detail), result.detail


def test_model_is_fast(reports: dict[str, NotebookReport]) -> None:
    """Is the model apply_rope within 3x the reference kernel (the full-marks band)?"""
    result = reports["model"].by_item()["apply_rope_speed"]
    slower = float(re.match(r"([\d.]+)x the reference", result.detail).group(1))
    assert slower <= 3.0, result.detail


def test_model_runs_without_errors_or_stderr(autograded: dict[str, Path]) -> None:
    """Do the model's ungraded cells all run, print no stderr, and draw the three plots?"""
    nb = nbformat.read(autograded["model"], as_version=4)
    figures = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                cell.get("id"), output.text)
            if not nbgrader_meta(cell).get("grade"):
                assert output.output_type != "error", (cell.get("id"), output.get("evalue"))
            figures += "image/png" in output.get("data", {})
    assert figures == 3
