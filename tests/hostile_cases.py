"""Hostile and broken submissions, and one graded class of them shared by three test modules.

Every hostile notebook is a model notebook from ``course/source`` with ONE deliberate wrong
answer (the slip of the reference student ``ref_lam`` or ``ref_ntk``) plus hostile code, so
the tests can demand that tampering changes no score at all: each item scores exactly what
the same wrong answer scores untouched, in the same run.  Faults and sandbox probes that
need no graded item use a few-cell notebook, which is cheap to run.

The notebook builders are in ``hostile_notebooks`` (re-exported here).
:func:`graded_class` builds the class once per test session and grades it through the CLI
(``rope-course grade --workers 2``); ``test_hostile``, ``test_faults`` and ``test_sandbox``
all read that one run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import sympy as sp
from hostile_code import (
    BOX_FORGERY,
    ESCAPE_PROBE,
    FAKE_GRADER,
    FORK_BOMB,
    LIARS,
    LYING_BUILTINS,
    LYING_LIBRARIES,
    MEMORY_BOMB,
    NUMPY_LIAR,
    PROBE_HELPER,
    READ_PROBE,
    SHOW_SEEN,
    SPEED_FORGERY,
)
from hostile_notebooks import (  # noqa: F401 -- re-exported for the test modules (H.cell, ...)
    AFTER,
    FORGED_LAM,
    SOURCE,
    WRONG,
    cell,
    cells_removed,
    cells_restored,
    few_cells,
    forged,
    index,
    planted_timing,
    wrong,
)
from nbformat import NotebookNode

from grader import cli
from grader.pipeline import COURSE
from grader.samples import LOOP_ROPE
from solutions import derivation as D

ROOT = COURSE.parent
REF = {"derive_lambda": "ref_lam", "numeric_rope": "ref_ntk"}
TIMEOUT = 10
"""Per-cell limit of the class run.  5 s would do for the loops, but the numeric_rope speed
cell takes 2-4 s on a loaded two-core machine: a limit that close would make scores flaky."""
PROBE = "PROBE-RESULT "
"""Prefix of the one line of JSON a probe cell prints."""
def _fill(code: str, **values: object) -> str:
    for key, value in values.items():
        code = code.replace(f"@@{key}@@", str(value))
    assert "@@" not in code.replace("@@PROBE@@", ""), code
    return code.replace("@@PROBE@@", PROBE)


# ---------------------------------------------------------------------------------------
# the class
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What the probes need to know about the host, fixed before the class is built."""

    subs: Path
    out: Path
    canary: Path
    port: int
    tag: str


def notebooks(ctx: Context) -> dict[tuple[str, str], NotebookNode]:
    """Every gradable hostile or faulty notebook, by (student, assignment)."""
    right = sp.srepr(D.LAM)
    values = dict(ROOT=ROOT, COURSE=COURSE, SUBS=ctx.subs, OUT=ctx.out, CANARY=ctx.canary,
                  PORT=ctx.port, PID=os.getpid(), TAG=ctx.tag)
    dl, nr = "derive_lambda", "numeric_rope"
    return {
        ("ref_lam", dl): wrong(dl),
        ("ref_ntk", nr): wrong(nr),
        ("monkeypatch", dl): wrong(dl, lam_solution=LYING_LIBRARIES,
                                   lam_4096_16384_d128=LYING_BUILTINS,
                                   d2_reason=_fill(SHOW_SEEN)),
        ("fake_grader", dl): wrong(dl, lam_solution=_fill(FAKE_GRADER, RIGHT=right)),
        ("liar_objects", dl): wrong(dl, lam_solution=LIARS),
        ("numpy_liar", nr): wrong(nr, ntk_scaled_base=NUMPY_LIAR),
        ("speed_forgery", nr): wrong(nr, apply_rope=LOOP_ROPE + SPEED_FORGERY),
        ("box_forgery", nr): wrong(nr, apply_rope=LOOP_ROPE + BOX_FORGERY),
        ("planted_timing", nr): planted_timing(),
        ("cells_restored", dl): cells_restored(),
        ("cells_removed", dl): cells_removed(),
        ("probe_reads", dl): few_cells(_fill(READ_PROBE, **values)),
        ("probe_escape", dl): few_cells(_fill(ESCAPE_PROBE, **values),
                                        kernelspec="python3-unsandboxed"),
        ("infinite_loop", nr): wrong(nr, rope_frequencies="while True:\n    pass"),
        ("stubborn_loop", dl): few_cells("import signal\n"
                                         "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                         "while True:\n    pass", AFTER),
        ("crash_midway", nr): wrong(nr, wavelengths="import os\nos._exit(1)"),
        ("crash_exit", dl): few_cells('print("before")', "import os\nos._exit(1)", AFTER),
        ("crash_segfault", dl): few_cells('print("before")',
                                          "import ctypes\nctypes.string_at(0)", AFTER),
        ("crash_sigkill", dl): few_cells('print("before")',
                                         "import os\nos.kill(os.getpid(), 9)", AFTER),
        ("forged_signature", dl): few_cells(
            "get_ipython().kernel.session.sign = lambda parts: b'0' * 64", AFTER),
        ("memory_bomb", dl): few_cells(_fill(MEMORY_BOMB), AFTER),
        ("fork_bomb", dl): few_cells(_fill(FORK_BOMB), AFTER),
        ("huge_output", dl): few_cells('print("x" * 10**7)',
                                       "for k in range(10**5):\n    print(k)",
                                       'for _ in range(30):\n    print("y" * 10**6)', AFTER),
    }


FILE_PROBLEMS = {  # student -> expected reason tag (every item of the assignment at 0)
    "bad_json": "invalid_json",
    "bad_nbformat": "wrong_nbformat",
    "bad_empty": "empty_file",
    "bad_not_notebook": "not_a_notebook",
    "bad_invalid_cells": "not_a_notebook",
    "bad_two_notebooks": "wrong_notebook_name",
    "bad_missing": "missing_notebook",
    "bad_other_assignment": "wrong_assignment",
    "bad_not_utf8": "not_utf8",
}


def write_file_problems(subs: Path, suffix: str = "") -> dict[tuple[str, str], str]:
    """One student per kind of broken file (all for derive_lambda), plus an unknown assignment
    folder and an unusable student id; returns (student, assignment) -> reason tag."""
    def put(student: str, name: str, content: str | bytes) -> None:
        path = subs / (student + suffix) / "derive_lambda" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)

    model = SOURCE["derive_lambda"].read_text(encoding="utf-8")
    put("bad_json", "derive_lambda.ipynb", model[: len(model) // 2])  # a truncated upload
    put("bad_nbformat", "derive_lambda.ipynb",
        json.dumps({"nbformat": 3, "nbformat_minor": 0, "cells": [], "metadata": {}}))
    put("bad_empty", "derive_lambda.ipynb", "")
    put("bad_not_notebook", "derive_lambda.ipynb", json.dumps([1, 2, 3]))
    put("bad_invalid_cells", "derive_lambda.ipynb",
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "x"}))
    put("bad_two_notebooks", "Untitled.ipynb", model)
    put("bad_two_notebooks", "Untitled1.ipynb", model)
    (subs / ("bad_missing" + suffix) / "derive_lambda").mkdir(parents=True, exist_ok=True)
    put("bad_other_assignment", "derive_lambda.ipynb",
        SOURCE["numeric_rope"].read_text(encoding="utf-8"))
    put("bad_not_utf8", "derive_lambda.ipynb", model.encode("utf-16"))
    found = {(s + suffix, "derive_lambda"): tag for s, tag in FILE_PROBLEMS.items()}
    (subs / ("bad_unknown" + suffix) / "homework9").mkdir(parents=True, exist_ok=True)
    (subs / ("bad_unknown" + suffix) / "homework9" / "hw.ipynb").write_text("{}")
    found[("bad_unknown" + suffix, "homework9")] = "unknown_assignment"
    (subs / ("bad id" + suffix)).mkdir(parents=True, exist_ok=True)
    (subs / ("bad id" + suffix) / "notes.txt").write_text("not a student folder")
    found[("bad id" + suffix, "?")] = "bad_student_id"
    return found


def write_notebook(subs: Path, student: str, assignment: str, nb: NotebookNode,
                   name: str | None = None) -> Path:
    """Write one submission in nbgrader's submitted/ layout."""
    path = subs / student / assignment / (name or f"{assignment}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


LOAD_SUFFIXES = ("_1", "_2", "_3", "_4", "_5")
LOAD_HOSTILE = PROBE_HELPER + '''
_attempt("key", lambda: open("@@KEY@@").read())
_attempt("write", lambda: open("@@SUBS@@/pwned.txt", "w").write("x"))
print("@@PROBE@@" + _json.dumps(_probe))
'''


def write_load_class(subs: Path) -> None:
    """Sixty submissions: a model answer, a wrong answer, two hostile kernels (one escapes
    and reads, one kills itself), and 56 broken files that fail in an instant."""
    nr = "numeric_rope"
    write_notebook(subs, "a_good", nr, nbformat.read(SOURCE[nr], as_version=4))
    write_notebook(subs, "m_bad", nr, wrong(nr))
    write_notebook(subs, "z_hostile", "derive_lambda", few_cells(_fill(
        LOAD_HOSTILE, KEY=ROOT / "solutions" / "rope.py", SUBS=subs)))
    write_notebook(subs, "z_crash", "derive_lambda",
                   few_cells('print("before")', "import os\nos._exit(3)", AFTER))
    for suffix in LOAD_SUFFIXES:
        write_file_problems(subs, suffix)
    (subs / "bad_only_text" / "derive_lambda").mkdir(parents=True)
    (subs / "bad_only_text" / "derive_lambda" / "answers.txt").write_text("lambda = 4.09\n")


@dataclass
class ClassRun:
    """One graded class: its submissions, outputs and what the probes were told."""

    subs: Path
    out: Path
    canary: Path
    canary_text: str
    tag: str
    problems: dict[tuple[str, str], str]
    seconds: float

    def rows(self, name: str) -> list[dict[str, str]]:
        """The rows of OUT/<name> (grades.csv, items.csv)."""
        return read_csv(self.out / name)

    def items(self, student: str, assignment: str) -> dict[str, tuple[float, str]]:
        """item -> (score, tag) for one submission, from items.csv."""
        return {r["item"]: (float(r["score"]), r["tag"]) for r in self.rows("items.csv")
                if (r["student_id"], r["assignment"]) == (student, assignment)}

    def total(self, student: str, assignment: str) -> float:
        """The submission's score in grades.csv."""
        [row] = [r for r in self.rows("grades.csv")
                 if (r["student_id"], r["assignment"]) == (student, assignment)]
        return float(row["score"])

    def autograded(self, student: str, assignment: str) -> Path:
        """The autograded notebook kept for feedback."""
        return self.out / ".work" / "autograded" / student / assignment / f"{assignment}.ipynb"

    def outputs(self, student: str, assignment: str = "derive_lambda") -> list[list[dict]]:
        """The outputs of every code cell of the autograded notebook."""
        return outputs(self.autograded(student, assignment))

    def probe(self, student: str, assignment: str = "derive_lambda") -> dict:
        """The JSON a probe cell printed."""
        return probe(self.autograded(student, assignment))


def outputs(notebook: Path) -> list[list[dict]]:
    """The outputs of every code cell but the tests (RestoreTestCells adds the tests back to a
    notebook that lost them, after the student's own cells)."""
    nb = nbformat.read(notebook, as_version=4)
    return [c.get("outputs", []) for c in nb.cells if c.cell_type == "code"
            and not (c.metadata.get("nbgrader", {}).get("grade")
                     and not c.metadata["nbgrader"].get("solution"))]


def probe(notebook: Path) -> dict:
    """The JSON a probe cell of this (autograded) notebook printed."""
    for outs in outputs(notebook):
        for o in outs:
            for line in o.get("text", "").splitlines():
                if line.startswith(PROBE):
                    return json.loads(line[len(PROBE):])
    raise AssertionError(f"{notebook}: no probe result")


def kernel_env_top() -> str:
    """The project folder's entry that holds the student environment, if it lives there
    (the sandbox shows it, read-only, and nothing else of the project)."""
    from grader import sandbox

    env = Path(sandbox.kernel_python()).parent.parent
    return env.relative_to(ROOT).parts[0] if env.is_relative_to(ROOT) else ""


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path (symlinks by their target)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "symlink:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def grade(subs: Path, out: Path, workers: int = 2, timeout: int = TIMEOUT) -> int:
    """``rope-course grade`` in this process."""
    return cli.main(["grade", str(subs), "--out", str(out), "--workers", str(workers),
                     "--timeout", str(timeout)])


def seed(out: Path, prepared: Path) -> None:
    """Give ``out`` the template course another run already prepared (what an earlier,
    interrupted run would have left), so a test does not pay nbgrader's generate_assignment
    again."""
    import shutil

    (out / ".work").mkdir(parents=True, exist_ok=True)
    shutil.copytree(prepared / ".work" / "course", out / ".work" / "course")
    shutil.copyfile(prepared / ".work" / "course.digest", out / ".work" / "course.digest")


def kernels_of(out: Path) -> list[int]:
    """PIDs of processes working for a run into ``out``: their command line mentions it
    (bwrap, launchers) or they run in one of its job folders (sandboxed kernels)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if str(out).encode() in cmd or cwd.startswith(str(out)):
                pids.append(int(entry.name))
    return pids


_RUN: dict[str, ClassRun] = {}


def graded_class(tmp_path_factory) -> ClassRun:
    """Build and grade the hostile class once per test session (2 workers, 10 s per cell)."""
    if "class" in _RUN:
        return _RUN["class"]
    root = tmp_path_factory.mktemp("hostile_class")
    subs, out = root / "submitted", root / "out"
    canary = root / "canary.txt"
    canary_text = "the host's file, which no student may overwrite\n"
    canary.write_text(canary_text)
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    with socket.socket() as server:  # a host service the sandboxed kernels must not reach
        server.bind(("127.0.0.1", 0))
        server.listen()
        ctx = Context(subs, out, canary, server.getsockname()[1], tag)
        for (student, assignment), nb in notebooks(ctx).items():
            write_notebook(subs, student, assignment, nb)
        problems = write_file_problems(subs)
        write_notebook(subs, "wrong_name", "derive_lambda", few_cells('print("hello")'),
                       name="Untitled.ipynb")
        (subs / "wrong_name" / "derive_lambda" / "scratch.py").write_text("x = 1\n")
        start = time.monotonic()
        assert grade(subs, out) == 0
        seconds = time.monotonic() - start
    _RUN["class"] = ClassRun(subs, out, canary, canary_text, tag, problems, seconds)
    return _RUN["class"]
