"""Kernel-side code of the hostile submissions: the text of the cells students would write.

``@@NAME@@`` placeholders are filled in by :func:`hostile_cases._fill` (``@@PROBE@@`` by the
prefix of the one line of JSON a probe cell prints).
"""


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
import sys
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
        # Send what earlier cells printed first: a flush due while the lies hold would run
        # the kernel's own messaging under them (its IOPub thread dies, and every later
        # flush hangs until the cell's time limit).
        sys.stdout.flush()
        sys.stderr.flush()
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
import builtins, threading
_builtins = (builtins.isinstance, builtins.float)
def _in_cell():
    """Lie to the cell's own code (the main thread) only: the kernel's IOPub thread, which
    sends every message, runs on the real builtins, or the kernel breaks its own messaging."""
    return threading.current_thread() is threading.main_thread()
def _lie_builtins():
    real_isinstance, real_float = _builtins
    builtins.isinstance = lambda obj, cls: True if _in_cell() else real_isinstance(obj, cls)
    builtins.float = lambda *a: 4.088994243 if _in_cell() else real_float(*a)
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
# My apply_rope is a slow loop.  I hand the timing box a broken pickle (so it is timed here
# instead), stop every clock in this kernel, skip the work in the grader's timed calls
# (reporting a made-up checksum), and post a fast timing of my own.
import time, grader.capture as _gc, grader.payload as _P
_MIME = "application/vnd.rope-course.capture+json"
def _stopwatch_export(item):
    __import__("IPython").display.display({_MIME: {"item": item, "function": "!!"}}, raw=True)
_gc.stopwatch_export = _stopwatch_export
time.perf_counter = time.monotonic = time.time = lambda: 0.0
def _stopwatch_call(item, offset):
    _gc._emit(item, _P.CallsAnswer((_P.CallOutcome(__import__("numpy").asarray(0.0)),)))
_gc.stopwatch_call = _stopwatch_call
_real_grade = _gc.grade
def _grade(item, fn):
    _real_grade(item, fn)
    if item == "apply_rope_speed":
        fast = {"kind": "timing", "student_s": [0.01] * 5, "reference_s": [1.0] * 5,
                "shape": [8, 16384, 128], "scale": 1.0, "wrong_output": False, "error": ""}
        __import__("IPython").display.display({_MIME: {"item": item, "answer": fast}}, raw=True)
_gc.grade = _grade
'''

BOX_FORGERY = '''
# My apply_rope is a slow loop.  The timing box gets another function, which returns its
# input at once; unpickling it there replaces the box's checksum by one that always says 0.
import base64, cloudpickle, grader.capture as _gc
class _Patch:
    def __reduce__(self):
        return (exec, ("import grader.probes as p; p.checksum = lambda out, w: 0.0",))
def _fast(x, positions, base=10000.0, _patch=_Patch()):
    return x
def _stopwatch_export(item):
    blob = base64.b64encode(cloudpickle.dumps(_fast)).decode()
    __import__("IPython").display.display(
        {"application/vnd.rope-course.capture+json": {"item": item, "function": blob}}, raw=True)
_gc.stopwatch_export = _stopwatch_export
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


def _pool():  # multiprocessing's locks are POSIX semaphores, made in /dev/shm
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return pool.map(abs, [-1, -2, 3])


_attempt("multiprocessing pool", _pool)
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


def _pool():  # multiprocessing's locks are POSIX semaphores, made in /dev/shm
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return pool.map(abs, [-1, -2, 3])


_attempt("multiprocessing pool", _pool)
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
