"""Finding submissions in every layout, and naming what is wrong with a broken file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.submissions import SubmissionsError, discover, unpack


def _nb(grade_id: str = "lam_solution") -> str:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True,
                                 "points": 1, "schema_version": 3, "solution": False,
                                 "task": False}
    nb.cells.append(cell)
    return nbformat.writes(nb)


def _put(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


@pytest.mark.parametrize(("content", "problem"), [
    ("", "empty_file"),
    ("{\"cells\": [", "invalid_json"),
    (b"\xff\xfe{}", "not_utf8"),
    ("[1, 2, 3]", "not_a_notebook"),
    ('{"nbformat": 3, "cells": [], "metadata": {}}', "wrong_nbformat"),
    (_nb("rope_frequencies"), "wrong_assignment"),
    (_nb(), ""),
])
def test_broken_files_get_a_named_reason(tmp_path: Path, content, problem: str) -> None:
    """Is each kind of broken file reported with its own stable reason tag?"""
    _put(tmp_path, "alice/derive_lambda/derive_lambda.ipynb", content)
    [sub] = discover(tmp_path)
    assert (sub.student, sub.assignment, sub.problem) == ("alice", "derive_lambda", problem)


def test_missing_notebook_and_unknown_assignment(tmp_path: Path) -> None:
    """Are an empty assignment folder and a folder for no known assignment both reported?"""
    (tmp_path / "bob" / "derive_lambda").mkdir(parents=True)
    (tmp_path / "bob" / "homework9").mkdir(parents=True)
    subs = {s.assignment: s.problem for s in discover(tmp_path)}
    assert subs == {"derive_lambda": "missing_notebook", "homework9": "unknown_assignment"}


def test_wrong_name_is_graded_with_a_note(tmp_path: Path) -> None:
    """Is a single notebook under the wrong name graded, with a note and the extra files?"""
    _put(tmp_path, "cy/derive_lambda/Untitled.ipynb", _nb())
    [sub] = discover(tmp_path)
    assert sub.problem == "" and sub.path.name == "Untitled.ipynb"
    assert any(n.startswith("wrong_notebook_name") for n in sub.notes)


def test_extra_files_are_noted(tmp_path: Path) -> None:
    """Are extra files next to the notebook ignored and noted?"""
    _put(tmp_path, "dee/derive_lambda/derive_lambda.ipynb", _nb())
    _put(tmp_path, "dee/derive_lambda/scratch.py", "print(1)")
    [sub] = discover(tmp_path)
    assert sub.problem == "" and sub.notes == ("extra_files: ignored scratch.py",)


def test_flat_lms_folder(tmp_path: Path) -> None:
    """Is a flat <student>_<notebook>.ipynb folder (zip_collect style) understood?"""
    _put(tmp_path, "eve_derive_lambda.ipynb", _nb())
    _put(tmp_path, "fay_smith_numeric_rope.ipynb", _nb("rope_frequencies"))
    _put(tmp_path, "notes.ipynb", _nb())
    got = {(s.student, s.assignment, s.problem) for s in discover(tmp_path)}
    assert got == {("eve", "derive_lambda", ""), ("fay_smith", "numeric_rope", ""),
                   ("notes", "?", "wrong_notebook_name")}


def test_zip_of_submitted_folder(tmp_path: Path) -> None:
    """Is a zip of the submitted/ layout unpacked to scratch, leaving the zip untouched?"""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submitted/gus/derive_lambda/derive_lambda.ipynb", _nb())
    before = archive.read_bytes()
    root = unpack(archive, tmp_path / "scratch")
    assert [(s.student, s.problem) for s in discover(root)] == [("gus", "")]
    assert archive.read_bytes() == before


def test_zip_slip_is_refused(tmp_path: Path) -> None:
    """Is a zip entry that escapes the extraction folder refused?"""
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/evil.ipynb", "{}")
    with pytest.raises(SubmissionsError, match="unsafe path"):
        unpack(archive, tmp_path / "scratch")


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    """Does an empty submissions folder give a clear error naming the expected layout?"""
    with pytest.raises(SubmissionsError, match="no submissions found"):
        discover(tmp_path)


@pytest.mark.parametrize(("entries", "expected"), [
    # the class folder zipped under any name: its students are found inside it
    (["Class Folder/gus/derive_lambda/derive_lambda.ipynb",
      "Class Folder/ida/derive_lambda/derive_lambda.ipynb"], [("gus", ""), ("ida", "")]),
    (["submissions/gus/derive_lambda/derive_lambda.ipynb"], [("gus", "")]),
    # a zip of one student's folder: that folder is the student, not the class
    (["gus/derive_lambda/derive_lambda.ipynb"], [("gus", "")]),
    # a flat LMS folder zipped inside a folder
    (["export/gus_derive_lambda.ipynb"], [("gus", "")]),
])
def test_zip_of_a_class_folder_with_any_name(tmp_path: Path, entries, expected) -> None:
    """Is a zipped class folder stepped into whatever its name, while a zip of a single
    student's folder keeps that folder as the student?"""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in entries:
            zf.writestr(name, _nb())
    root = unpack(archive, tmp_path / "scratch")
    assert [(s.student, s.problem) for s in discover(root)] == expected


@pytest.mark.parametrize("name", ["Zoë Ünal", "with space", "-dash", ".."])
def test_unusable_student_ids_say_what_is_allowed(tmp_path: Path, name: str) -> None:
    """Is a folder or flat file with a non-ASCII, spaced, or path-like id reported as
    bad_student_id with the rule and a rename example?"""
    if name != "..":
        _put(tmp_path / "nested", f"{name}/derive_lambda/derive_lambda.ipynb", _nb())
        (sub,) = discover(tmp_path / "nested")
        assert (sub.student, sub.problem) == (name, "bad_student_id")
        assert "ASCII letters, digits" in sub.detail and "Rename" in sub.detail
    _put(tmp_path / "flat", f"{name}_derive_lambda.ipynb", _nb())
    (sub,) = discover(tmp_path / "flat")
    assert (sub.student, sub.problem) == (name, "bad_student_id")
    assert "ASCII letters, digits" in sub.detail


def test_zip_made_on_windows_with_backslashes(tmp_path: Path) -> None:
    """Are backslash-separated zip entries (some Windows tools) read as folders, and a
    backslash path that climbs out still refused?"""
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ada\\derive_lambda\\derive_lambda.ipynb", _nb())
    root = unpack(archive, tmp_path / "scratch")
    assert [(s.student, s.assignment, s.problem) for s in discover(root)] == [
        ("ada", "derive_lambda", "")]
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("..\\..\\evil.ipynb", "{}")
    with pytest.raises(SubmissionsError, match="unsafe path"):
        unpack(tmp_path / "evil.zip", tmp_path / "scratch2")
