"""The speed item timed side by side: the answer key, then the student's function, in one
timing box process, each result checked against an exact checksum.

The student's kernel is this process (``run`` executes the grader's requests with ``exec``);
the box is a real process, unsandboxed here except in the last test."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from grader import capture, probes, sandbox, sidebyside, stopwatch
from grader import payload as P
from grader.items import REGISTRY
from grader.samples import HALF_ROPE, LOOP_ROPE
from grader.scoring import judge
from solutions.rope import apply_rope

ITEM = "apply_rope_speed"
SPEC = probes.TIMINGS[ITEM]

VECTORISED = '''
def apply_rope(x, positions, base=10000.0):
    d = x.shape[-1]
    ang = np.asarray(positions, dtype=float)[:, None] * base ** (-2.0 * np.arange(d // 2) / d)
    c, s = np.cos(ang).astype(x.dtype), np.sin(ang).astype(x.dtype)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = a * s + b * c
    return out
'''


def student(source: str, **extra: object):
    """A function as a notebook defines it (pickled by value, like ``__main__``'s)."""
    namespace = {"np": np, "__name__": "student_notebook", **extra}
    exec(source, namespace)
    return namespace["apply_rope"]


@pytest.fixture
def run(monkeypatch):
    """Execute grader requests here, collecting what the capture module displays."""
    outputs: list[dict] = []
    monkeypatch.setattr(capture, "_display", lambda data: outputs.append(
        {"output_type": "display_data", "data": data}))

    def execute(code: str) -> list[dict]:
        outputs.clear()
        exec(code, {})
        return list(outputs)

    return execute


def _time(run, fn, argv=()) -> tuple[P.TimingAnswer | None, object]:
    capture._capture(ITEM, fn)
    record = sidebyside.time_kernel(run, ITEM, list(argv))
    if record is None:
        return None, None
    assert P.from_json(P.to_json(record)) == record  # as it travels in the cell's metadata
    return record, judge(REGISTRY[ITEM], record)


FLOAT32_ANGLES = VECTORISED.replace("dtype=float)", "dtype=np.float32)").replace(
    "base ** (-2.0 * np.arange(d // 2) / d)",
    "(base ** (-2.0 * np.arange(d // 2) / d)).astype(np.float32)")


@pytest.mark.parametrize(("fn", "agrees", "offsets"), [
    (student(VECTORISED), True, (1, 2**20)),  # float32 tables: another rounding
    (lambda x, p: apply_rope(x.astype(np.float64), p), True, (1, 2**20)),
    (lambda x, p: x, False, (1, 2**20)),
    (lambda x, p: apply_rope(x, -p), False, (1, 2**20)),  # rotated the wrong way
    (student(HALF_ROPE), False, (1, 2**20)),
    (student(FLOAT32_ANGLES), False, (2**19, 2**20)),  # float32 angles lose 1e-2 rad there
])
def test_the_checksum_tells_rounding_from_wrong_values(fn, agrees, offsets) -> None:
    """Is the checksum of a correct kernel's output within the tolerance of the key's
    whatever its rounding, and a kernel with wrong values (its input back, the wrong sign,
    the other layout, float32 angles at large positions) far outside, on the full timed
    workload?"""
    x, weights, scale = probes.timed_inputs(5, SPEC.shape, SPEC.dtype)
    for offset in offsets:
        key = stopwatch.key_checksum(x, weights, offset)
        got = probes.checksum(fn(x, probes.stopwatch_positions(x.shape[-2], offset)), weights)
        assert probes.checksums_agree(got, key, scale) is agrees
        if agrees:  # float32 rounding, and the BLAS dot's float32 sums (1e-10 to 1.3e-9 of
            # the scale seen, by CPU): far inside the tolerance
            assert abs(got - key) < probes.CHECK_RTOL * scale / 20
        else:
            assert abs(got - key) > probes.CHECK_RTOL * scale * 5


def test_the_checksum_is_not_linear() -> None:
    """Does the checksum of a sum of outputs differ from the sum of their checksums (so it
    cannot be had by summing heads first, or from a few precomputed numbers per frequency)?"""
    x, weights, _scale = probes.timed_inputs(5, (2, 64, 8), "float32")
    assert probes.checksum(x[0] + x[1], weights[:512]) != pytest.approx(
        probes.checksum(x[0], weights[:512]) + probes.checksum(x[1], weights[:512]))


def test_the_answer_key_as_a_student_is_as_fast_as_itself(run) -> None:
    """Does the answer key, timed as a student's kernel, earn every point, with the spec's
    counted rounds of each, both measured in one process?"""
    record, j = _time(run, apply_rope)
    assert (j.fraction, j.tag) == (1.0, "ok")
    assert record.side_by_side and not record.cut_off
    assert len(record.student_s) == len(record.reference_s) == SPEC.repeats
    assert "both in one timing process" in j.detail


def test_a_vectorised_student_kernel_is_timed_in_the_box(run) -> None:
    """Is a notebook-defined numpy kernel (pickled by value) timed and judged on speed?"""
    record, j = _time(run, student(VECTORISED))
    assert record.side_by_side and record.student_s
    assert j.tag in ("ok", "slow_kernel") and j.fraction > 0


def test_a_python_loop_is_stopped_at_the_limit(run) -> None:
    """Is a Python loop stopped once it has run past ``give_up`` times the reference (its
    time a lower bound), and judged a loop without minutes of waiting?"""
    record, j = _time(run, student(LOOP_ROPE))
    assert record.cut_off and len(record.student_s) == 1
    assert record.ratio >= SPEC.give_up
    assert (j.fraction, j.tag) == (0.0, "far_too_slow")
    assert "was stopped" in j.message


@pytest.mark.parametrize("source", [
    "def apply_rope(x, positions, base=10000.0):\n    return x",
    "def apply_rope(x, positions, base=10000.0):\n    return x[..., :4]",
    HALF_ROPE,
    "def apply_rope(x, positions, base=10000.0):\n"
    "    return key(x, positions).astype(np.float64)",
])
def test_a_fast_wrong_kernel_earns_nothing(run, source) -> None:
    """Does a kernel with a wrong result (its input back, a wrong shape, the other layout,
    float64 for a float32 input) get no speed points?"""
    record, j = _time(run, student(source, key=apply_rope))
    assert record.wrong_output
    assert (j.fraction, j.tag) == (0.0, "wrong_values")


def test_a_cache_of_the_first_result_fails(run) -> None:
    """Does returning the first result again fail, since each round has new positions?"""
    _record, j = _time(run, student(
        "cache = {}\ndef apply_rope(x, positions, base=10000.0):\n"
        "    return cache.setdefault(x.shape, key(x, positions))", key=apply_rope))
    assert (j.fraction, j.tag) == (0.0, "wrong_values")


def test_an_exception_and_a_crash_are_reported(run) -> None:
    """Are an exception (with its message) and a crash of the whole process (os._exit)
    reported as the student's failure, not timed?"""
    _record, j = _time(run, student(
        "def apply_rope(x, positions, base=10000.0):\n    raise ValueError('not yet')"))
    assert (j.fraction, j.tag) == (0.0, "exception")
    assert "ValueError: not yet" in j.message
    record, j = _time(run, student(
        "import os\ndef apply_rope(x, positions, base=10000.0):\n    os._exit(3)"))
    assert (j.fraction, j.tag) == (0.0, "exception")
    assert "crashed" in record.error


def test_printing_and_searching_for_the_key_change_nothing(run) -> None:
    """Does a kernel that prints JSON-like lines and searches the process for the answer key
    still get timed correctly, and find no key (it was dropped before student code loaded)?"""
    probe = VECTORISED.replace("    d = x.shape[-1]\n", (
        "    import gc, sys\n"
        "    print('{\"checksum\": 0.0}'); print('{}', file=sys.stderr)\n"
        "    if any(getattr(o, '__module__', '') == 'answer_key' for o in gc.get_objects()\n"
        "           if callable(o)) or 'solutions' in sys.modules:\n"
        "        raise RuntimeError('found the key')\n"
        "    d = x.shape[-1]\n"))
    record, j = _time(run, student(probe))
    assert not record.error and not record.wrong_output
    assert j.fraction > 0


def test_an_unpicklable_function_falls_back(run) -> None:
    """Is a function that cannot be pickled (it holds a generator) left to the in-kernel
    stopwatch, with None, rather than judged?"""
    gen = (i for i in range(3))
    fn = student("def apply_rope(x, positions, base=10000.0):\n    g\n    return x", g=gen)
    assert _time(run, fn) == (None, None)


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap sandbox")
def test_the_box_runs_in_the_kernels_sandbox(run, tmp_path: Path, monkeypatch) -> None:
    """With a sandboxed kernelspec, does the box run in the same sandbox: timed correctly,
    and unable to see the project (so neither the answer key's file nor the course)? And
    does the grader find the serving process inside it, whose waits for a CPU it reads?"""
    found: list[tuple[int, int | None, object]] = []
    find_server = sidebyside._Box.find_server

    def spy(box: sidebyside._Box) -> None:
        find_server(box)
        server = box.server
        found.append((box.proc.pid, server,
                      None if server is None else sidebyside.procstat.schedstat(server)))

    monkeypatch.setattr(sidebyside._Box, "find_server", spy)
    try:
        sandbox.install(tmp_path, sandbox.kernel_python())
    except sandbox.SandboxUnavailable as exc:
        pytest.skip(str(exc))
    argv = [sys.executable, "-m", "grader.sandbox", str(tmp_path / "sandbox.json"), "{c}"]
    root = Path(__file__).resolve().parent.parent
    probe = VECTORISED.replace("    d = x.shape[-1]\n", (
        "    import os\n"
        f"    if os.path.exists({str(root / 'solutions')!r}):\n"
        "        raise RuntimeError('sees the answer key')\n"
        "    d = x.shape[-1]\n"))
    record, j = _time(run, student(probe), argv)
    assert record is not None and record.side_by_side
    assert not record.error, record.error
    assert j.fraction > 0
    [(root, server, stat)] = found
    assert server is not None and server != root and stat is not None


def _box_processes(box: sidebyside.TimingBox) -> bool:
    """Whether the box's process is still running."""
    return box._box is not None and box._box.proc.poll() is None


def test_a_box_started_ahead_times_later_and_is_gone_after(run) -> None:
    """Does a box started before the student's function exists (as the notebook begins)
    time it correctly once it is handed over, and leave no process behind?"""
    box = sidebyside.TimingBox(ITEM, [])
    assert box._ready.result(timeout=60)  # started, input built, key loaded: nothing timed
    assert _box_processes(box)
    capture._capture(ITEM, apply_rope)
    with box:
        record = box.time(run)
    assert record is not None and record.side_by_side and not record.error
    assert judge(REGISTRY[ITEM], record).fraction == 1.0
    assert box._box.proc.poll() is not None


@pytest.mark.parametrize("wait", [True, False])
def test_an_unused_box_is_ended(run, wait: bool) -> None:
    """A notebook that never reaches its speed cell: is the box ended on close, whether it
    had finished starting or not, and does it then refuse to time anything?"""
    box = sidebyside.TimingBox(ITEM, [])
    if wait:
        assert box._ready.result(timeout=60)
    box.close()
    assert box._ready.done() and not _box_processes(box)
    capture._capture(ITEM, apply_rope)
    assert box.time(run) is None


def test_a_request_is_charged_its_time_off_a_busy_cpu() -> None:
    """The charge of a request: the clock less the serving thread's wait for a CPU, but
    never less than the CPU time of the whole box (to the count's resolution)."""
    tick = sidebyside.procstat.TICK
    assert sidebyside.charged(0.100, 0.060, 0.040) == pytest.approx(0.040)
    assert sidebyside.charged(0.100, 0.000, 0.030) == pytest.approx(0.100)
    assert sidebyside.charged(0.100, 0.090, 0.180) == pytest.approx(0.180 - tick)


HANDED_OFF = '''
def apply_rope(x, positions, base=10000.0):
    import mmap, os
    shared = mmap.mmap(-1, x.nbytes)  # anonymous and shared: the children write, we read
    out = np.frombuffer(shared, dtype=x.dtype).reshape(x.shape)
    pids = []
    for k in range(4):
        pid = os.fork()
        if pid == 0:
            out[k::4] = rotate(x[k::4], positions, base)
            os._exit(0)
        pids.append(pid)
    while pids:  # never sleeps: ready to run all along, so its waits for a CPU would be off
        pids = [pid for pid in pids if os.waitpid(pid, os.WNOHANG) == (0, 0)]
    return out.copy()
'''


def _pickled(fn) -> str:
    return base64.b64encode(cloudpickle.dumps(fn)).decode()


def _box(shape: tuple[int, ...]) -> sidebyside._Box:
    argv, env, _ = sidebyside.box_command([])
    box = sidebyside._Box(argv, env)
    box.ask(None, 60)
    box.find_server()
    assert box.server == box.proc.pid  # no sandbox here: the box is the server
    reply, _ = box.ask({"op": "setup", "seed": 7, "shape": list(shape), "dtype": "float32"}, 60)
    assert reply == {"ok": True}
    return box


def _charges(box: sidebyside._Box, rounds: int) -> tuple[float, float]:
    """The median clock seconds of ``rounds`` calls, and their fastest charged seconds (the
    grader's own measure: each side's fastest round, grader.payload.TimingAnswer.ratio)."""
    clock, charged = [], []
    for k in range(rounds):
        t0 = time.perf_counter()
        reply, seconds = box.ask({"op": "call", "offset": 1 + k}, 60)
        clock.append(time.perf_counter() - t0)
        assert "checksum" in reply, reply
        charged.append(seconds)
    return float(np.median(clock)), float(min(charged))


@pytest.mark.skipif(sidebyside.procstat.schedstat(os.getpid()) is None,
                    reason="this kernel keeps no schedstat")
def test_a_busy_cpu_does_not_slow_the_charged_time() -> None:
    """A CPU hog pinned to the box's core (as when more notebooks are graded at once than
    there are cores): the clock shows the calls taking far longer, the charged time does not
    move much.  And a function that hands its work to child processes while it spins, ready
    to run (so that its own waits for a CPU would be taken off), is not charged less than the
    plain function: the CPU time of the children counts."""
    box = _box((8, 4096, 128))
    try:
        box.ask({"op": "load", "function": _pickled(student(VECTORISED))}, 60)
        _charges(box, 2)  # warm
        idle_clock, idle = _charges(box, 7)
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(box.server, {core})
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            os.sched_setaffinity(hog.pid, {core})
            time.sleep(0.2)
            busy_clock, busy = _charges(box, 7)
        finally:
            hog.kill()
            hog.wait()
        assert busy_clock > 1.25 * idle_clock  # the hog took its share of the core
        assert 0.7 * idle < busy < 1.3 * idle
        os.sched_setaffinity(box.server, os.sched_getaffinity(0))
        handed_off = student(HANDED_OFF, rotate=student(VECTORISED))
        box.ask({"op": "load", "function": _pickled(handed_off)}, 60)
        _charges(box, 1)
        _, handed = _charges(box, 5)
        assert handed > 0.8 * idle
    finally:
        box.close()
