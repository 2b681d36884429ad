"""Executed hidden-test cells built in a test, as nbgrader's autograde leaves them: the
grader scores their captured answers without running a kernel."""

from __future__ import annotations

import nbformat

from grader import payload as P
from grader import scoring
from grader.capture import capture_value
from grader.items import REGISTRY


def answer_cell(item_id: str, answer: object) -> nbformat.NotebookNode:
    """An executed hidden-test cell of ``item_id`` holding the capture of ``answer``."""
    return captured_cell(item_id, capture_value(answer))


def captured_cell(item_id: str, captured: object) -> nbformat.NotebookNode:
    """An executed hidden-test cell of ``item_id`` whose output is the capture ``captured``."""
    cell = nbformat.v4.new_code_cell(f'grade("{item_id}", ...)')
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": item_id,
                                 "points": REGISTRY[item_id].points}
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        P.MIME: {"item": item_id, "answer": P.to_json(captured)}})]
    return cell


def scores(answers: dict[str, object], **kw) -> dict[str, tuple[float, str]]:
    results = scoring.score_cells([answer_cell(k, v) for k, v in answers.items()], **kw)
    return {r.item: (r.score, r.tag) for r in results if r is not None}
