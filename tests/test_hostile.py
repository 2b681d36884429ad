"""The threat model: no hostile submission gains a point for a wrong answer.

Every hostile student below is the model notebook with the same one wrong answer as a
reference student (``ref_lam``: lam_solution = m/m_l; ``ref_ntk``: the NTK base scaled by
m/m_l) plus hostile code, graded in the same run (tests/hostile_cases.py).  Each test demands
that every item scores EXACTLY what the untampered wrong answer scores.
"""

from __future__ import annotations

import sqlite3
from ast import literal_eval
from pathlib import Path

import hostile_cases as H
import nbformat
import pytest
from nbgrader.api import Gradebook

from grader.items import NOTEBOOKS, items_for

pytestmark = pytest.mark.nbgrader

DL, NR = "derive_lambda", "numeric_rope"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> H.ClassRun:
    return H.graded_class(tmp_path_factory)


def scores(items: dict[str, tuple[float, str]]) -> dict[str, float]:
    return {item: score for item, (score, _tag) in items.items()}


def assert_same_scores(run: H.ClassRun, student: str, assignment: str) -> None:
    """Every item, and the total, exactly as the untampered wrong answer."""
    ref = H.REF[assignment]
    assert scores(run.items(student, assignment)) == scores(run.items(ref, assignment))
    assert run.total(student, assignment) == run.total(ref, assignment)


def test_reference_students_differ_from_the_model_by_their_one_slip(run) -> None:
    """Does each reference student lose exactly the points of its one wrong answer (and what
    follows from it), tagged as PI's factor, so there are points a cheat could try to win?"""
    lam = run.items("ref_lam", DL)
    assert len(lam) == len(items_for(DL))
    assert lam["lam_solution"] == (0.0, "pi_factor")
    lost = {item for item, (score, _) in lam.items() if score == 0}
    assert lost == {"lam_solution", "lam_4096_16384_d128", "new_base_10000",
                    "stretch_first_middle_last", "lam_double", "lam_double_values",
                    "rel_error", "rel_error_values", "colleague_claim", "dlam_dd"}
    # its relative errors (all 0) rest on lam = m/m_l, whose carry is refused (it removes
    # the work): the colleague's claim is not decided from them
    assert lam["colleague_claim"] == (0.0, "wrong_choice")
    assert run.total("ref_lam", DL) == 16  # of 28 automatic points (+2 graded by hand)
    ntk = run.items("ref_ntk", NR)
    assert ntk["ntk_scaled_base"] == (0.0, "pi_factor")
    assert all(score > 0 for item, (score, _) in ntk.items() if item != "ntk_scaled_base")
    assert run.total("ref_ntk", NR) == 22


def test_monkeypatched_sympy_numpy_and_builtins_gain_nothing(run) -> None:
    """While the hidden tests ran, sympy.simplify returned 0, Expr.__eq__ and np.allclose said
    True, builtins.isinstance said True and builtins.float returned the right lambda: is every
    item still scored exactly as the plain wrong answer, lam_solution judged on its content?"""
    seen = run.probe("monkeypatch")
    assert seen == {"libraries": "(True, True, True)", "builtins": "(True, 4.088994243)"}
    assert_same_scores(run, "monkeypatch", DL)
    items = run.items("monkeypatch", DL)
    assert items["lam_solution"] == (0.0, "pi_factor")  # the capture was made, and judged
    assert items["lam_4096_16384_d128"][0] == 0  # lying builtins broke the capture: nothing


def test_fake_grader_module_forging_captures_gains_nothing(run) -> None:
    """A fake grader.capture in sys.modules emitted, in lam_solution's test cell, the right
    lambda's srepr under other item ids, the student's own srepr with score/verdict fields,
    a printed "[ok] Correct." and a result of 3: is the item still 0 for its real content?"""
    assert_same_scores(run, "fake_grader", DL)
    assert run.items("fake_grader", DL)["lam_solution"] == (0.0, "pi_factor")
    nb = nbformat.read(run.autograded("fake_grader", DL), as_version=4)
    outputs = H.cell(nb, "lam_solution").outputs
    assert [o.output_type for o in outputs] == ["error"]  # nbgrader reads 0 points from it
    with Gradebook(f"sqlite:///{run.out / 'gradebook.db'}") as gb:
        grade = gb.find_grade("lam_solution", DL, DL, "fake_grader")
        assert (grade.auto_score, grade.max_score) == (0.0, 3.0)


def test_answer_objects_that_lie_gain_nothing(run) -> None:
    """Are a sympy subclass posing as sympy's own Mul, a float subclass and a list subclass
    (lying __eq__/__bool__/__float__/__hash__), and an ndarray subclass returned by a kernel
    function (lying __eq__/__array__) all judged by what they are, scoring exactly as the
    plain wrong answers?"""
    assert_same_scores(run, "liar_objects", DL)
    items = run.items("liar_objects", DL)
    assert items["lam_solution"] == (0.0, "pi_factor")  # only its srepr text crossed over
    assert items["lam_4096_16384_d128"] == (0.0, "wrong_type")
    assert items["stretch_first_middle_last"] == (0.0, "wrong_type")
    assert_same_scores(run, "numpy_liar", NR)  # np.allclose/isclose/array_equal said True
    assert run.items("numpy_liar", NR)["ntk_scaled_base"] == (0.0, "wrong_type")


def test_edited_test_and_locked_cells_are_restored(run) -> None:
    """With lam_solution's hidden test rewritten to grade the right lambda, test cells turned
    to markdown, re-pointed, re-flagged and copied, and the locked setup cell edited, is every
    cell restored from the gradebook and every item scored as if untouched?"""
    assert_same_scores(run, "cells_restored", DL)
    assert len(run.items("cells_restored", DL)) == len(items_for(DL))
    nb = nbformat.read(run.autograded("cells_restored", DL), as_version=4)
    lam = H.cell(nb, "lam_solution")
    assert 'grade("lam_solution", lam_solution)' in lam.source and H.FORGED_LAM not in lam.source
    assert H.cell(nb, "theta_i").cell_type == "code"
    assert H.cell(nb, "period_i").metadata.nbgrader["points"] == 1
    assert "builtins" not in H.cell(nb, "setup").source
    assert H.cell(nb, "lam_double").metadata.nbgrader["solution"] is False
    assert H.cell(nb, "new_base_10000").metadata.nbgrader["grade"] is True


def test_deleted_renamed_stripped_or_moved_test_cells_are_restored(run) -> None:
    """When a test cell is deleted (and a look-alike grades the right lambda), renamed to an
    unknown grade_id, stripped of its nbgrader metadata or moved above its answer, is each put
    back from the gradebook, in its source position, and every item scored as if untouched?"""
    assert_same_scores(run, "cells_removed", DL)
    assert len(run.items("cells_removed", DL)) == len(items_for(DL))
    graded = nbformat.read(run.autograded("cells_removed", DL), as_version=4)
    source = nbformat.read(H.SOURCE[DL], as_version=4)

    def order(nb):
        return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]

    assert order(graded) == order(source)
    for item in ("lam_solution", "lam_double", "new_base_10000", "rel_error"):
        assert f'grade("{item}", ' in H.cell(graded, item).source
    with Gradebook(f"sqlite:///{run.out / 'gradebook.db'}") as gb:
        for item in ("lam_solution", "lam_double", "new_base_10000", "rel_error"):
            got = gb.find_grade(item, DL, DL, "cells_removed").auto_score
            assert got == gb.find_grade(item, DL, DL, "ref_lam").auto_score


def test_kernel_cannot_write_outside_its_scratch_folder(run) -> None:
    """Do writes to OUT, the submissions, the project, /usr and the student environment fail
    in the kernel, do its writes to its working folder and /tmp stay in the sandbox, and does a
    symlink planted where nbgrader writes the graded notebook leave the host file intact?"""
    probe = run.probe("probe_escape")
    for name in ("write OUT", "write submissions", "write project", "write /usr",
                 "write kernel env"):
        assert probe[name][0] in {"FileNotFoundError", "PermissionError", "OSError"}, name
    assert not (run.out / "pwned.txt").exists() and not (run.subs / "pwned.txt").exists()
    assert not (H.ROOT / "pwned.txt").exists()
    assert probe["write cwd"][0] == probe["write /tmp"][0] == "ok"  # private to the kernel
    assert not Path(f"/tmp/pwned-{run.tag}.txt").exists()
    assert probe["plant symlink"][0] == "ok"
    assert run.canary.read_text() == run.canary_text
    kept = run.autograded("probe_escape", DL)
    assert sorted(p.name for p in kept.parent.iterdir()) == [kept.name]
    assert not kept.is_symlink() and nbformat.read(kept, as_version=4).cells


def test_kernel_processes_and_network_are_confined(run) -> None:
    """Can the kernel spawn processes only inside the sandbox (ls / sees no project, no grader
    process, no host PIDs), not reach the internet nor a port open on the host, and does it
    run unprivileged in the sandbox even when its notebook names another kernel?"""
    probe = run.probe("probe_escape")
    assert probe["ls /"][0] == "ok" and "home" not in probe["ls /"][1]
    assert set(literal_eval(probe["ls project"][1])) <= {".", "..", H.kernel_env_top()}
    assert probe["grader pid visible"] == ["ok", "False"]
    assert len(literal_eval(probe["pids"][1])) <= 4  # the sandbox's own few
    assert probe["internet"][0] in {"OSError", "TimeoutError", "ConnectionRefusedError"}
    assert probe["host port"][0] in {"ConnectionRefusedError", "OSError", "TimeoutError"}
    assert 0 not in literal_eval(probe["uid"][1])


def test_gradebook_stays_intact_with_every_student(run) -> None:
    """After the whole hostile class, does OUT/gradebook.db pass SQLite's integrity check and
    hold every student and submission with the totals of grades.csv?"""
    with sqlite3.connect(run.out / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = [r for r in run.rows("grades.csv") if r["assignment"] in NOTEBOOKS]
    with Gradebook(f"sqlite:///{run.out / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} == {r["student_id"] for r in rows}
        for r in rows:
            sub = gb.find_submission(r["assignment"], r["student_id"])
            assert sub.score == pytest.approx(float(r["score"]))


@pytest.mark.parametrize(("student", "tag"), [("speed_forgery", "wrong_values"),
                                             ("box_forgery", "wrong_values"),
                                             ("planted_timing", "far_too_slow")])
def test_forged_speed_measurement_gains_nothing(run, student: str, tag: str) -> None:
    """Does a Python-loop apply_rope get no speed points when the student breaks the hand-over
    to the timing box, stops the kernel's clocks, fakes the timed calls and posts a fast
    timing; hands the box a fast wrong function that patches the box's checksum; or plants a
    timing in the metadata?"""
    assert run.items(student, NR)["apply_rope_speed"] == (0.0, tag)
