"""The verdict is computed outside the student's kernel, from data, under hard limits."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import sympy as sp

from grader import capture, payload
from grader.items import REGISTRY
from grader.limits import CheckTimeout, call_with_timeout
from grader.payload import NumberAnswer, TextAnswer
from grader.scoring import judge

m, m_l = sp.symbols("m m_l", positive=True)
d = sp.Symbol("d", positive=True, even=True)

SLOW = "(m/m_l)**(d/(d-2)) + (sin(m_l+d)**2+cos(m_l+d)**2-1)*(m+d)**50"


class AlwaysEqual(sp.Symbol):
    """A student's object that claims equality with everything."""

    def __eq__(self, other):
        return True

    __hash__ = sp.Symbol.__hash__


class LyingFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

    def __float__(self):
        return 4.088994243


def test_eq_override_is_judged_wrong() -> None:
    """Is a captured object whose __eq__ always returns True still judged wrong?"""
    cheat = AlwaysEqual("m")
    assert cheat == (m / m_l) ** (d / (d - 2))  # it lies in the kernel...
    j = judge(REGISTRY["lam_solution"], capture.capture_value(cheat))
    assert j.fraction == 0  # ...but only its srepr text crossed over, and that is rejected


def test_float_subclass_is_not_taken_as_a_number() -> None:
    """Is a float subclass that lies about its value refused instead of converted?"""
    answer = capture.capture_value(LyingFloat(1.0))
    assert isinstance(answer, payload.UnsupportedAnswer)
    assert judge(REGISTRY["lam_4096_16384_d128"], answer).fraction == 0


def test_array_subclass_output_is_refused() -> None:
    """Is an ndarray subclass returned by a student's kernel refused (no __array__ tricks)?"""
    class Sneaky(np.ndarray):
        pass

    def fn(d, base=10000.0):
        return (base ** (-2.0 * np.arange(d // 2) / d)).view(Sneaky)

    j = judge(REGISTRY["rope_frequencies"], capture._capture("rope_frequencies", fn))
    assert (j.fraction, j.tag) == (0.0, "wrong_type")


def test_payload_carries_no_verdict() -> None:
    """Are score or verdict fields smuggled into a capture ignored?"""
    data = payload.to_json(TextAnswer("m/m_l"))
    data.update({"score": 3, "verdict": "correct", "tag": "ok"})
    j = judge(REGISTRY["lam_solution"], payload.from_json(json.loads(json.dumps(data))))
    assert (j.fraction, j.tag) == (0.0, "pi_factor")


@pytest.mark.parametrize("bad", [
    {"kind": "number", "value": "4.0889"}, {"kind": "bool", "value": 1},
    {"kind": "calls", "calls": [{"output": "AAAA", "error": "", "returned_type": "x",
                                 "input_modified": False}]},
    {"kind": "eval", "code": "__import__('os')"}, [], {"kind": "timing", "ratio_to_copy": 1.0},
])
def test_malformed_payloads_are_refused(bad) -> None:
    """Is a tampered or malformed capture refused with PayloadError, never executed?"""
    with pytest.raises(payload.PayloadError):
        payload.from_json(bad)


def test_pathological_expression_hits_the_hard_limit() -> None:
    """Does an answer that cannot be checked in time get 'too complex', without hanging?"""
    t0 = time.perf_counter()
    j = judge(REGISTRY["lam_solution"], TextAnswer(SLOW), seconds=0.2)
    assert (j.fraction, j.tag) == (0.0, "too_complex")
    assert time.perf_counter() - t0 < 3.0


def test_slow_proof_falls_back_to_numeric_agreement(monkeypatch) -> None:
    """Is a right answer whose proof times out accepted on 30-digit agreement, and said so?"""
    from grader import equivalence

    monkeypatch.setattr(equivalence, "PROOF_SECONDS", 0.05)
    j = judge(REGISTRY["lam_solution"], TextAnswer(SLOW), seconds=20)
    assert (j.fraction, j.tag, j.detail) == (1.0, "ok", "equivalence: numeric")


def test_time_limit_works_off_the_main_thread() -> None:
    """Is the hard limit enforced from outside, also when called from a worker thread?"""
    from concurrent.futures import ThreadPoolExecutor

    def spin() -> None:
        while True:
            pass

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(call_with_timeout, spin, seconds=0.3)
        with pytest.raises(CheckTimeout):
            future.result(timeout=10)


def test_number_answers_are_plain_data() -> None:
    """Does a numpy scalar become a plain float in the capture?"""
    answer = capture.capture_value(np.float32(4.089))
    assert isinstance(answer, NumberAnswer) and type(answer.value) is float


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_travel_as_data(value) -> None:
    """Do NaN and infinities survive strict JSON and get judged wrong, not 'tampered'?"""
    text = json.dumps(payload.to_json(capture.capture_value(value)), allow_nan=False)
    j = judge(REGISTRY["lam_4096_16384_d128"], payload.from_json(json.loads(text)))
    assert (j.fraction, j.tag) == (0.0, "wrong_value")


def _batch_call(kind: str) -> str:
    import os

    if kind == "spin":
        while True:
            pass
    if kind == "die":
        os._exit(3)
    if kind == "raise":
        raise ValueError("bad input")
    if kind == "unpicklable":
        return lambda: None  # type: ignore[return-value]
    if kind == "burn":  # 0.3 s of CPU time, however long the clock says it took
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
    if kind == "wait":  # no CPU time at all
        time.sleep(30)
    return kind.upper()


def test_one_checking_process_charges_each_failure_to_its_own_call() -> None:
    """In a batch judged in one child, does a call that hangs, kills the child, raises or
    returns something unpicklable fail alone, with every other call still answered, in
    order?"""
    from grader.limits import run_each

    kinds = ["a", "spin", "b", "die", "c", "raise", "unpicklable", "d"]
    t0 = time.perf_counter()
    got = [(o.status, o.value, o.message.split(":")[0])
           for o in run_each(_batch_call, [(k,) for k in kinds], seconds=0.5)]
    assert got == [("ok", "A", ""), ("timeout", None, "no result within 0.5 s"),
                   ("ok", "B", ""), ("crashed", None, "the checking process died (exit code 3)"),
                   ("ok", "C", ""), ("error", None, "ValueError"),
                   ("crashed", None, "unpicklable result"), ("ok", "D", "")]
    assert time.perf_counter() - t0 < 5.0


def test_a_worker_fed_one_call_at_a_time_charges_each_failure_to_its_own_call() -> None:
    """The same with calls sent one at a time to a forked worker (as answers arrive while a
    notebook runs): every failure alone, the next call served by a fresh child, the child
    forked once while nothing fails, and gone after close."""
    from grader.limits import Worker

    worker = Worker(_batch_call, seconds=0.5)
    kinds = ["a", "b", "spin", "c", "die", "raise", "unpicklable", "d"]
    got, pids = [], []
    t0 = time.perf_counter()
    for kind in kinds:
        o = worker.call(kind)
        got.append((o.status, o.value, o.message.split(":")[0]))
        pids.append(worker._proc.pid if worker._proc is not None else None)
    assert got == [("ok", "A", ""), ("ok", "B", ""), ("timeout", None, "no result within 0.5 s"),
                   ("ok", "C", ""), ("crashed", None, "the checking process died (exit code 3)"),
                   ("error", None, "ValueError"), ("crashed", None, "unpicklable result"),
                   ("ok", "D", "")]
    assert pids[0] == pids[1] and pids[2] is None and pids[4] is None
    assert pids[5] == pids[6] == pids[7] not in (pids[0], pids[3])
    proc = worker._proc
    worker.close()
    assert not proc.is_alive() and proc.exitcode == 0
    assert time.perf_counter() - t0 < 6.0


def test_batched_judgements_equal_one_by_one() -> None:
    """Does judging a batch in one process give exactly the judgements of one process per
    answer (caches shared in the child change nothing), a too-complex answer included?"""
    from grader.scoring import judge_all

    pending = [(REGISTRY["lam_solution"], TextAnswer("(m/m_l)**(d/(d-2))")),
               (REGISTRY["lam_solution"], TextAnswer(SLOW)),
               (REGISTRY["lam_solution"], TextAnswer("m/m_l")),
               (REGISTRY["lam_4096_16384_d128"], NumberAnswer(4.088994243))]
    batch = judge_all(pending, seconds=0.5)
    assert batch == [judge(item, answer, seconds=0.5) for item, answer in pending]
    assert [(j.fraction, j.tag) for j in batch] == [
        (1.0, "ok"), (0.0, "too_complex"), (0.0, "pi_factor"), (1.0, "ok")]


def test_the_limit_counts_the_checks_cpu_time_not_a_busy_clock() -> None:
    """A check that needs 0.3 s of CPU time, under a 0.5 s limit, while its process is held
    off the CPU for 1.2 s (as on a machine grading more notebooks than it has cores): is it
    answered, not called too complex? And is a call that spins still stopped after its 0.5 s,
    and one that only waits stopped by the wall-clock backstop, with a message saying so?"""
    import os
    import signal
    import threading

    from grader import limits
    from grader.limits import Worker

    worker = Worker(_batch_call, seconds=0.5)
    assert worker.call("a").value == "A"
    pid = worker._proc.pid

    def hold_off() -> None:
        time.sleep(0.05)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(1.2)
        os.kill(pid, signal.SIGCONT)

    holder = threading.Thread(target=hold_off)
    t0 = time.perf_counter()
    holder.start()
    burnt = worker.call("burn")
    holder.join()
    assert (burnt.status, burnt.value) == ("ok", "BURN")
    assert time.perf_counter() - t0 > 1.2  # it did take longer than its limit on the clock

    t0 = time.perf_counter()
    spun = worker.call("spin")
    assert (spun.status, spun.message) == ("timeout", "no result within 0.5 s")
    assert 0.45 < time.perf_counter() - t0 < 0.5 * limits.WALL_FACTOR

    t0 = time.perf_counter()
    waited = worker.call("wait")
    took = time.perf_counter() - t0
    assert waited.status == "timeout"
    assert waited.message.startswith(f"no result within {0.5 * limits.WALL_FACTOR:g} s on the "
                                     "clock, ")
    assert 0.5 * limits.WALL_FACTOR <= took < 0.5 * limits.WALL_FACTOR + 2
    worker.close()
