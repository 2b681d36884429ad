"""Find and check the submissions to grade, from any of the layouts instructors have.

Accepted: nbgrader's ``submitted/`` layout (``<student>/<assignment>/<notebook>.ipynb``), a
zip of that layout, and an LMS-style flat folder of ``<student>_<notebook>.ipynb`` files
(as ``nbgrader zip_collect`` expects).  Nothing here modifies the submissions: the files
are read, checked, and copied into a private working area.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.items import NOTEBOOKS


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one assignment, or the reason it cannot be graded."""

    student: str
    """the student id"""
    assignment: str
    """the assignment id (= notebook name)"""
    path: Path | None
    """the notebook file (None when it is missing)"""
    problem: str = ""
    """a stable reason tag when the file cannot be graded (empty when it can)"""
    detail: str = ""
    """a human explanation of the problem"""
    notes: tuple[str, ...] = ()
    """things the instructor should know that did not stop grading (``tag: explanation``)"""

    @property
    def key(self) -> str:
        """A filesystem-safe job key."""
        return f"{self.student}__{self.assignment}"


BAD_STUDENT_ID = "bad_student_id"
"""The problem tag of a submission whose folder or file name is not a valid student id: it
gets no gradebook row and no feedback page, only a line in the report."""

_STUDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
ID_RULE = ("a student id must start with an ASCII letter or digit and use only ASCII letters, "
           "digits, '.', '_', '@' and '-' (at most 100): nbgrader keeps it in file paths and its "
           "gradebook. Rename the folder or file (for example 'Zoë Ünal' to 'zoe.unal')")


class SubmissionsError(ValueError):
    """The submissions folder itself cannot be used (not a student's problem)."""


def unpack(source: Path, scratch: Path) -> Path:
    """A folder to read submissions from: ``source`` itself, or a zip extracted to scratch."""
    if source.is_dir():
        return source
    if source.is_file() and zipfile.is_zipfile(source):
        dest = scratch / "unzipped"
        shutil.rmtree(dest, ignore_errors=True)
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            for info in infos:
                info.filename = info.filename.replace("\\", "/")  # zips made on Windows
                target = (dest / info.filename).resolve()
                if not target.is_relative_to(dest.resolve()):
                    raise SubmissionsError(f"{source}: unsafe path {info.filename!r} in zip")
            for info in infos:
                zf.extract(info, dest)
        entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        if len(entries) == 1 and entries[0].is_dir() and not _is_student_folder(entries[0]):
            return entries[0]  # the class folder itself was zipped ("submitted" or any name)
        return dest
    raise SubmissionsError(f"{source} is neither a folder nor a zip file. Pass the nbgrader "
                           "'submitted' folder, a zip of it, or a flat folder of "
                           "<student>_<notebook>.ipynb files.")


def _is_student_folder(folder: Path) -> bool:
    """Does ``folder`` hold assignment folders (one student's), rather than students?"""
    return any((folder / assignment).is_dir() for assignment in NOTEBOOKS)


def discover(root: Path) -> list[Submission]:
    """Every (student, assignment) pair found under ``root``, checked, sorted by key."""
    flat = sorted(p for p in root.iterdir() if p.is_file() and p.suffix == ".ipynb")
    found = _flat(flat) if flat else _nested(root)
    if not found:
        raise SubmissionsError(f"no submissions found in {root}: expected "
                               "<student>/<assignment>/<notebook>.ipynb or "
                               "<student>_<notebook>.ipynb")
    return sorted(found, key=lambda s: s.key)


def _nested(root: Path) -> list[Submission]:
    out: list[Submission] = []
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        student = student_dir.name
        if student.startswith("."):
            continue
        if not _STUDENT.match(student):
            out.append(Submission(student, "?", None, BAD_STUDENT_ID,
                                  f"folder name {student!r} is not a usable student id: {ID_RULE}"))
            continue
        for assignment in NOTEBOOKS:
            folder = student_dir / assignment
            if folder.is_dir():
                out.append(_pick(student, assignment, folder))
        for extra in sorted(student_dir.iterdir()):
            if extra.name not in NOTEBOOKS and not extra.name.startswith("."):
                out.append(Submission(student, extra.name, None, "unknown_assignment",
                                      f"{extra.name!r} is not an assignment of this course"))
    return out


def _pick(student: str, assignment: str, folder: Path) -> Submission:
    expected = folder / f"{assignment}.ipynb"
    notebooks = sorted(folder.glob("*.ipynb"))
    extras = sorted(p.name for p in folder.iterdir()
                    if p != expected and not p.name.startswith("."))
    notes = (f"extra_files: ignored {', '.join(extras)}",) if extras else ()
    if expected.is_file():
        return check(Submission(student, assignment, expected, notes=notes))
    if len(notebooks) == 1:  # graded under the right name, and the instructor is told
        others = [n for n in extras if n != notebooks[0].name]
        return check(Submission(student, assignment, notebooks[0], notes=(
            f"wrong_notebook_name: graded {notebooks[0].name} as {assignment}.ipynb",
            *([f"extra_files: ignored {', '.join(others)}"] if others else []))))
    if not notebooks:
        return Submission(student, assignment, None, "missing_notebook",
                          f"no {assignment}.ipynb in the submission")
    return Submission(student, assignment, None, "wrong_notebook_name",
                      f"expected {assignment}.ipynb, found {', '.join(p.name for p in notebooks)}")


def _flat(files: list[Path]) -> list[Submission]:
    out = []
    for path in files:
        stem = path.stem
        for assignment in NOTEBOOKS:
            if stem.endswith("_" + assignment) and len(stem) > len(assignment) + 1:
                student = stem[: -len(assignment) - 1]
                bad = f"{path.name}: {student!r} is not a usable student id: {ID_RULE}"
                out.append(check(Submission(student, assignment, path)) if _STUDENT.match(
                    student) else Submission(student, assignment, None, BAD_STUDENT_ID, bad))
                break
        else:
            out.append(Submission(stem, "?", None, "wrong_notebook_name",
                                  f"{path.name} does not end in _<assignment>.ipynb"))
    return out


def check(sub: Submission) -> Submission:
    """Check that the file is a readable nbformat-4 notebook of the right assignment."""
    assert sub.path is not None
    raw = sub.path.read_bytes()
    if not raw.strip():
        return _bad(sub, "empty_file", "the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _bad(sub, "not_utf8", f"the file is not UTF-8 text ({exc.reason} at byte "
                    f"{exc.start})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return _bad(sub, "invalid_json", f"not valid JSON: {exc.msg} at line {exc.lineno}")
    if not isinstance(data, dict) or "cells" not in data:
        return _bad(sub, "not_a_notebook", "JSON, but not a Jupyter notebook (no cells)")
    if data.get("nbformat") != 4:
        return _bad(sub, "wrong_nbformat", f"nbformat {data.get('nbformat')!r}; this course "
                    "needs nbformat 4 (re-save the notebook in JupyterLab)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for broken notebooks
        return _bad(sub, "not_a_notebook", f"not a valid notebook: {str(exc)[:200]}")
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if not _belongs(ids, sub.assignment):
        return _bad(sub, "wrong_assignment", "this notebook is not the "
                    f"{sub.assignment} assignment (another assignment's notebook?)")
    return sub


def _belongs(grade_ids: set[str | None], assignment: str) -> bool:
    from grader.items import items_for

    mine = {it.id for it in items_for(assignment)}
    others = {it.id for nb in NOTEBOOKS if nb != assignment for it in items_for(nb)}
    return not (grade_ids & others and not grade_ids & mine)


def _bad(sub: Submission, tag: str, detail: str) -> Submission:
    return Submission(sub.student, sub.assignment, sub.path, tag, detail, sub.notes)
