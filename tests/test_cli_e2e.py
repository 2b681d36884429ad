"""End to end through the CLI and the real nbgrader pipeline: release -> grade -> outputs.

One demo run (sample class, two workers) is shared by the tests of this module; a second,
serial run over part of the same submissions checks that parallelism changes nothing.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader import cli
from grader.items import items_for
from solutions import derivation as D

pytestmark = pytest.mark.nbgrader

EXPECTED_TAGS = {  # (student, item) -> tag of the deliberate slip (see grader/samples.py)
    ("cy_pi_factor", "lam_solution"): "pi_factor",
    ("cy_pi_factor", "ntk_scaled_base"): "pi_factor",
    ("dee_inverted_and_sign", "lam_solution"): "inverted_exponent",
    ("dee_inverted_and_sign", "apply_rope"): "sin_sign",
    ("eve_highest_freq_and_layout", "i_star"): "highest_frequency_pair",
    ("eve_highest_freq_and_layout", "apply_rope"): "other_layout",
    ("fay_one_based", "theta_i"): "one_based_index",
    ("fay_one_based", "rope_frequencies"): "one_based_index",
    ("gus_slow_loop", "rel_error"): "ratio_not_error",
    ("gus_slow_loop", "apply_rope_speed"): "far_too_slow",
    ("hal_pi_inverted", "pi_stretch"): "pi_inverted",
    ("hal_pi_inverted", "position_interpolation"): "pi_inverted",
}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli.main(["demo", "--out", str(out), "--workers", "2"])
    assert code == 0
    return out, buf.getvalue()


def test_demo_prints_the_class_report(demo) -> None:
    """Does `rope-course demo` print the class report with its sections?"""
    _out, stdout = demo
    for heading in ("# Class report", "## derive_lambda", "## numeric_rope",
                    "## Most common misconceptions", "## Submissions that could not be graded"):
        assert heading in stdout
    assert "ivy_broken_file" in stdout and "invalid_json" in stdout


def test_model_answer_gets_every_point_and_untouched_release_none(demo) -> None:
    """Does the model answer score full marks on every item, and the release zero?"""
    out, _ = demo
    items = _rows(out / "items.csv")
    ada = [r for r in items if r["student_id"] == "ada_model"]
    ben = [r for r in items if r["student_id"] == "ben_untouched"]
    n_items = len(items_for("derive_lambda")) + len(items_for("numeric_rope"))
    assert len(ada) == len(ben) == n_items
    assert all(r["score"] == r["max_score"] and r["tag"] == "ok" for r in ada)
    # unanswered: names never defined (missing), or functions that still raise (exception)
    assert all(r["score"] == "0" and r["tag"] in {"missing", "exception"} for r in ben)
    grades = {(r["student_id"], r["assignment"]): r for r in _rows(out / "grades.csv")}
    assert grades[("ada_model", "derive_lambda")]["score"] == "28"  # + 2 manual points
    assert grades[("ada_model", "derive_lambda")]["max_score"] == "30"
    assert grades[("ada_model", "numeric_rope")]["score"] == "24"


def test_each_slip_is_tagged(demo) -> None:
    """Does every deliberate slip get exactly its misconception tag and zero on that item (half
    for a closed-form find_lambda: right values, not found from wavelengths)?"""
    out, _ = demo
    got = {(r["student_id"], r["item"]): (r["tag"], r["score"]) for r in _rows(out / "items.csv")}
    for key, tag in EXPECTED_TAGS.items():
        assert got[key] == (tag, "0"), key
    assert got[("cy_pi_factor", "find_lambda")] == ("not_from_wavelengths", "1")


def test_broken_file_is_reported_not_fatal(demo) -> None:
    """Is an invalid-JSON submission listed with its reason, all its items at zero?"""
    out, _ = demo
    rows = [r for r in _rows(out / "items.csv") if r["student_id"] == "ivy_broken_file"]
    assert rows and all(r["tag"] == "invalid_json" and r["score"] == "0" for r in rows)
    assert "invalid_json" in (out / "report.md").read_text()


def test_gradebook_matches_grades_csv(demo) -> None:
    """Does the nbgrader gradebook hold exactly the totals written to grades.csv?"""
    out, _ = demo
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        for row in _rows(out / "grades.csv"):
            sub = gb.find_submission(row["assignment"], row["student_id"])
            assert float(row["score"]) == pytest.approx(sub.score)
            assert float(row["max_score"]) == pytest.approx(sub.max_score)
        assert len(gb.students) == len({r["student_id"] for r in _rows(out / "grades.csv")})


def _hidden_lines() -> set[str]:
    lines = set()
    for nb_path in Path(cli.__file__).parent.parent.glob("course/source/*/*.ipynb"):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            block = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                               cell.source, re.S)
            lines |= {ln.strip() for b in block for ln in b.splitlines() if ln.strip()}
    return lines


def _rubric_lines() -> set[str]:
    lines = set()
    for nb_path in Path(cli.__file__).parent.parent.glob("course/source/*/*.ipynb"):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            block = re.findall(r"=== BEGIN MARK SCHEME ===(.*?)=== END MARK SCHEME ===",
                               cell.source, re.S)
            lines |= {ln.strip() for b in block for ln in b.splitlines() if len(ln.strip()) > 20}
    return lines


def test_feedback_leaks_nothing(demo) -> None:
    """Is no hidden-test line, rubric line, capture plumbing or answer-key expression in any
    feedback page?"""
    out, _ = demo
    hidden = _hidden_lines() | _rubric_lines()
    assert hidden, "the source notebooks should have hidden tests"
    pages = list((out / "feedback").rglob("*.html"))
    assert len(pages) == len(_rows(out / "grades.csv"))
    key = [str(D.LAM), str(D.MATCHING_EQUATION), "4.0889", "40889", "2.0221"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for line in hidden:
            assert line not in html, (page, line)
        assert "vnd.rope-course.capture" not in html and "solutions." not in html
        if "ben_untouched" in str(page):  # an untouched release shows no answers of its own
            for expr in key:
                assert expr not in html, (page, expr)


def test_rerun_resumes_without_regrading(demo, capsys) -> None:
    """Does running grade again on a finished OUT resume, regrade nobody, keep the results?"""
    out, _ = demo
    before = (out / "items.csv").read_text()
    submitted = out.parent / "again"
    from grader.samples import write_samples

    write_samples(submitted)
    assert cli.main(["grade", str(submitted), "--out", str(out), "--workers", "2"]) == 0
    assert "resumed: 17 submission(s)" in capsys.readouterr().err
    assert (out / "items.csv").read_text() == before


def test_one_worker_gives_identical_results(demo, tmp_path: Path, monkeypatch) -> None:
    """Are the grades with --workers 1, and SUBMISSIONS and OUT given as relative paths,
    identical to those with --workers 2?"""
    out2, _ = demo
    from grader.samples import write_samples

    full = write_samples(tmp_path / "all")
    subset = tmp_path / "subset"
    for student in ("ada_model", "cy_pi_factor", "ivy_broken_file"):
        shutil.copytree(full / student, subset / student)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["grade", "subset", "--out", "out1", "--workers", "1"]) == 0
    one = _rows(tmp_path / "out1" / "items.csv")
    two = [r for r in _rows(out2 / "items.csv") if r["student_id"] in {r["student_id"] for r in one}]
    assert one == two


def test_bad_arguments_name_the_problem(tmp_path: Path, capsys) -> None:
    """Do a missing folder and an OUT inside SUBMISSIONS give clear errors, exit status 2?"""
    assert cli.main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "subs").mkdir()
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "subs" / "o")]) == 2
    assert "must not be inside SUBMISSIONS" in capsys.readouterr().err
