"""Faults: every student still gets a grade and a clear reason, the batch goes on, nothing is
lost.

Loops, crashes, memory and fork bombs, floods of output and broken files are students of the
shared hostile class (tests/hostile_cases.py).  A second class of sixty submissions (mostly
broken files, which fail in an instant) is graded with two workers, with one, and once more
killed with SIGKILL part-way and resumed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import hostile_cases as H
import pytest
from nbformat import NotebookNode
from nbgrader.api import Gradebook

from grader import runner
from grader.items import NOTEBOOKS, items_for
from grader.preprocessors import CappedExecute, LimitOutputSize
from grader.submissions import discover

DL, NR = "derive_lambda", "numeric_rope"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> H.ClassRun:
    return H.graded_class(tmp_path_factory)


def _report(run_out: Path) -> str:
    return (run_out / "report.md").read_text(encoding="utf-8")


def _errors(outputs: list[list[dict]]) -> list[str]:
    return [o["ename"] for outs in outputs for o in outs if o["output_type"] == "error"]


def _texts(outputs: list[list[dict]]) -> list[str]:
    return ["".join(o.get("text", "") for o in outs) for outs in outputs]


# --- loops --------------------------------------------------------------------------------


@pytest.mark.nbgrader
def test_infinite_loop_is_interrupted_and_later_cells_run(run) -> None:
    """Is an endless loop in one answer cell interrupted at the per-cell limit (through the
    sandboxed kernel's message-mode interrupt), and does every later cell still run, so every
    item scores exactly as without the loop, with the stopped cell named in the report?"""
    assert run.items("infinite_loop", NR) == run.items("ref_ntk", NR)
    assert _errors(run.outputs("infinite_loop", NR))[:2] == ["KeyboardInterrupt",
                                                             "CellTimeoutError"]
    assert ("| infinite_loop | numeric_rope | cell_timeout: the cell starting `def "
            "rope_frequencies(") in _report(run.out)


@pytest.mark.nbgrader
def test_loop_that_ignores_interrupts_fails_only_its_notebook(run) -> None:
    """Does a loop that ignores SIGINT (so the kernel never comes back) cost that student the
    notebook, with a reason naming the time limit, while the batch goes on?"""
    items = run.items("stubborn_loop", DL)
    assert len(items) == len(items_for(DL))
    assert set(items.values()) == {(0.0, "cell_timeout")}
    assert (f"| stubborn_loop | derive_lambda | cell_timeout | a cell was still running "
            f"{H.TIMEOUT} s after it started and ignored the interrupt") in _report(run.out)


# --- crashes and resource bombs -----------------------------------------------------------


@pytest.mark.nbgrader
@pytest.mark.parametrize("student", ["crash_exit", "crash_segfault", "crash_sigkill"])
def test_kernel_crash_gives_zero_with_a_clear_reason(run, student: str) -> None:
    """When the kernel dies (os._exit, a segfault, SIGKILL to itself) before any answer, does
    the student get zero on every item with the reason kernel_died, in items.csv, the
    report's notes and the feedback, which names the cell?"""
    items = run.items(student, DL)
    assert len(items) == len(items_for(DL))
    assert set(items.values()) == {(0.0, "kernel_died")}
    assert run.total(student, DL) == 0
    assert (f"| {student} | derive_lambda | kernel_died: the notebook's kernel died while it "
            "ran; the answers of the cells before that were graded") in _report(run.out)
    page = run.out / "feedback" / student / DL / f"{DL}.html"
    text = page.read_text(encoding="utf-8")
    assert "kernel died in the cell starting `import" in text


@pytest.mark.nbgrader
def test_answers_before_a_kernel_crash_are_graded(run) -> None:
    """os._exit at the end of the wavelengths cell: every answer before it scores as the
    reference student's does; wavelengths and every later item get 0, kernel_died."""
    nb = H.wrong(NR)
    died = H.index(nb, "wavelengths_answer")
    items, ref = run.items("crash_midway", NR), run.items("ref_ntk", NR)
    before = {i for i in ref if H.index(nb, i) < died}
    assert before and {i: items[i] for i in before} == {i: ref[i] for i in before}
    assert {items[i] for i in ref if i not in before} == {(0.0, "kernel_died")}


@pytest.mark.nbgrader
def test_a_kernel_that_breaks_its_own_messaging_gets_a_clear_reason(run) -> None:
    """A notebook that replaces the kernel's message signing: nbclient refuses the kernel's
    next message (Invalid Signature).  Is that zero on every item with the reason
    kernel_messaging, which says what such a notebook did, rather than a bare exception?"""
    student = "forged_signature"
    assert set(run.items(student, DL).values()) == {(0.0, "kernel_messaging")}
    assert (f"| {student} | derive_lambda | kernel_messaging | the notebook's kernel sent a "
            "message whose signature did not check out") in _report(run.out)


@pytest.mark.nbgrader
def test_memory_bomb_fails_inside_its_own_kernel(run) -> None:
    """Do a 100 GB bytearray, a 6 GiB one and a list grown 100 MiB at a time all raise
    MemoryError inside the kernel (its 4 GiB address-space cap), does filling the kernel's
    RAM-backed /tmp stop at its 256 MiB size, and does the next cell run?"""
    probe = run.probe("memory_bomb")
    for attempt in ("bytearray(10**11)", "bytearray(6 GiB)", "growing list"):
        assert probe[attempt][0] == "MemoryError", attempt
    assert probe["chunks"] < 41  # below 4 GiB, far below the 6 GiB the loop would allow
    assert probe["fill /tmp"][0] == "OSError" and "No space left" in probe["fill /tmp"][1]
    assert probe["/tmp bytes"] <= 256 << 20  # the private /tmp (RAM) is capped too
    assert _texts(run.outputs("memory_bomb"))[-1] == "after the fault\n"


@pytest.mark.nbgrader
def test_fork_bomb_is_stopped_by_the_process_cap(run) -> None:
    """Do 2000 forks from a student kernel stop at the sandbox's per-kernel process cap
    (256, threads included), leaving the kernel alive to run the next cell?"""
    probe = run.probe("fork_bomb")
    assert probe["forked"] + probe["refused"] == 2000
    assert probe["forked"] < 256 and probe["refused"] > 1744
    assert _texts(run.outputs("fork_bomb"))[-1] == "after the fault\n"


@pytest.mark.nbgrader
def test_huge_output_is_capped_and_feedback_stays_small(run) -> None:
    """Are a ten-million-character line, 10^5 printed lines and 30 MB of output capped in the
    graded notebook, and do the notebook and the feedback page stay under 2 MB?"""
    texts = _texts(run.outputs("huge_output"))
    assert len(texts[0]) < 201_000 and texts[0].endswith("output truncated: too large to keep ...\n")
    assert texts[1].count("\n") <= 200 and "Output truncated" in texts[1]
    assert len(texts[2]) < 201_000
    assert texts[3] == "after the fault\n"
    assert run.autograded("huge_output", DL).stat().st_size < 2_000_000
    page = run.out / "feedback" / "huge_output" / DL / f"{DL}.html"
    assert page.stat().st_size < 2_000_000


def _grade_cell(outputs: list[dict], grade: bool) -> NotebookNode:
    meta = {"nbgrader": {"grade": grade, "grade_id": "x", "points": 1, "solution": False,
                         "locked": True, "schema_version": 3}}
    return NotebookNode(cell_type="code", source="", metadata=meta,
                        outputs=[NotebookNode(o) for o in outputs], execution_count=1)


def test_output_caps_never_touch_grade_cells() -> None:
    """Does the character cap shorten an ordinary cell's output but leave a grade cell's
    outputs whole (nbgrader gives full marks to a grade cell without outputs)?"""
    big = {"output_type": "stream", "name": "stdout", "text": "x" * 10_000}
    verdict = {"output_type": "error", "ename": "WrongAnswer", "evalue": "y" * 10_000,
               "traceback": []}
    cap = LimitOutputSize(max_chars=1000, max_notebook_chars=1500)
    nb = NotebookNode(cells=[_grade_cell([big], False), _grade_cell([verdict], True),
                             _grade_cell([big], False)], metadata={}, nbformat=4,
                      nbformat_minor=5)
    nb, _ = cap.preprocess(nb, {})
    plain, graded, late = (c.outputs for c in nb.cells)
    assert len(plain[0].text) <= 1000 and "truncated" in plain[-1].text
    assert graded == [NotebookNode(verdict)]
    assert sum(len(o.text) for o in late) < 600  # only what the notebook budget had left


def test_output_is_capped_while_the_cell_runs() -> None:
    """Does the executor stop recording a cell's output past its budget, so a kernel that
    prints without end cannot fill the grader's memory?"""
    ex = CappedExecute(max_cell_chars=1000)
    ex.reset_execution_trackers()
    ex._chars, ex.clear_before_next_output = {}, False

    def stream(text: str) -> dict:
        return {"msg_type": "stream", "header": {"msg_type": "stream"},
                "parent_header": {"msg_id": "m"}, "content": {"name": "stdout", "text": text}}

    outs: list = []
    for _ in range(500):
        ex.output(outs, stream("y" * 300), None, 0)
    assert sum(len(json.dumps(o)) for o in outs) < 1300
    assert "output stopped" in outs[-1].text
    other: list = []
    ex.output(other, stream("z"), None, 1)  # the next cell has its own budget
    assert other[0].text == "z"


def test_failed_autograde_names_the_exception() -> None:
    """Is the reason for a failed notebook the exception raised, not nbgrader's closing line?"""
    log = ("[ERROR] Kernel died\nTraceback (most recent call last):\n"
           "    RuntimeError: Inconsistent checksums for cell lam_solution\n"
           "[ERROR] There was an error processing assignment\n"
           "nbgrader.converters.base.NbGraderException: Please see the the above traceback\n")
    assert runner._last_error(log) == "RuntimeError: Inconsistent checksums for cell lam_solution"


# --- broken files ---------------------------------------------------------------------------


@pytest.mark.nbgrader
def test_each_broken_file_gets_its_named_reason_and_zero(run) -> None:
    """Does every kind of broken file (invalid JSON, nbformat 3, empty, not a notebook, two
    notebooks of the wrong name, no notebook, the other assignment's notebook, not UTF-8, an
    unknown assignment folder, an unusable student id) get its own reason in items.csv and
    report.md and zero points, without stopping the batch?"""
    report = _report(run.out)
    for (student, assignment), reason in run.problems.items():
        assert f"| {student} | {assignment} | {reason} |" in report, student
        assert run.total(student, assignment) == 0
        items = run.items(student, assignment)
        if assignment in NOTEBOOKS:
            assert len(items) == len(items_for(assignment))
            assert set(items.values()) == {(0.0, reason)}, student
        else:  # not an assignment of the course: no items to put a reason on
            assert items == {}


@pytest.mark.nbgrader
def test_wrong_name_and_extra_files_are_graded_with_notes(run) -> None:
    """Is a single notebook under the wrong name graded anyway, its extra files ignored, and
    both noted for the instructor?"""
    report = _report(run.out)
    assert ("| wrong_name | derive_lambda | wrong_notebook_name: graded Untitled.ipynb as "
            "derive_lambda.ipynb |") in report
    assert "| wrong_name | derive_lambda | extra_files: ignored scratch.py |" in report
    assert _texts(run.outputs("wrong_name")) == ["hello\n"]


@pytest.mark.nbgrader
def test_every_submission_of_the_hostile_class_is_accounted_for(run) -> None:
    """Does grades.csv hold exactly one row per submission found, however it failed, and did
    no kernel or launcher outlive the run?"""
    found = {(s.student, s.assignment) for s in discover(run.subs)}
    rows = [(r["student_id"], r["assignment"]) for r in run.rows("grades.csv")]
    assert len(rows) == len(set(rows)) and set(rows) == found
    assert H.kernels_of(run.out) == []


# --- nothing lost: 60 submissions, in parallel, serially, and killed part-way -----------------


@dataclass(frozen=True)
class Load:
    subs: Path
    parallel: Path
    serial: Path
    digest: dict[str, str]


@pytest.fixture(scope="module")
def load(run, tmp_path_factory: pytest.TempPathFactory) -> Load:
    root = tmp_path_factory.mktemp("load")
    subs = root / "submitted"
    H.write_load_class(subs)
    digest = H.tree_digest(subs)
    parallel, serial = root / "parallel", root / "serial"
    for out, workers in ((parallel, 2), (serial, 1)):
        H.seed(out, run.out)  # skip generate_assignment: the template course is the same
        assert H.grade(subs, out, workers=workers) == 0
    return Load(subs, parallel, serial, digest)


@pytest.mark.nbgrader
def test_sixty_submissions_are_all_accounted_for(load) -> None:
    """With 60 submissions (good, wrong, hostile, crashing, broken) and two workers, does
    grades.csv hold exactly one row per (student, assignment) found, with the expected scores?"""
    found = {(s.student, s.assignment) for s in discover(load.subs)}
    assert len(found) == 60
    rows = H.read_csv(load.parallel / "grades.csv")
    assert sorted((r["student_id"], r["assignment"]) for r in rows) == sorted(found)
    score = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    assert score[("a_good", NR)] == 24 and score[("m_bad", NR)] == 22
    items = H.read_csv(load.parallel / "items.csv")
    assert {r["tag"] for r in items if r["student_id"] == "z_crash"} == {"kernel_died"}
    with Gradebook(f"sqlite:///{load.parallel / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} == {s for s, a in found if a in NOTEBOOKS}


@pytest.mark.nbgrader
def test_parallel_grades_match_a_serial_run(load) -> None:
    """Are grades.csv and items.csv with --workers 2 identical to those with --workers 1?"""
    for name in ("grades.csv", "items.csv"):
        assert (load.parallel / name).read_text() == (load.serial / name).read_text(), name


@pytest.mark.nbgrader
def test_hostile_kernel_in_the_load_was_confined(load) -> None:
    """Did the hostile kernel among the sixty fail to read the answer key and to write into
    the submissions?"""
    probe = H.probe(load.parallel / ".work" / "autograded" / "z_hostile" / DL / f"{DL}.ipynb")
    assert probe["key"][0] == "FileNotFoundError" and probe["write"][0] == "FileNotFoundError"


@dataclass(frozen=True)
class Killed:
    out: Path
    journalled: dict[str, bytes]
    survivors: list[int]
    resumed_log: str


def _wait_gone(out: Path, seconds: float = 20) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := H.kernels_of(out)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:  # ours: started by the run we killed; never leave them behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


@pytest.fixture(scope="module")
def killed(run, load, tmp_path_factory: pytest.TempPathFactory) -> Killed:
    out = tmp_path_factory.mktemp("killed") / "out"
    H.seed(out, run.out)
    script = Path(sys.executable).parent / "rope-course"
    proc = subprocess.Popen(
        [str(script), "grade", str(load.subs), "--out", str(out), "--workers", "2",
         "--timeout", str(H.TIMEOUT)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / ".work" / "journal"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.is_dir() and len(list(journal.glob("*.json"))) >= 3:
                break
            time.sleep(0.05)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    survivors = _wait_gone(out)
    journalled = {p.name: p.read_bytes() for p in journal.glob("*.json")}
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert H.grade(load.subs, out) == 0
    return Killed(out, journalled, survivors, err.getvalue())


@pytest.mark.nbgrader
def test_sigkill_part_way_then_rerun_resumes(killed, load) -> None:
    """After SIGKILL to the whole process group of `rope-course grade --workers 2` part-way,
    did its kernels die with it, and does the same command resume, keeping every journalled
    result as it was and grading each remaining student once?"""
    assert killed.survivors == []
    assert 0 < len(killed.journalled) < 60, "the kill should land part-way"
    assert f"resumed: {len(killed.journalled)} submission(s)" in killed.resumed_log
    journal = killed.out / ".work" / "journal"
    after = {p.name: p.read_bytes() for p in journal.glob("*.json")}
    assert len(after) == 60 and not list(journal.glob("*.tmp"))
    assert {name: after[name] for name in killed.journalled} == killed.journalled


@pytest.mark.nbgrader
def test_killed_and_resumed_run_matches_an_uninterrupted_one(killed, load) -> None:
    """Are grades.csv and items.csv of the killed-and-resumed run identical to those of an
    uninterrupted run, the gradebook sound, and the submissions byte-for-byte unchanged?"""
    for name in ("grades.csv", "items.csv"):
        assert (killed.out / name).read_text() == (load.parallel / name).read_text(), name
    with sqlite3.connect(killed.out / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        subs = db.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]
    real = [r for r in H.read_csv(killed.out / "grades.csv") if r["assignment"] in NOTEBOOKS]
    assert subs == len(real)
    assert H.tree_digest(load.subs) == load.digest
