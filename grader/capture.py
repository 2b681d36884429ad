"""The only grader code that runs inside a student's kernel: turn an answer into data.

A hidden test cell calls ``grade("item_id", answer)``.  Nothing here decides a grade: the
answer is captured as data (``srepr`` text, numbers, arrays of outputs on probe inputs)
and emitted as a display output with :data:`grader.payload.MIME`.  The grader reads it
after execution, in its own clean process.  Imports: the standard library, numpy, and
the kernel-safe modules :mod:`grader.payload`, :mod:`grader.probes` and :mod:`grader.rebase`.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from grader import payload as P
from grader import probes, rebase

_MAX_ITEMS = 64
_TIMED: dict[str, Any] = {}
"""Speed items' functions, handed over by ``grade``; the grader times them from outside."""
_STOPWATCH: dict[str, tuple[np.ndarray, np.ndarray]] = {}
"""The timed input and the checksum weights, per speed item."""


def grade(item: str, answer: Any) -> None:
    """Capture ``answer`` for ``item`` and emit it for the grader (no verdict here)."""
    try:
        captured = _capture(item, answer)
    except Exception as exc:  # never let capture itself fail the cell
        captured = P.UnsupportedAnswer(type(answer).__name__, f"capture failed: {exc}"[:300])
    _emit(item, captured)


def _capture(item: str, answer: Any) -> P.Answer:
    if item in probes.TIMINGS:
        return _hand_over(item, answer)
    if item in probes.KERNEL_PROBES:
        return _call_probes(answer, probes.KERNEL_PROBES[item])
    return capture_value(answer)


def capture_value(value: Any, depth: int = 0) -> P.Answer:
    """Encode a plain answer; exact type checks, so subclasses cannot pose as numbers."""
    t = type(value)
    if t is bool or t is np.bool_:
        return P.BoolAnswer(bool(value), _type_label(t))
    if t in (int, float) or _numpy_number(value):
        return P.NumberAnswer(float(value), _type_label(t))
    if t is str:
        return P.TextAnswer(value[: P.MAX_TEXT])
    if t in (list, tuple) and depth < 2:
        return P.SequenceAnswer(tuple(capture_value(v, depth + 1) for v in value[:_MAX_ITEMS]),
                                t.__name__)
    if t is np.ndarray and value.ndim == 1 and value.size <= _MAX_ITEMS and depth < 2:
        return P.SequenceAnswer(tuple(capture_value(v, depth + 1) for v in value),
                                "numpy.ndarray")
    if t.__module__.startswith("sympy"):
        import sympy  # imported lazily: only answers that are sympy objects need it

        text = sympy.srepr(value)
        return P.SympyAnswer(text[: P.MAX_TEXT], t.__name__)
    return P.UnsupportedAnswer(t.__name__, "not a sympy expression, number, string or list")


def _type_label(t: type) -> str:
    """A class name for messages, numpy's prefixed (``numpy.bool``: numpy 2 names it bool)."""
    return f"numpy.{t.__name__}" if t.__module__ == "numpy" else t.__name__


_MAX_INDEX = 1 << 16
"""the longest list of integers a function may return in place of an index array"""


def _numpy_number(value: Any) -> bool:
    """A genuine numpy scalar (not a student subclass posing as one)."""
    return type(value).__module__ == "numpy" and isinstance(value, (np.integer, np.floating))


def _call_probes(fn: Any, plan: tuple[probes.Probe, ...]) -> P.Answer:
    if not callable(fn):
        return P.UnsupportedAnswer(type(fn).__name__, "expected a function")
    outcomes = []
    for probe in plan:
        args, kwargs = probes.call_args(probe)
        before = [_snapshot(a) for a in args]
        try:
            with rebase.rebased(fn, probe.rebase):
                out = fn(*args, **kwargs)
        except (Exception, rebase.Overrun) as exc:
            outcomes.append(P.CallOutcome(None, error=f"{type(exc).__name__}: {exc}"[:300]))
            continue
        modified = any(b is not None and _snapshot(a) != b for a, b in zip(args, before))
        outcomes.append(P.CallOutcome(_as_array(out), returned_type=_type_name(out),
                                      input_modified=modified))
    return P.CallsAnswer(tuple(outcomes))


def _snapshot(a: Any) -> tuple[tuple[int, ...], str, bytes] | None:
    """An input array's shape, dtype and bytes, taken with ndarray's own methods (not numpy
    functions that the student's code may have replaced, as ``np.array_equal`` can be);
    None for anything else."""
    if type(a) is not np.ndarray:
        return None
    return a.shape, a.dtype.str, a.tobytes()


def _type_name(out: Any) -> str:
    """The returned value's type, with the dtype of an array (``ndarray[complex128]``)."""
    if type(out) is np.ndarray:
        return f"ndarray[{out.dtype.name}]"[:40]
    return type(out).__name__


def _as_array(out: Any) -> np.ndarray | None:
    t = type(out)
    if t is np.ndarray and out.dtype.kind in "biuf":
        return out
    if t in (int, float) or _numpy_number(out):
        return np.asarray(out)
    if t in (list, tuple) and len(out) <= _MAX_INDEX and all(
            type(v) is int or (_numpy_number(v) and isinstance(v, np.integer)) for v in out):
        return np.asarray(out, dtype=np.int64)  # an index list; the check decides if it may be
    return None


def _hand_over(item: str, fn: Any) -> P.Answer:
    """Keep a speed item's function for the grader's stopwatch (nothing is timed here)."""
    if not callable(fn):
        return P.UnsupportedAnswer(type(fn).__name__, "expected a function")
    _TIMED[item] = fn
    return P.CallsAnswer(())


def stopwatch_setup(item: str, seed: int, shape: tuple[int, ...], dtype: str) -> None:
    """Build the timed input and the checksum weights (not timed).  Called by the grader."""
    _STOPWATCH.pop(item, None)
    _STOPWATCH[item] = probes.timed_arrays(seed, tuple(shape), dtype)


def stopwatch_call(item: str, offset: int) -> None:
    """One timed call: rotate the input at positions from ``offset`` and emit the checksum of
    the result.  The grader's clock runs around this whole request."""
    x, weights = _STOPWATCH[item]
    try:
        out = _TIMED[item](x, probes.stopwatch_positions(x.shape[-2], offset))
        outcome = P.CallOutcome(np.asarray(probes.checksum(out, weights)),
                                returned_type=type(out).__name__)
    except Exception as exc:
        outcome = P.CallOutcome(None, error=f"{type(exc).__name__}: {exc}"[:300])
    _emit(item, P.CallsAnswer((outcome,)))


_MAX_EXPORT = 3 << 20
"""Largest pickled function handed to the timing box (base64 stays within a cell's output
budget); a bigger one is timed in the kernel instead."""


def stopwatch_export(item: str) -> None:
    """Emit a speed item's function, pickled by cloudpickle (with whatever it uses from the
    notebook), for the grader's timing box (:mod:`grader.sidebyside`)."""
    data: dict[str, Any] = {"item": item}
    try:
        import cloudpickle

        blob = cloudpickle.dumps(_TIMED[item])
    except Exception as exc:
        data["export_error"] = f"{type(exc).__name__}: {exc}"[:300]
    else:
        if len(blob) <= _MAX_EXPORT:
            data["function"] = base64.b64encode(blob).decode("ascii")
        else:
            data["export_error"] = f"{len(blob)} bytes pickled"
    _display({P.MIME: data, "text/plain": f"function for {item!r} handed to the grader"})


def stopwatch_done(item: str) -> None:
    """Free the timed arrays."""
    _STOPWATCH.pop(item, None)


def _emit(item: str, answer: P.Answer) -> None:
    _display({P.MIME: {"item": item, "answer": P.to_json(answer)},
              "text/plain": f"answer for {item!r} recorded for grading"})


def _display(data: dict[str, Any]) -> None:
    try:
        from IPython.display import display
    except ImportError:  # outside Jupyter: print the plain-text form only
        print(data["text/plain"])
        return
    display(data, raw=True)
