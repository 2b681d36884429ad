"""The derive_lambda notebook, checked through the real nbgrader pipeline.

One module-scoped fixture does all the slow work at once: it generates the release from the
source notebook (while ``nbgrader validate`` runs on the source), then autogrades every
submission below (the model solution, the untouched release and one notebook per
misconception scenario) with plain ``nbgrader autograde``, split over a few copies of the
course that run side by side.  The tests then only read the results.  The tests without the
``nbgrader`` mark check the committed files statically and need no nbgrader run.

The misconception submissions are the source notebook with the one answer cell of
:data:`SCENARIOS` changed, written by :func:`write_fixtures` into the test's temporary folder,
so they always follow the source notebook and no copies of it are committed.
"""

from __future__ import annotations

import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from derive_lambda_scenarios import ITEMS, SCENARIOS
from nbformat import NotebookNode

from grader.pipeline import generate, nbgrader, read_report, working_copy
from grader.results import NotebookReport

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "derive_lambda"
SOURCE = ROOT / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "course" / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MANUAL_POINTS = 2.0
WORKERS = min(4, max(2, os.cpu_count() or 2))
"""Course copies autograded side by side (each runs its students one after the other)."""

_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
_MARK_SCHEME = re.compile(r"=== BEGIN MARK SCHEME ===\n(.*?)=== END MARK SCHEME ===", re.S)


def scenario_notebook(name: str) -> NotebookNode:
    """The model source notebook with the one answer of scenario ``name`` changed."""
    scenario = SCENARIOS[name]
    nb = nbformat.read(SOURCE, as_version=4)
    cells = [c for c in nb.cells if _nbgrader(c).get("grade_id") == scenario.cell]
    assert len(cells) == 1 and _nbgrader(cells[0]).get("solution"), scenario.cell
    source, n = _SOLUTION.subn(lambda _: scenario.code, cells[0].source)
    assert n == 1, f"{scenario.cell} has no solution region"
    cells[0].source = source
    return nb


def write_fixtures(folder: Path) -> list[Path]:
    """Write every scenario notebook as ``<folder>/<scenario>.ipynb``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SCENARIOS:
        path = folder / f"{name}.ipynb"
        nbformat.write(scenario_notebook(name), path)
        paths.append(path)
    return paths


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


# ------------------------------------------------------------------------------------------
# The one slow fixture
# ------------------------------------------------------------------------------------------
@dataclass
class Runs:
    """Everything the nbgrader runs produced."""

    course: Path
    """the course copy generate_assignment ran in (its release, its gradebook)"""
    generated: Path
    """the release notebook generate_assignment wrote"""
    validate_source: str
    """what ``nbgrader validate`` printed for the source notebook"""
    reports: dict[str, NotebookReport]
    """student id -> report of the autograded notebook"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Generate, validate and autograde everything, in as few nbgrader runs as possible."""
    tmp = tmp_path_factory.mktemp("derive_lambda")
    course = working_copy(tmp / "course")
    validate_dir = tmp / "validate"
    validate_dir.mkdir()
    shutil.copyfile(SOURCE, validate_dir / "source.ipynb")

    with ThreadPoolExecutor(max_workers=WORKERS + 1) as pool:
        validated = pool.submit(nbgrader, ["validate", "source.ipynb"], validate_dir)
        generated = generate(course, ASSIGNMENT)

        submissions: dict[str, Path] = {"model": SOURCE, "blank": RELEASE}
        written = write_fixtures(tmp / "scenarios")
        submissions.update((p.stem, p) for p in written)
        workers = [course]
        for k in range(1, WORKERS):
            workers.append(tmp / f"course-{k}")
            shutil.copytree(course, workers[-1])
        where: dict[str, Path] = {}
        for n, (student, path) in enumerate(submissions.items()):
            where[student] = workers[n % WORKERS]
            target = where[student] / "submitted" / student / ASSIGNMENT
            target.mkdir(parents=True)
            shutil.copyfile(path, target / f"{ASSIGNMENT}.ipynb")
        graded = [pool.submit(nbgrader, ["autograde", ASSIGNMENT, "--force"], w)
                  for w in workers]
        for job in graded:
            job.result()
        validate_source = validated.result()
    reports = {s: read_report(w / "autograded" / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                              ASSIGNMENT) for s, w in where.items()}
    return Runs(course, generated, validate_source, reports)


# ------------------------------------------------------------------------------------------
# The source notebook's format (no nbgrader run needed)
# ------------------------------------------------------------------------------------------
def _source() -> NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def _test_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {_nbgrader(c)["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and _nbgrader(c).get("grade") and
            not _nbgrader(c).get("solution")}


def test_source_is_stored_clean() -> None:
    """Is the source stored as nbformat 4 without outputs, with only the metadata it needs?"""
    nb = _source()
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert dict(nb.metadata) == {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
        "language_info": {"name": "python"}}
    for cell in nb.cells:
        assert set(cell.metadata) <= {"nbgrader"}, cell.source[:60]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    meta = [_nbgrader(c) for c in nb.cells if _nbgrader(c)]
    assert all(m["schema_version"] == 3 for m in meta)
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"


def test_every_item_has_one_test_cell_with_the_registry_points() -> None:
    """Does each registry item have exactly one locked test cell, hidden capture first?"""
    tests = _test_cells(_source())
    assert set(tests) == set(ITEMS)
    for item_id, cell in tests.items():
        meta = _nbgrader(cell)
        assert meta["locked"] and meta["points"] == ITEMS[item_id].points, item_id
        head = cell.source.split("\n")[:3]
        assert head == ["### BEGIN HIDDEN TESTS",
                        f'from grader.capture import grade; grade("{item_id}", '
                        f"{ITEMS[item_id].name})",
                        "### END HIDDEN TESTS"], item_id
        visible = cell.source.split("\n")[3:]
        assert any(line.startswith("assert ") for line in visible), f"{item_id}: no hints"


def test_points_add_up_to_thirty() -> None:
    """Are there 28 auto-graded points (the registry's) plus 2 manual ones?"""
    nb = _source()
    auto = sum(_nbgrader(c)["points"] for c in _test_cells(nb).values())
    manual = [c for c in nb.cells if c.cell_type == "markdown" and _nbgrader(c).get("grade")]
    assert auto == sum(it.points for it in ITEMS.values()) == 28
    assert [(_nbgrader(c)["grade_id"], _nbgrader(c)["points"], _nbgrader(c)["solution"],
             _nbgrader(c)["task"]) for c in manual] == [
        ("colleague_explanation", MANUAL_POINTS, True, False)]


def test_setup_cell_defines_the_course_symbols() -> None:
    """Is there one locked setup cell creating the symbols exactly as the answer key does?"""
    nb = _source()
    [setup] = [c for c in nb.cells if _nbgrader(c).get("grade_id") == "setup"]
    meta = _nbgrader(setup)
    assert meta["locked"] and not meta["grade"] and not meta["solution"]
    for line in ('b, m, m_l, lam = sp.symbols("b m m_l lam", positive=True)',
                 'd = sp.Symbol("d", positive=True, even=True)',
                 'i = sp.Symbol("i", integer=True, nonnegative=True)', "import sympy as sp"):
        assert line in setup.source
    assert nb.cells.index(setup) <= 2


def test_mark_scheme_sits_in_a_task_cell() -> None:
    """Is the rubric inside a MARK SCHEME block of a task cell (the only cells nbgrader's
    ClearMarkScheme accepts one in), next to the manually graded answer cell?"""
    nb = _source()
    holders = [c for c in nb.cells if _MARK_SCHEME.search(c.source)]
    assert len(holders) == 1 and _nbgrader(holders[0])["task"]
    assert _nbgrader(holders[0])["points"] == 0, "the 2 manual points sit on the answer cell"
    following = nb.cells[nb.cells.index(holders[0]) + 1]
    assert _nbgrader(following)["grade_id"] == "colleague_explanation"


# ------------------------------------------------------------------------------------------
# The committed release
# ------------------------------------------------------------------------------------------
FORBIDDEN_IN_RELEASE = (
    "BEGIN SOLUTION", "HIDDEN TESTS", "MARK SCHEME", "import grader", "from grader",
    "grader.capture", "4.0889", "40889", "2.0221",
    "2.0452", "1.0565", "0.0565", "5.65", "5.7%", "(d - 2)/d", "(d-2)/d", "d/(d - 2)",
    "d/(d-2)", "(d - 2)", "(d-2)", "2/(d - 2)", "m/m_l)**", "Model answer")


def _answer_lines(nb: NotebookNode) -> set[str]:
    """The distinctive lines of the model answers, rubric and model text."""
    lines: set[str] = set()
    for cell in nb.cells:
        for block in _SOLUTION.findall(cell.source) + _MARK_SCHEME.findall(cell.source):
            lines.update(line.strip() for line in block.splitlines())
        meta = _nbgrader(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            lines.update(line.strip() for line in cell.source.splitlines())
    return {line for line in lines if len(line) >= 12}


def test_release_holds_no_answers() -> None:
    """Is the committed release free of solutions, hidden tests, rubric and answer numbers?"""
    release = nbformat.read(RELEASE, as_version=4)
    text = "\n".join(c.source for c in release.cells)
    for needle in FORBIDDEN_IN_RELEASE:
        assert needle not in text, needle
    release_lines = {line.strip() for line in text.splitlines()}
    leaked = _answer_lines(_source()) & release_lines
    assert not leaked, leaked
    assert text.count("# YOUR CODE HERE\nraise NotImplementedError()") == len(ITEMS)
    assert all(c.get("outputs", []) == [] for c in release.cells)


@pytest.mark.nbgrader
def test_release_is_what_generate_assignment_produces(runs: Runs) -> None:
    """Does the committed release equal a fresh generate_assignment of the source (no drift)?"""
    def shape(path: Path) -> list[tuple[Any, ...]]:
        nb = nbformat.read(path, as_version=4)
        return [(c.cell_type, c.source, c.get("id"), _nbgrader(c)) for c in nb.cells]

    assert shape(RELEASE) == shape(runs.generated)
    assert nbformat.read(RELEASE, 4).metadata == nbformat.read(runs.generated, 4).metadata


# ------------------------------------------------------------------------------------------
# nbgrader validate
# ------------------------------------------------------------------------------------------
@pytest.mark.nbgrader
def test_validate_passes_on_the_source(runs: Runs) -> None:
    """Does ``nbgrader validate`` pass on the source notebook?

    Plain validate is the right mode for a source notebook: it executes the model answers
    with the tests (hidden ones included) and fails any test cell that errors.  The source has no checksums, so the "changed locked cell" check does not apply.
    ``--invert`` (complain about tests that PASS) would be wrong here: it is meant for a
    release, and what it would check there (no test passes without answers) is covered more
    strictly by autograding the untouched release to 0 on every item.
    """
    assert "Success! Your notebook passes all the tests." in runs.validate_source


@pytest.mark.nbgrader
def test_gradebook_totals(runs: Runs) -> None:
    """Does nbgrader itself count 28 code points and 2 written points, 30 in all?"""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{runs.course / 'gradebook.db'}", "rope-scaling") as gb:
        notebook = gb.find_notebook(ASSIGNMENT, ASSIGNMENT)
        assert (notebook.max_code_score, notebook.max_written_score,
                notebook.max_task_score, notebook.max_score) == (28, 2, 0, 30)


# ------------------------------------------------------------------------------------------
# Autograding
# ------------------------------------------------------------------------------------------
@pytest.mark.nbgrader
def test_model_solution_gets_full_marks(runs: Runs) -> None:
    """Does the model (source) notebook score every item in full, with tag ok?"""
    report = runs.reports["model"]
    assert report.problems == ()
    assert {r.item: (r.score, r.tag) for r in report.items} == {
        item: (it.points, "ok") for item, it in ITEMS.items()}
    assert report.score == report.max_score == 28


@pytest.mark.nbgrader
def test_untouched_release_gets_nothing(runs: Runs) -> None:
    """Does the release, submitted as it is, score 0 on every item, each tagged missing?"""
    report = runs.reports["blank"]
    assert report.problems == ()
    assert {r.item: (r.score, r.tag) for r in report.items} == {
        item: (0.0, "missing") for item in ITEMS}


@pytest.mark.nbgrader
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_misconception_scenario(runs: Runs, name: str) -> None:
    """Does one slip cost exactly the expected points, tagged with its misconception?"""
    scenario = SCENARIOS[name]
    report = runs.reports[name]
    assert report.problems == ()
    results = report.by_item()
    assert {item: r.score for item, r in results.items()} == scenario.expected()
    assert results[scenario.item].tag == scenario.tag, results[scenario.item].message
    for item, tag in scenario.also.items():
        assert results[item].tag == tag, (item, results[item].message)
    for item, r in results.items():
        if r.score == r.max_score:
            assert r.tag == ("carried_over" if item in scenario.carried else "ok"), (item, r.tag)
        if item in scenario.carried:  # names the answers to fix: wrong ones, not carried
            named = re.search(r"not right: fix (.+?) \(see (its|their) feedback\)", r.message)
            assert named, (item, r.message)
            roots = set(named.group(1).split(" and "))
            assert roots <= {scenario.item} | (scenario.lost - scenario.carried), (item, roots)


def test_scenarios_cover_the_catalogue_tags() -> None:
    """Is every misconception the brief names exercised by a scenario, each on its own?"""
    wanted = {"pi_factor", "inverted_exponent", "matched_frequency", "second_to_last_pair",
              "per_step_ratio", "half_d_exponent", "contains_b", "not_symbolic",
              "highest_frequency_pair", "off_by_one_index", "step_form", "one_based_index",
              "missing_2pi", "pi_inverted"}
    assert {s.tag for s in SCENARIOS.values()} == wanted
    for name in SCENARIOS:
        changed = [(a.source, b.source) for a, b in zip(_source().cells,
                                                       scenario_notebook(name).cells)
                   if a.source != b.source]
        assert len(changed) == 1, name
