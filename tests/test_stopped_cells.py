"""The feedback on cells nbgrader's Execute stopped at the per-cell time limit: a name such a
cell left undefined, an unrelated stopped cell, a stopped test cell."""

from __future__ import annotations

import nbformat
from answercells import answer_cell as _cell

from grader import scoring
from grader.items import REGISTRY
from grader.results import Verdict


def _stopped(source: str) -> nbformat.NotebookNode:
    """A cell nbgrader's Execute stopped at the per-cell limit: the kernel's interrupt, then
    nbgrader's own CellTimeoutError."""
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [
        nbformat.v4.new_output("error", ename="KeyboardInterrupt", evalue="", traceback=[]),
        nbformat.v4.new_output("error", ename="CellTimeoutError", evalue="", traceback=[
            "CellTimeoutError: No reply from kernel before timeout"])]
    return cell


def _unanswered(item_id: str) -> nbformat.NotebookNode:
    cell = _cell(item_id, 0)
    name = REGISTRY[item_id].name
    cell.outputs = [nbformat.v4.new_output(
        "error", ename="NameError", evalue=f"name '{name}' is not defined", traceback=[])]
    return cell


def test_a_name_left_undefined_by_a_stopped_cell_says_so() -> None:
    cells = [_stopped("\n# an answer\nwhile True:\n    pass\nlam_solution = 1"),
             _unanswered("lam_solution")]
    [_, result] = scoring.score_cells(cells)
    assert (result.score, result.tag, result.verdict) == (0.0, "cell_timeout", Verdict.MISSING)
    assert result.message.startswith("lam_solution is not defined because the cell starting "
                                     "`# an answer` ran past the time limit")


def test_an_unrelated_stopped_cell_is_mentioned_not_blamed() -> None:
    """A name the stopped cell never mentions is missing for its own reason: the feedback
    says missing, and only notes the stopped cell."""
    cells = [_stopped("slow_demo()"), _unanswered("lam_solution")]
    [_, result] = scoring.score_cells(cells)
    assert (result.tag, result.verdict) == ("missing", Verdict.MISSING)
    assert result.message == (
        "lam_solution is not defined. Run the cell where you set it, and make sure it runs "
        "without an error. Note that the cell starting `slow_demo()` ran past the time limit "
        "and was stopped: whatever it should have defined is missing too.")


def test_a_test_cell_stopped_at_the_limit_says_the_code_is_too_slow() -> None:
    cell = _stopped('grade("find_lambda", find_lambda)')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "find_lambda",
                                 "points": 2}
    [result] = scoring.score_cells([cell])
    assert (result.score, result.tag, result.verdict) == (0.0, "cell_timeout", Verdict.TIMEOUT)
    assert result.message.startswith("Checking find_lambda ran past the time limit")


def test_without_a_stopped_cell_an_undefined_name_is_just_missing() -> None:
    [result] = scoring.score_cells([_unanswered("lam_solution")])
    assert (result.tag, result.verdict) == ("missing", Verdict.MISSING)
    assert result.message.startswith("lam_solution is not defined. Run the cell")


def _died(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``cell`` as CappedExecute leaves the cell in which the kernel died."""
    cell.outputs = [nbformat.v4.new_output(
        "error", ename=scoring.KERNEL_DIED_ENAME, evalue=scoring.KERNEL_DIED_TEXT, traceback=[])]
    return cell


def test_answers_before_a_kernel_death_count_and_those_after_say_where_it_died() -> None:
    """The kernel died in an answer cell: the answer captured before it keeps its points;
    the test cells after it (which did not run) are kernel_died, naming the cell."""
    empty = _cell("lam_solution", 0)
    empty.outputs = []
    results = scoring.score_cells([_cell("i_star", "d/2 - 1"),
                                   _died(nbformat.v4.new_code_cell("lam_solution = 1\nos._exit(1)")),
                                   empty])
    assert (results[0].score, results[0].tag) == (1.0, "ok")
    assert (results[2].score, results[2].tag, results[2].verdict) == (
        0.0, "kernel_died", Verdict.MISSING)
    assert results[2].message.startswith("Not graded: the notebook's kernel died in the cell "
                                         "starting `lam_solution = 1`")


def test_a_function_that_kills_the_kernel_when_checked_is_named() -> None:
    """The kernel died in a test cell, while the grader called the student's function."""
    [result] = scoring.score_cells([_died(_cell("apply_rope", 0))])
    assert (result.score, result.tag) == (0.0, "kernel_died")
    assert "died while checking apply_rope: your apply_rope crashed it" in result.message


def test_an_answer_cell_still_raising_not_implemented_is_not_answered() -> None:
    """The release's `raise NotImplementedError()` left in the answer cell: the feedback says
    the question is not answered yet, not to run a cell."""
    answer = nbformat.v4.new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()")
    answer.metadata["nbgrader"] = {"grade": False, "solution": True,
                                   "grade_id": "lam_solution_answer"}
    answer.outputs = [nbformat.v4.new_output(
        "error", ename="NotImplementedError", evalue="", traceback=[])]
    [_, result] = scoring.score_cells([answer, _unanswered("lam_solution")])
    assert (result.score, result.tag, result.verdict) == (0.0, "missing", Verdict.MISSING)
    assert result.message.startswith("Not answered yet: the cell for lam_solution still raises")
