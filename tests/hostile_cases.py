"""Hostile and broken submissions, and one graded class of them shared by three test modules.

Every hostile notebook is a model notebook from ``course/source`` with ONE deliberate wrong
answer (the slip of the reference student ``ref_lam`` or ``ref_ntk``) plus hostile code, so
the tests can demand that tampering changes no score at all: each item scores exactly what
the same wrong answer scores untouched, in the same run.  Faults and sandbox probes that
need no graded item use a few-cell notebook, which is cheap to run.

:func:`graded_class` builds the class once per test session and grades it through the CLI
(``rope-course grade --workers 2``); ``test_hostile``, ``test_faults`` and ``test_sandbox``
all read that one run.
"""

from __future__ import annotations

import copy
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
from nbformat import NotebookNode

from grader import cli
from grader.pipeline import COURSE
from grader.samples import LOOP_ROPE, with_slips
from solutions import derivation as D

ROOT = COURSE.parent
SOURCE = {a: COURSE / "source" / a / f"{a}.ipynb" for a in ("derive_lambda", "numeric_rope")}
WRONG = {
    "derive_lambda": {"lam_solution": "lam_solution = m / m_l"},
    "numeric_rope": {"ntk_scaled_base": "def ntk_scaled_base(base, m, m_l, d):\n"
                                        "    return base * m / m_l"},
}
"""The one wrong answer of each reference student (PI's factor m/m_l: tag pi_factor)."""

REF = {"derive_lambda": "ref_lam", "numeric_rope": "ref_ntk"}
TIMEOUT = 10
"""Per-cell limit of the class run.  5 s would do for the loops, but the numeric_rope speed
cell takes 2-4 s on a loaded two-core machine: a limit that close would make scores flaky."""
PROBE = "PROBE-RESULT "
"""Prefix of the one line of JSON a probe cell prints."""
FORGED_LAM = "(m/m_l)**(d/(d-2))"
"""The right lambda, which the tampering students type into the hidden test cells."""

# ---------------------------------------------------------------------------------------
# kernel-side code (cell text); @@NAME@@ placeholders are filled in by the builders
# ---------------------------------------------------------------------------------------

PROBE_HELPER = '''
import json as _json, os as _os
_probe = {}
def _attempt(name, fn):
    """Record what an attempt did: ["ok", result] or [exception type, message]."""
    try:
        _probe[name] = ["ok", repr(fn())[:300]]
    except BaseException as exc:  # noqa: BLE001 -- the point is to record everything
        _probe[name] = [type(exc).__name__, str(exc)[:300]]
'''

SCOPED = '''
# Lie only while the next cell (a hidden test) runs: patched just before it, restored just
# after it, so none of my later answers changes.  What the lies answer then goes in _seen.
from IPython import get_ipython
_seen = {}
def _during_next_cell(name, patch, undo, probe):
    ip = get_ipython()
    def _undo(*args):
        try:
            _seen[name] = repr(probe())
        finally:
            undo()
            ip.events.unregister("post_run_cell", _undo)
    def _arm(*args):
        ip.events.unregister("pre_run_cell", _arm)
        ip.events.register("post_run_cell", _undo)
        patch()
    ip.events.register("pre_run_cell", _arm)
'''

LYING_LIBRARIES = SCOPED + '''
import numpy, sympy
_libs = (sympy.simplify, sympy.Expr.__eq__, numpy.allclose, numpy.isclose)
def _lie():
    sympy.simplify = lambda *a, **k: 0
    sympy.Expr.__eq__ = lambda self, other: True
    numpy.allclose = lambda *a, **k: True
    numpy.isclose = lambda *a, **k: True
def _restore():
    sympy.simplify, sympy.Expr.__eq__, numpy.allclose, numpy.isclose = _libs
    sympy.core.cache.clear_cache()  # nothing computed under the lies may be reused
_during_next_cell("libraries", _lie, _restore,
                  lambda: (sympy.simplify(m) == 0, m == m_l, bool(numpy.allclose(0, 1))))
'''

LYING_BUILTINS = '''
import builtins
_builtins = (builtins.isinstance, builtins.float)
def _lie_builtins():
    builtins.isinstance = lambda obj, cls: True
    builtins.float = lambda *a: 4.088994243
def _restore_builtins():
    builtins.isinstance, builtins.float = _builtins
_during_next_cell("builtins", _lie_builtins, _restore_builtins,
                  lambda: (isinstance(1, str), float("1")))
'''

SHOW_SEEN = '''
print("@@PROBE@@" + __import__("json").dumps(_seen))
'''

FAKE_GRADER = '''
# A fake grader package in sys.modules: the hidden test's `from grader.capture import grade`
# gets my grade(), which forwards every item except lam_solution to the real one.
import sys, types
import sympy
import grader.capture as _real_capture
from IPython.display import display as _display
_MIME = "application/vnd.rope-course.capture+json"
_real_grade = _real_capture.grade
def _forge(item, answer):
    if item != "lam_solution":
        return _real_grade(item, answer)
    right = {"kind": "sympy", "srepr": "@@RIGHT@@", "type_name": "Pow"}
    mine = {"kind": "sympy", "srepr": sympy.srepr(answer), "type_name": "Mul",
            "score": 3, "verdict": "correct", "tag": "ok"}
    for other in ("lam_double", "lam_limit", "lam_solution_answer", "LAM_SOLUTION"):
        _display({_MIME: {"item": other, "answer": right}, "text/plain": "recorded"}, raw=True)
    _display({_MIME: {"item": item, "answer": mine, "score": 3, "max_score": 3,
                      "verdict": "correct", "tag": "ok", "points": 3},
              "text/plain": "recorded"}, raw=True)
    print("[ok] Correct.")
    _display({"text/plain": "3.0"}, raw=True)
    return 3.0
_fake = types.ModuleType("grader")
_fake.__path__ = []
_fake.capture = types.ModuleType("grader.capture")
_fake.capture.grade = _forge
sys.modules["grader"], sys.modules["grader.capture"] = _fake, _fake.capture
'''

LIARS = '''
# Answer objects that claim equality with anything, truth, the right float and one hash.
# They reach the real capture code through a wrapper, so my later answers stay plain.
import grader.capture as _gc
class Mul(sp.Mul):
    """A sympy subclass posing as sympy's own Mul."""
    __module__ = "sympy.core.mul"
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __float__(self): return 4.088994243
    def __hash__(self): return 0
class LiarFloat(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __float__(self): return 4.088994243
    def __hash__(self): return 0
class LiarList(list):
    def __eq__(self, other): return True
    def __len__(self): return 3
_liars = {"lam_solution": lambda v: Mul(*v.args), "lam_4096_16384_d128": LiarFloat,
          "stretch_first_middle_last": LiarList}
_real_grade = _gc.grade
def _grade(item, answer):
    return _real_grade(item, _liars[item](answer) if item in _liars else answer)
_gc.grade = _grade
'''

NUMPY_LIAR = '''
# numpy that agrees with everything, and an ndarray subclass returned by my kernel function.
import numpy
import grader.capture as _gc
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
class LiarArray(numpy.ndarray):
    __module__ = "numpy"
    def __eq__(self, other): return numpy.ones(numpy.shape(self), dtype=bool)
    def __bool__(self): return True
    def __float__(self): return 40889.94243
    def __hash__(self): return 0
    def __array__(self, dtype=None, copy=None): return numpy.full(numpy.shape(self), 40889.94243)
_real_grade = _gc.grade
def _grade(item, fn):
    if item == "ntk_scaled_base":
        inner = fn
        fn = lambda *a, **k: numpy.asarray(inner(*a, **k)).view(LiarArray)
    return _real_grade(item, fn)
_gc.grade = _grade
'''

SPEED_FORGERY = '''
# My apply_rope is a slow loop.  I stop every clock in this kernel, skip the work in the
# grader's timed calls (reporting a made-up checksum), and post a fast timing of my own.
import time, grader.capture as _gc, grader.payload as _P
time.perf_counter = time.monotonic = time.time = lambda: 0.0
def _stopwatch_call(item, offset):
    _gc._emit(item, _P.CallsAnswer((_P.CallOutcome(__import__("numpy").asarray(0.0)),)))
_gc.stopwatch_call = _stopwatch_call
_MIME = "application/vnd.rope-course.capture+json"
_real_grade = _gc.grade
def _grade(item, fn):
    _real_grade(item, fn)
    if item == "apply_rope_speed":
        fast = {"kind": "timing", "student_s": [0.01] * 5, "reference_s": [1.0] * 5,
                "shape": [8, 16384, 128], "scale": 1.0, "wrong_output": False, "error": ""}
        __import__("IPython").display.display({_MIME: {"item": item, "answer": fast}}, raw=True)
_gc.grade = _grade
'''

PLANTED_TIMING = {"timing": {"kind": "timing", "student_s": [0.01] * 5, "reference_s": [1.0] * 5,
                             "shape": [8, 16384, 128], "scale": 1.0, "wrong_output": False,
                             "error": ""}}
"""A fast timing record planted in the submitted speed cell's metadata, where the grader
keeps its own."""


READ_PROBE = PROBE_HELPER + '''
import importlib
from pathlib import Path
job = Path.cwd().parents[2]          # OUT/.work/jobs/<key>/autograded/<student>/<assignment>
out = job.parents[2]
_attempt("import solutions", lambda: importlib.import_module("solutions"))
_attempt("import solutions.derivation", lambda: importlib.import_module("solutions.derivation"))
_attempt("from grader import symbolic", lambda: importlib.import_module("grader.symbolic"))
_attempt("import grader.items", lambda: importlib.import_module("grader.items"))
_attempt("import nbgrader", lambda: importlib.import_module("nbgrader"))
targets = {
    "course source notebook": "@@COURSE@@/source/derive_lambda/derive_lambda.ipynb",
    "answer key": "@@ROOT@@/solutions/derivation.py",
    "grader checks": "@@ROOT@@/grader/symbolic.py",
    "class gradebook": str(out / "gradebook.db"),
    "template gradebook": str(out / ".work" / "course" / "gradebook.db"),
    "template source (hidden tests)": str(out / ".work/course/source/derive_lambda/derive_lambda.ipynb"),
    "job gradebook": str(job / "gradebook.db"),
    "job source (hidden tests)": str(job / "source/derive_lambda/derive_lambda.ipynb"),
    "own submitted file": str(job / "submitted/probe_reads/derive_lambda/derive_lambda.ipynb"),
    "other submission": "@@SUBS@@/ref_lam/derive_lambda/derive_lambda.ipynb",
    "other autograded": str(out / ".work/autograded/ref_lam/derive_lambda/derive_lambda.ipynb"),
    "journal": str(out / ".work" / "journal"),
    "/root": "/root/.bashrc",
}
for name, path in targets.items():
    _attempt("read " + name, lambda p=path: (open(p, "rb").read(64) if not _os.path.isdir(p)
                                              else _os.listdir(p)))
_attempt("list project root", lambda: sorted(_os.listdir("@@ROOT@@")))
_attempt("list submissions", lambda: _os.listdir("@@SUBS@@"))
_attempt("uid", lambda: (_os.getuid(), _os.geteuid()))
print("@@PROBE@@" + _json.dumps(_probe))
'''

ESCAPE_PROBE = PROBE_HELPER + '''
import socket, subprocess, sys
from pathlib import Path
for name, path in {"write OUT": "@@OUT@@/pwned.txt", "write submissions": "@@SUBS@@/pwned.txt",
                   "write project": "@@ROOT@@/pwned.txt", "write /usr": "/usr/pwned.txt",
                   "write kernel env": sys.prefix + "/pwned.txt", "write cwd": "pwned.txt",
                   "write /tmp": "/tmp/pwned-@@TAG@@.txt"}.items():
    _attempt(name, lambda p=path: open(p, "w").write("pwned"))
# a symlink where nbgrader will write the graded notebook, pointing at a file of the host
_attempt("plant symlink", lambda: (_os.remove("derive_lambda.ipynb"),
                                   _os.symlink("@@CANARY@@", "derive_lambda.ipynb")))
_attempt("ls /", lambda: subprocess.run(["ls", "-a", "/"], capture_output=True, text=True,
                                        timeout=10).stdout.split())
_attempt("ls project", lambda: subprocess.run(["ls", "-a", "@@ROOT@@"], capture_output=True,
                                              text=True, timeout=10).stdout.split())
_attempt("pids", lambda: sorted(int(p) for p in _os.listdir("/proc") if p.isdigit()))
_attempt("grader pid visible", lambda: _os.path.exists("/proc/@@PID@@"))
_attempt("internet", lambda: socket.create_connection(("1.1.1.1", 80), timeout=3))
_attempt("host port", lambda: socket.create_connection(("127.0.0.1", @@PORT@@), timeout=3))
_attempt("uid", lambda: (_os.getuid(), _os.geteuid()))
print("@@PROBE@@" + _json.dumps(_probe))
'''

MEMORY_BOMB = PROBE_HELPER + '''
_attempt("bytearray(10**11)", lambda: len(bytearray(10**11)))
_attempt("bytearray(6 GiB)", lambda: len(bytearray(6 << 30)))
import numpy
hog = []
def _grow():  # 100 MiB at a time; stops at 6 GiB so a missing limit cannot hurt the machine
    while len(hog) < 60:  # (numpy.empty reserves without touching: fast, and the cap is on
        hog.append(numpy.empty(100 << 20, dtype=numpy.uint8))  # address space, RLIMIT_AS)
    return "no limit hit"
_attempt("growing list", _grow)
_probe["chunks"] = len(hog)
hog = None
def _fill_tmp():  # the private /tmp is RAM (tmpfs): 64 MiB files (each below the file size
    for k in range(16):  # limit), at most 1 GiB in all
        with open(f"/tmp/filler{k}", "wb") as fh:
            fh.write(bytes(64 << 20))
    return "no limit hit"
_attempt("fill /tmp", _fill_tmp)
_fillers = [f"/tmp/{name}" for name in _os.listdir("/tmp") if name.startswith("filler")]
_probe["/tmp bytes"] = sum(_os.path.getsize(f) for f in _fillers)
for f in _fillers:
    _os.remove(f)
print("@@PROBE@@" + _json.dumps(_probe))
'''

FORK_BOMB = '''
import json, os, time
ok = fail = 0
children = []
for _ in range(2000):  # bounded: the sandbox's process cap must stop it long before
    try:
        pid = os.fork()
    except OSError:
        fail += 1
        continue
    if pid == 0:  # the child holds its slot for a moment, touching nothing of the kernel's
        time.sleep(2)
        os._exit(0)
    ok += 1
    children.append(pid)
for pid in children:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print("@@PROBE@@" + json.dumps({"forked": ok, "refused": fail}))
'''


def _fill(code: str, **values: object) -> str:
    for key, value in values.items():
        code = code.replace(f"@@{key}@@", str(value))
    assert "@@" not in code.replace("@@PROBE@@", ""), code
    return code.replace("@@PROBE@@", PROBE)


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
        ("crash_exit", dl): few_cells('print("before")', "import os\nos._exit(1)", AFTER),
        ("crash_segfault", dl): few_cells('print("before")',
                                          "import ctypes\nctypes.string_at(0)", AFTER),
        ("crash_sigkill", dl): few_cells('print("before")',
                                         "import os\nos.kill(os.getpid(), 9)", AFTER),
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
