"""What a rerun may reuse, and inputs an instructor can get wrong: the journal's fingerprint,
a bad ``--db``, student ids that are markup or paths, and Ctrl-C in a grading process."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from grader import feedback, report, runner, workers
from grader.classgrade import check_db
from grader.results import ItemResult, SubmissionResult, Verdict
from grader.submissions import Submission


def _result(student: str = "gus", score: float = 1.0, problem: str = "") -> SubmissionResult:
    item = ItemResult("theta_i", score, 1.0, Verdict.CORRECT if score else Verdict.INCORRECT,
                      "ok" if score else "wrong_expression", "msg")
    return SubmissionResult(student, "derive_lambda", (item,), (), problem)


def test_a_journalled_result_is_reused_only_for_the_same_file_and_settings(
        tmp_path: Path) -> None:
    """Is a journal entry reused for the same bytes and settings, and ignored (so the job is
    graded again) after a resubmission, a changed sandbox or time limit, or damage?"""
    ws = runner.Workspace(tmp_path / ".work")
    ws.journal.mkdir(parents=True)
    nb = tmp_path / "derive_lambda.ipynb"
    nb.write_text('{"cells": []}')
    sub = Submission("gus", "derive_lambda", nb)
    settings = "sandboxed=True timeout=60 course=abc"
    runner.save(ws, sub, _result(), settings)
    assert runner.load(ws, sub, settings) == _result()
    assert runner.load(ws, sub, "sandboxed=False timeout=60 course=abc") is None
    assert runner.load(ws, sub, "sandboxed=True timeout=30 course=abc") is None
    assert runner.load(ws, sub, "sandboxed=True timeout=60 course=new") is None
    nb.write_text('{"cells": [1]}')  # resubmitted
    assert runner.load(ws, sub, settings) is None
    runner.journal_path(ws, sub).write_text("[1, 2")  # damaged
    assert runner.load(ws, sub, settings) is None


def test_report_html_keeps_student_markup_as_text(tmp_path: Path) -> None:
    """Does an id or file name that is HTML reach report.html escaped, never as markup?"""
    evil = "<img src=x onerror=alert(1)>"
    report.write(tmp_path, [_result(evil, 0.0, "bad_student_id"), _result()])
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=\"data:image/png;base64," in html  # the plot is still embedded


def test_feedback_never_lands_outside_its_folder(tmp_path: Path) -> None:
    """Is a student id that climbs out of OUT/feedback refused?"""
    with pytest.raises(ValueError, match="outside"):
        feedback.page_path(tmp_path, _result(".."))
    assert feedback.page_path(tmp_path, _result("gus")).is_relative_to(tmp_path / "feedback")


@pytest.mark.parametrize(("url", "message"), [
    ("gradebook.db", "not a usable SQLAlchemy URL"),
    ("bogus://x", "not a usable SQLAlchemy URL"),
    ("sqlite:////no/such/folder/g.db", "the folder /no/such/folder does not exist"),
    ("postgresql://nobody@127.0.0.1:9/course", "--db: cannot connect to"),
])
def test_a_bad_db_is_one_line_naming_the_option(url: str, message: str) -> None:
    """Is a plain path, an unknown driver, a missing folder or an unreachable server
    reported in one line that names --db, before any grading?"""
    with pytest.raises(ValueError, match="--db") as err:
        check_db(url)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_good_sqlite_db_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An absolute SQLite URL is kept; a relative one is made absolute from the current folder
    (the jobs run elsewhere); an in-memory database is refused (nothing would be kept)."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert check_db(url) == url
    monkeypatch.chdir(tmp_path)
    assert check_db("sqlite:///gb.db?timeout=30") == f"sqlite:///{tmp_path}/gb.db?timeout=30"
    with pytest.raises(ValueError, match="--db 'sqlite://': the class gradebook must be a file"):
        check_db("sqlite://")


def _interrupted(_job: object) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_in_a_grading_process_reports_nothing_and_prints_nothing(capfd) -> None:
    """Does a job process hit by Ctrl-C end quietly (no traceback, no message on the pipe),
    so that the parent reports the interruption once and the job is resumed later?"""
    recv, send = mp.Pipe(duplex=False)
    workers._entry(send, _interrupted, None)
    assert not recv.poll(0.1) or _eof(recv)
    recv.close()
    send2_recv, send2 = mp.Pipe(duplex=False)
    send2_recv.close()  # the parent is gone
    workers._entry(send2, lambda job: job, 1)  # must not raise BrokenPipeError
    assert capfd.readouterr().err == ""


def _eof(conn) -> bool:
    try:
        conn.recv()
    except EOFError:
        return True
    return False


def test_report_sections_cover_the_course_and_leave_ungradable_files_out(
        tmp_path: Path) -> None:
    """Are stray folders and broken files listed once at the end, without a section of their
    own or zeros in the statistics; is the student count right; and does grades.csv show the
    points left to grade by hand?"""
    from grader.results import GradeRecord

    graded = SubmissionResult("gus", "derive_lambda", _result().items,
                              (GradeRecord("theta_i", 1.0, 1.0, False),
                               GradeRecord("colleague_explanation", 0.0, 2.0, True)))
    broken = _result("gus", 0.0, "invalid_json")
    broken = SubmissionResult("ida", "derive_lambda", broken.items, (), "invalid_json")
    stray = SubmissionResult("gus", "notes.txt", (), (), "unknown_assignment")
    md = report.markdown([graded, broken, stray])
    assert "2 students, 3 submissions, 2 could not be graded" in md
    assert "## derive_lambda: mean 1.0 / 3 (1 graded submission)" in md
    assert "## notes.txt" not in md and "## ?" not in md
    assert "| ida | derive_lambda | invalid_json |" in md
    report.write_csvs(tmp_path, [graded])
    assert (tmp_path / "grades.csv").read_text().splitlines() == [
        "student_id,assignment,score,max_score,manual_points", "gus,derive_lambda,1,3,2"]


def test_report_of_a_class_with_nothing_graded(tmp_path: Path) -> None:
    """Does a class of only broken files still get report.md, report.html and a plot?"""
    md = report.write(tmp_path, [SubmissionResult("ida", "derive_lambda", (), (),
                                                  "invalid_json")])
    assert "## derive_lambda: no gradable submission" in md
    assert (tmp_path / "scores.png").read_bytes().startswith(b"\x89PNG")
