"""Captured answers as data: the only thing that crosses from a student kernel to the grader.

The kernel side (:mod:`grader.capture`) encodes; the grader side decodes into the small
typed answers below.  Encoding never keeps a live object: sympy becomes ``srepr`` text,
numbers become plain floats, arrays become ``.npy`` bytes loaded with ``allow_pickle=False``.
This module imports only the standard library and numpy, so it is safe in a student kernel.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

MIME = "application/vnd.rope-course.capture+json"
"""The MIME type of a capture in a notebook cell's outputs."""

MAX_TEXT = 20_000
"""Longest text kept from a student answer (srepr or string), in characters."""


@dataclass(frozen=True)
class SympyAnswer:
    """A sympy object, as its ``srepr`` text."""

    srepr: str
    """``sympy.srepr`` of the student's object"""
    type_name: str
    """its class name in the kernel, for messages"""


@dataclass(frozen=True)
class TextAnswer:
    """A string typed by the student."""

    text: str
    """the raw string"""


@dataclass(frozen=True)
class NumberAnswer:
    """A plain real number (int, float or numpy scalar)."""

    value: float
    """the number as a Python float"""
    type_name: str = ""
    """its class name in the kernel (``float``, ``float32``, ``int``, ...), for messages"""


@dataclass(frozen=True)
class BoolAnswer:
    """A True/False decision."""

    value: bool
    """the decision"""
    type_name: str = ""
    """its class name in the kernel (``bool`` or numpy's ``bool``/``bool_``), for messages"""


@dataclass(frozen=True)
class SequenceAnswer:
    """A list or tuple of answers."""

    items: tuple[Answer, ...]
    """the elements, each captured on its own"""
    type_name: str = ""
    """the container's class name in the kernel (``list``, ``tuple``, ``ndarray``)"""


@dataclass(frozen=True)
class CallOutcome:
    """What one call of a student's function on grader-chosen inputs produced."""

    output: np.ndarray | None
    """the returned array (None when the call raised or returned a non-array)"""
    error: str = ""
    """``"TypeName: message"`` when the call raised"""
    returned_type: str = ""
    """the class name of what was returned"""
    input_modified: bool = False
    """True when the call changed one of its array inputs in place"""


@dataclass(frozen=True)
class CallsAnswer:
    """The outcomes of calling a student's function on every probe of its item."""

    calls: tuple[CallOutcome, ...]
    """one outcome per probe, in probe order"""


@dataclass(frozen=True)
class TimingAnswer:
    """The grader's own measurement of a student's kernel (:mod:`grader.stopwatch`).

    Never sent by a kernel: the grader's clock ran around each call, and the grader checked
    each timed result's checksum against the answer key's on the same input."""

    student_s: tuple[float, ...]
    """seconds per timed call of the student's function (grader's clock, whole request)"""
    reference_s: tuple[float, ...]
    """seconds per call of the answer key on the same inputs, interleaved with them"""
    shape: tuple[int, ...] = ()
    """the shape of the timed input"""
    scale: float = 1.0
    """above 1 when only the small screening input was timed: the student's time times this
    estimates the full workload, which the reference times were measured on"""
    wrong_output: bool = False
    """a timed result's checksum disagreed with the answer key's"""
    error: str = ""
    """``"TypeName: message"`` when a timed call raised, or why timing stopped"""
    cut_off: bool = False
    """a call ran past ``give_up`` times the reference and was stopped: the student's one
    time is a lower bound"""
    side_by_side: bool = False
    """both were timed in one process (:mod:`grader.sidebyside`), not the student's in their
    kernel and the key's in the grader (:mod:`grader.stopwatch`)"""
    seed: int = -1
    """the seed of the timed input (:func:`grader.probes.timed_inputs`), kept with ``rounds``"""
    rounds: tuple[tuple[int, float], ...] = ()
    """``(offset, checksum)`` of each of the student's timed calls, kept when they disagreed
    with the key's: a function right for the student's own earlier answers (carried) is
    checked against those instead (:mod:`grader.speedcarry`)"""

    @property
    def ratio(self) -> float:
        """The student's fastest round over the reference's (estimated when screened).
        Each side's best: whatever else the machine does only ever adds time to a round,
        so the fastest is the steadiest measure of the kernel's own cost (as timeit's)."""
        if not self.student_s or not self.reference_s:
            return float("nan")
        return float(min(self.student_s) * self.scale / max(min(self.reference_s), 1e-9))


@dataclass(frozen=True)
class UnsupportedAnswer:
    """Something that cannot be graded as data (a class instance, a module, ...)."""

    type_name: str
    """its class name"""
    reason: str = ""
    """why it could not be captured"""


Answer = Union[  # noqa: UP007 -- evaluated at runtime on Python 3.10
    SympyAnswer, TextAnswer, NumberAnswer, BoolAnswer, SequenceAnswer, CallsAnswer,
    TimingAnswer, UnsupportedAnswer,
]


def encode_array(a: np.ndarray) -> str:
    """Serialise an array as base64 ``.npy`` bytes."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(a, order="C"), allow_pickle=False)  # keeps 0-d arrays 0-d
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_array(text: str) -> np.ndarray:
    """Load an array from :func:`encode_array` text; object arrays are refused."""
    return np.load(io.BytesIO(base64.b64decode(text.encode("ascii"))), allow_pickle=False)


def to_json(answer: Answer) -> dict[str, Any]:
    """Encode an answer as JSON-able data."""
    if isinstance(answer, SequenceAnswer):
        return {"kind": "sequence", "items": [to_json(a) for a in answer.items],
                "type_name": answer.type_name}
    if isinstance(answer, CallsAnswer):
        return {"kind": "calls", "calls": [
            {"output": None if c.output is None else encode_array(c.output), "error": c.error,
             "returned_type": c.returned_type, "input_modified": c.input_modified}
            for c in answer.calls]}
    if isinstance(answer, TimingAnswer):
        return {"kind": "timing", "student_s": list(answer.student_s),
                "reference_s": list(answer.reference_s), "shape": list(answer.shape),
                "scale": answer.scale, "wrong_output": answer.wrong_output,
                "error": answer.error, "cut_off": answer.cut_off,
                "side_by_side": answer.side_by_side, "seed": answer.seed,
                "rounds": [[offset, _num_out(value)] for offset, value in answer.rounds]}
    if isinstance(answer, NumberAnswer):
        return {"kind": "number", "value": _num_out(answer.value),
                "type_name": answer.type_name}
    kinds = {SympyAnswer: "sympy", TextAnswer: "text", NumberAnswer: "number",
             BoolAnswer: "bool", UnsupportedAnswer: "unsupported"}
    return {"kind": kinds[type(answer)], **answer.__dict__}


class PayloadError(ValueError):
    """A capture payload is malformed (tampered with, or truncated)."""


def from_json(data: Any) -> Answer:
    """Decode :func:`to_json` data, validating every field's type."""
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise PayloadError("a capture must be an object with a 'kind'")
    kind = data["kind"]
    try:
        if kind == "sympy":
            return SympyAnswer(_str(data["srepr"]), _str(data["type_name"]))
        if kind == "text":
            return TextAnswer(_str(data["text"]))
        if kind == "number":
            return NumberAnswer(_num_in(data["value"]), _str(data.get("type_name", "")))
        if kind == "bool":
            return BoolAnswer(_typed(data["value"], (bool,)), _str(data.get("type_name", "")))
        if kind == "sequence":
            return SequenceAnswer(tuple(from_json(x) for x in _typed(data["items"], (list,))),
                                  _str(data.get("type_name", "")))
        if kind == "calls":
            return CallsAnswer(tuple(_call(c) for c in _typed(data["calls"], (list,))))
        if kind == "timing":
            return TimingAnswer(
                tuple(_num_in(t) for t in _typed(data["student_s"], (list,))),
                tuple(_num_in(t) for t in _typed(data["reference_s"], (list,))),
                tuple(_typed(n, (int,)) for n in _typed(data["shape"], (list,))),
                _num_in(data["scale"]), _typed(data["wrong_output"], (bool,)),
                _str(data["error"]), _typed(data.get("cut_off", False), (bool,)),
                _typed(data.get("side_by_side", False), (bool,)),
                _typed(data.get("seed", -1), (int,)),
                tuple((_typed(r[0], (int,)), _num_in(r[1]))
                      for r in _typed(data.get("rounds", []), (list,))))
        if kind == "unsupported":
            return UnsupportedAnswer(_str(data["type_name"]), _str(data.get("reason", "")))
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise PayloadError(f"malformed '{kind}' capture: {exc}") from exc
    raise PayloadError(f"unknown capture kind {kind!r}")


def _call(c: Any) -> CallOutcome:
    out = _typed(c["output"], (str, type(None)))
    return CallOutcome(
        output=None if out is None else decode_array(out),
        error=_str(c["error"]),
        returned_type=_str(c["returned_type"]),
        input_modified=_typed(c["input_modified"], (bool,)),
    )


_NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def _num_out(x: float) -> float | str:
    """JSON has no NaN or infinity (Jupyter's encoder would mangle them): spell them."""
    return x if np.isfinite(x) else repr(float(x))


def _num_in(value: Any) -> float:
    if type(value) is str and value in _NON_FINITE:
        return _NON_FINITE[value]
    return float(_typed(value, (int, float)))


def _typed(value: Any, types: tuple[type, ...]) -> Any:
    if type(value) not in types:  # exact types: JSON gives no subclasses, tampering might
        raise TypeError(f"expected {'/'.join(t.__name__ for t in types)}, "
                        f"got {type(value).__name__}")
    return value


def _str(value: Any) -> str:
    return _typed(value, (str,))[:MAX_TEXT]


def dumps(item: str, answer: Answer) -> str:
    """The JSON text of one capture, tagged with its item id."""
    return json.dumps({"item": item, "answer": to_json(answer)})
