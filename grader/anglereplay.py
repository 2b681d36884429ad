"""Follow-through for rotations built on the student's own ``rope_angles``, whatever its slip.

The notebook suggests building the rotation table from ``rope_angles``, so a slip there (a
base argument ignored, positions cut to integers) shows in both rotations and in
``rope_score`` too. Among its probes, ``rope_angles`` is called, base named, at the positions,
``d`` and base of every probe of ``apply_rope``, ``apply_rope_half`` and ``rope_score``
(:func:`grader.probes.angles_needed`), so the grader knows the student's angles there. A
rotation that returns, on every probe, the key's rotation by those angles is right for the
student's own ``rope_angles`` and is carried (:mod:`grader.carry`); one with a slip of its
own, or one that computes its angles some other way, does not return that. Angles under
which no pair turns (all zero, say) carry nothing: a copy of ``x`` is the rotation by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from grader import probes
from grader.kernels import matches
from grader.mutants import rotate
from grader.payload import Answer, CallsAnswer
from grader.replay import DEFAULT_BASE, MIN_TURN

ANGLES = "rope_angles"
LAYOUTS = {"apply_rope": "interleaved", "apply_rope_half": "half"}

Key = tuple[tuple[float, ...], int, float]


def _base(probe: probes.Probe) -> float:
    return float(probe.kwargs.get("base", DEFAULT_BASE))


def _key(probe: probes.Probe) -> Key:
    positions = probes.build(probe.args[0])
    return (tuple(float(p) for p in np.asarray(positions, np.float64)), int(probe.args[1]),
            _base(probe))


def captured_angles(answer: Answer) -> dict[Key, np.ndarray]:
    """What the student's ``rope_angles`` returned at the probes that name the base, keyed
    by (positions, d, base); empty unless all are finite and some angle turns."""
    if not isinstance(answer, CallsAnswer):
        return {}
    found: dict[Key, np.ndarray] = {}
    for probe, call in zip(probes.KERNEL_PROBES[ANGLES], answer.calls):
        if "base" in probe.kwargs and call.output is not None:
            found[_key(probe)] = np.asarray(call.output, np.float64)
    with np.errstate(all="ignore"):
        if not found or not all(np.all(np.isfinite(a)) for a in found.values()) or max(
                float(np.max(np.abs(a), initial=0.0)) for a in found.values()) <= MIN_TURN:
            return {}
    return found


def follows_own_angles(item_id: str, answer: Answer, upstream_id: str,
                       answers: Mapping[str, tuple[Answer, Any]]) -> bool:
    """Is ``answer`` right for the student's own ``rope_angles``, reached through the wrong
    upstream ``upstream_id``: rope_angles itself (a rotation), or an apply_rope built on it
    (``rope_score``)?"""
    through = (upstream_id == ANGLES and item_id in LAYOUTS) or (
        item_id, upstream_id) == ("rope_score", "apply_rope")
    if not through or ANGLES not in answers or not isinstance(answer, CallsAnswer):
        return False
    captured = captured_angles(answers[ANGLES][0])
    plan = probes.KERNEL_PROBES[item_id]
    if not captured or len(answer.calls) != len(plan):
        return False
    for probe, call in zip(plan, answer.calls):
        try:
            tables = [captured[_key(p)] for p in probes.angles_needed(item_id, probe)]
            expected = _rebuilt(item_id, probe, tables)
        except (KeyError, ValueError):  # not captured, or angles of the wrong shape
            return False
        if not matches(call.output, expected):
            return False
    return True


def _rebuilt(item_id: str, probe: probes.Probe, tables: list[np.ndarray]) -> np.ndarray:
    """The key's ``item_id`` on ``probe`` with the rotation angles ``tables``."""
    args = probes.call_args(probe)[0]
    if item_id in LAYOUTS:
        return rotate(args[0], tables[0], LAYOUTS[item_id])
    q, k = (np.asarray(v, np.float64)[None] for v in args[:2])
    return np.asarray(float(rotate(q, tables[0], "interleaved")[0]
                            @ rotate(k, tables[1], "interleaved")[0]))
