"""The hostile class's notebook builders (tests/hostile_cases.py): the model notebooks with the
reference slip, cells found by grade_id, forged hidden-test lines, and notebooks whose test
and locked cells were edited, restored or removed."""

from __future__ import annotations

import copy

import nbformat
from hostile_code import PLANTED_TIMING
from nbformat import NotebookNode

from grader.pipeline import COURSE
from grader.samples import LOOP_ROPE, with_slips

SOURCE = {a: COURSE / "source" / a / f"{a}.ipynb" for a in ("derive_lambda", "numeric_rope")}
WRONG = {
    "derive_lambda": {"lam_solution": "lam_solution = m / m_l"},
    "numeric_rope": {"ntk_scaled_base": "def ntk_scaled_base(base, m, m_l, d):\n"
                                        "    return base * m / m_l"},
}
"""The one wrong answer of each reference student (PI's factor m/m_l: tag pi_factor)."""

FORGED_LAM = "(m/m_l)**(d/(d-2))"
"""The right lambda, which the tampering students type into the hidden test cells."""


# ---------------------------------------------------------------------------------------
# notebook builders
# ---------------------------------------------------------------------------------------


def wrong(assignment: str, **extra: str) -> NotebookNode:
    """The model notebook with the reference slip; ``extra`` maps an answer name to code
    appended to the answer cell that defines it (the slip's own name included)."""
    slips = dict(WRONG[assignment])
    for name, code in extra.items():
        slips[name] = (slips[name] + "\n" if name in slips else "") + code.strip("\n")
    return with_slips(SOURCE[assignment], slips)


def index(nb: NotebookNode, grade_id: str) -> int:
    """Position of the cell with this nbgrader grade_id."""
    [i] = [i for i, c in enumerate(nb.cells)
           if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    return i


def cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    """The cell with this nbgrader grade_id."""
    return nb.cells[index(nb, grade_id)]


def forged(item: str, value: str) -> str:
    """A hidden-test line that hands the grader ``value`` instead of the student's answer."""
    return f'from grader.capture import grade; grade("{item}", {value})\n'


def _to_markdown(c: NotebookNode) -> None:
    c.cell_type = "markdown"
    c.pop("outputs", None)
    c.pop("execution_count", None)


def planted_timing() -> NotebookNode:
    """A Python-loop apply_rope whose speed cell carries a planted fast timing record."""
    nb = wrong("numeric_rope", apply_rope=LOOP_ROPE)
    cell(nb, "apply_rope_speed").metadata["rope_course"] = PLANTED_TIMING
    return nb


def cells_restored() -> NotebookNode:
    """Edits nbgrader undoes from the gradebook: test and locked cells' source, type, points,
    flags, a duplicated test cell, an answer cell turned to markdown."""
    nb = wrong("derive_lambda")
    lam = cell(nb, "lam_solution")
    lam.source = forged("lam_solution", FORGED_LAM)
    lam.metadata.nbgrader["locked"] = False
    _to_markdown(cell(nb, "theta_i"))
    cell(nb, "period_i").metadata.nbgrader["points"] = 100
    cell(nb, "setup").source += "\nimport builtins\nbuiltins.isinstance = lambda *a: True\n"
    _to_markdown(cell(nb, "lam_solution_answer"))
    base = cell(nb, "lam_4096_16384_d128")
    base.source = forged("lam_4096_16384_d128", "4.088994243")
    twin = copy.deepcopy(base)
    twin["id"] = "copied-test-cell"
    nb.cells.insert(index(nb, "lam_4096_16384_d128") + 1, twin)  # a copied test cell
    flipped = cell(nb, "lam_double")
    flipped.source = forged("lam_double", "2 ** (d / (d - 2))")
    flipped.metadata.nbgrader["solution"] = True
    ungraded = cell(nb, "new_base_10000")
    ungraded.source = forged("new_base_10000", "40889.94243")
    ungraded.metadata.nbgrader["grade"] = False
    return nb


def cells_removed() -> NotebookNode:
    """Changes nbgrader alone does not undo (RestoreTestCells does): a deleted test cell (with
    a forged look-alike), a renamed grade_id, nbgrader metadata removed, a test cell moved
    above its answer."""
    nb = wrong("derive_lambda")
    del nb.cells[index(nb, "lam_solution")]
    nb.cells.insert(index(nb, "lam_solution_answer") + 1,
                    nbformat.v4.new_code_cell(forged("lam_solution", FORGED_LAM)))
    renamed = cell(nb, "lam_double")
    renamed.metadata.nbgrader["grade_id"] = "lam_double_bonus"
    renamed.source = forged("lam_double", "2 ** (d / (d - 2))")
    stripped = cell(nb, "new_base_10000")
    del stripped.metadata["nbgrader"]
    stripped.source = forged("new_base_10000", "40889.94243")
    moved = nb.cells.pop(index(nb, "rel_error"))
    nb.cells.insert(index(nb, "rel_error_answer"), moved)
    return nb


def few_cells(*sources: str, kernelspec: str | None = None) -> NotebookNode:
    """A small notebook of code cells (no graded cell: every item scores 0)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernelspec or "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s.strip("\n")) for s in sources]
    return nb


AFTER = 'print("after the fault")'
