"""Follow-through for kernels built on the student's own ``rope_frequencies``, whatever its
slip: the key's later kernels, rebuilt on the frequencies the student's function returned.

Known slips have mutants (:mod:`grader.mutants`); any other wrong ``rope_frequencies`` (an
exponent over ``d - 2``, a base argument ignored) is replayed instead. Among its probes,
``rope_frequencies`` is called, base named, at every ``(d, base)`` that a later kernel's
probes need (tests/test_replay.py keeps the two lists in step), so the grader knows what
the student's frequencies are there. A later kernel that returns, on every probe, what the
key's returns with those frequencies is right for the student's own ``rope_frequencies``
and is carried (:mod:`grader.carry`). One that computes its frequencies some other way, or
has a slip of its own, does not return that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from grader import probes
from grader.kernels import matches, split_calls
from grader.mutants import rotate
from grader.payload import Answer, CallsAnswer

UPSTREAM = "rope_frequencies"
DEFAULT_BASE = 10_000.0
"""the base of a probe that names none (the notebook's default)"""

Frequencies = Callable[[int, float], np.ndarray]


class _Unknown(Exception):
    """The student's frequencies at these arguments were not captured."""


def _arguments(item_id: str, probe: probes.Probe) -> tuple[int, float | None]:
    """The ``d`` of a call of ``item_id`` on ``probe``, and the base it names (None: the
    default)."""
    args = probes.call_args(probe)[0]
    if item_id in ("apply_rope", "apply_rope_half", "rope_score"):
        d, base_at = args[0].shape[-1], None
    elif item_id == "rope_angles":
        d, base_at = args[1], 2
    else:  # wavelengths, rope_frequencies: d first, and the latter's base may follow it
        d, base_at = args[0], 1 if item_id == UPSTREAM else None
    named = probe.kwargs.get("base", args[base_at] if base_at is not None and len(args) > base_at
                             else None)
    return int(d), None if named is None else float(named)


def frequency_args(item_id: str, probe: probes.Probe) -> tuple[int, float]:
    """The ``(d, base)`` at which a call of ``item_id`` on ``probe`` needs the frequencies."""
    d, named = _arguments(item_id, probe)
    return d, DEFAULT_BASE if named is None else named


def captured_frequencies(answer: Answer) -> dict[tuple[int, float], np.ndarray]:
    """What the student's ``rope_frequencies`` returned, keyed by ``(d, base)``, from its
    probes that name the base (a default base is the student's own choice)."""
    if not isinstance(answer, CallsAnswer):
        return {}
    found = {}
    for probe, call in zip(probes.KERNEL_PROBES[UPSTREAM], answer.calls):
        d, named = _arguments(UPSTREAM, probe)
        if call.output is not None and named is not None:
            found[(d, named)] = np.asarray(call.output, np.float64)
    return found


def _built_on(item_id: str, theta: Frequencies) -> Callable[..., Any] | None:
    """The key's ``item_id`` computed from the frequencies ``theta(d, base)``."""
    def angles(positions: Any, d: int, base: float) -> np.ndarray:
        return np.asarray(positions, np.float64)[:, None] * theta(d, base)[None, :]

    kernels: dict[str, Callable[..., Any]] = {
        "rope_angles": lambda positions, d, base=DEFAULT_BASE: angles(positions, d, base),
        "apply_rope": lambda x, positions, base=DEFAULT_BASE: rotate(
            x, angles(positions, x.shape[-1], base), "interleaved"),
        "apply_rope_half": lambda x, positions, base=DEFAULT_BASE: rotate(
            x, angles(positions, x.shape[-1], base), "half"),
        "wavelengths": lambda d, base=DEFAULT_BASE: 2 * np.pi / theta(d, base),
        "rope_score": lambda q, k, p, r, base=DEFAULT_BASE: float(
            rotate(np.asarray(q, np.float64)[None], angles([p], len(q), base), "interleaved")[0]
            @ rotate(np.asarray(k, np.float64)[None], angles([r], len(k), base),
                     "interleaved")[0]),
    }
    return kernels.get(item_id)


def follows_own_frequencies(item_id: str, answer: Answer, upstream_id: str,
                            answers: Mapping[str, tuple[Answer, Any]]) -> bool:
    """Is ``answer`` right for the student's own ``rope_frequencies``, reached through the
    wrong upstream ``upstream_id``: rope_frequencies itself, or (for ``rope_score``) an
    apply_rope built on it?"""
    through = upstream_id == UPSTREAM or (item_id, upstream_id) == ("rope_score", "apply_rope")
    return through and UPSTREAM in answers and built_on_own_frequencies(
        item_id, answer, answers[UPSTREAM][0])


def built_on_own_frequencies(item_id: str, answer: Answer, upstream: Answer) -> bool:
    """Does ``answer`` (calls of ``item_id``) return, on every probe, what the key's kernel
    returns on the frequencies the student's ``rope_frequencies`` (``upstream``) gave?"""
    captured = captured_frequencies(upstream)
    if not isinstance(answer, CallsAnswer) or not captured or len(answer.calls) != len(
            probes.KERNEL_PROBES[item_id]):
        return False

    def theta(d: int, base: float) -> np.ndarray:
        key = (int(d), float(base))
        if key not in captured:
            raise _Unknown(key)
        return captured[key]

    kernel = _built_on(item_id, theta)
    plan, calls, _ = split_calls(item_id, answer)
    if kernel is None or not plan:
        return False
    for probe, call in zip(plan, calls):
        args, kwargs = probes.call_args(probe)
        try:
            with np.errstate(all="ignore"):
                expected = np.asarray(kernel(*args, **kwargs))
        except Exception:  # not captured, or frequencies of the wrong shape: nothing shown
            return False
        if not matches(call.output, expected):
            return False
    return True
