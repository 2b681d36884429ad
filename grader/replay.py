"""Follow-through for kernels built on the student's own ``rope_frequencies``, whatever its
slip: the key's later kernels, rebuilt on the frequencies the student's function returned.

Known slips have mutants (:mod:`grader.mutants`); any other wrong ``rope_frequencies`` (an
exponent over ``d - 2``, a base argument ignored) is replayed instead. Among its probes,
``rope_frequencies`` is called, base named, at every ``(d, base)`` that a later kernel's
probes need (tests/test_replay.py keeps the two lists in step), so the grader knows what
the student's frequencies are there. A later kernel that returns, on every probe, what the
key's returns with those frequencies is right for the student's own ``rope_frequencies``
and is carried (:mod:`grader.carry`). One that computes its frequencies some other way, or
has a slip of its own, does not return that. ``find_lambda`` bisects the last period over a
continuum of bases: its replay reads the power of the base in the student's last frequency
from two or more captured bases (:func:`last_power`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from grader import probes
from grader.items import REGISTRY
from grader.kernels import KernelCheck, matches, split_calls
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


MIN_TURN = 1e-3
"""Frequencies whose fastest pair turns less than this (radians per position) rotate nothing
that shows: built on them, a rotation is the identity (``x.copy()``), which proves no work."""


def captured_frequencies(answer: Answer) -> dict[tuple[int, float], np.ndarray]:
    """What the student's ``rope_frequencies`` returned, keyed by ``(d, base)``, from its
    probes that name the base (a default base is the student's own choice); empty when any
    of them is not finite or turns no pair (all 0, say): nothing is replayed on those."""
    if not isinstance(answer, CallsAnswer):
        return {}
    found = {}
    for probe, call in zip(probes.KERNEL_PROBES[UPSTREAM], answer.calls):
        d, named = _arguments(UPSTREAM, probe)
        if call.output is not None and named is not None:
            theta = np.asarray(call.output, np.float64)
            with np.errstate(all="ignore"):
                if not (theta.size and np.all(np.isfinite(theta))
                        and np.max(np.abs(theta)) > MIN_TURN):
                    return {}
            found[(d, named)] = theta
    return found


def last_power(theta: Frequencies, bases: Callable[[int], list[float]], d: int) -> float:
    """The power ``c`` of the base in the student's last frequency at ``d``
    (``theta_last = f * base**-c``), from its values at every captured base: the key's
    find_lambda bisects the last period, ``2*pi/theta_last``, so on the student's own periods
    it finds ``lam = (m/m_l)**(1/c)``. Raises :class:`_Unknown` unless at least two bases
    were captured and all agree on one power (frequencies not a power of the base)."""
    points = [(np.log(b), np.log(theta(d, b)[-1])) for b in bases(d)]
    if len(points) < 2 or not all(np.isfinite(p).all() for p in points):
        raise _Unknown(d)
    (b0, t0), *rest = points
    powers = [-(t - t0) / (b - b0) for b, t in rest]
    if not all(abs(c - powers[0]) <= 1e-9 * max(abs(powers[0]), 1.0) for c in powers):
        raise _Unknown(d)
    return float(powers[0])


def _root(m: float, m_l: float, c: float) -> float:
    """The key's find_lambda on periods that grow as ``base**c``: no root unless c > 0 (a
    period that does not grow with the base: the key's bracket search raises)."""
    if not c > 0:
        raise ValueError("g does not change sign")
    return float((m / m_l) ** (1 / c))


def _built_on(item_id: str, theta: Frequencies, bases: Callable[[int], list[float]]
              ) -> Callable[..., Any] | None:
    """The key's ``item_id`` computed from the frequencies ``theta(d, base)``, captured at
    ``bases(d)``."""
    def angles(positions: Any, d: int, base: float) -> np.ndarray:
        return np.asarray(positions, np.float64)[:, None] * theta(d, base)[None, :]

    kernels: dict[str, Callable[..., Any]] = {
        "rope_angles": lambda positions, d, base=DEFAULT_BASE: angles(positions, d, base),
        "apply_rope": lambda x, positions, base=DEFAULT_BASE: rotate(
            x, angles(positions, x.shape[-1], base), "interleaved"),
        "apply_rope_half": lambda x, positions, base=DEFAULT_BASE: rotate(
            x, angles(positions, x.shape[-1], base), "half"),
        "wavelengths": lambda d, base=DEFAULT_BASE: 2 * np.pi / theta(d, base),
        "find_lambda": lambda m, m_l, d: _root(m, m_l, last_power(theta, bases, int(d))),
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
    apply_rope built on it, or (for ``find_lambda``) wavelengths built on it?"""
    through = upstream_id == UPSTREAM or (item_id, upstream_id) in (
        ("rope_score", "apply_rope"), ("find_lambda", "wavelengths"))
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

    def bases(d: int) -> list[float]:
        return sorted(base for dd, base in captured if dd == d)

    kernel = _built_on(item_id, theta, bases)
    plan, calls, rebased = split_calls(item_id, answer)
    if kernel is None or not plan:
        return False
    raised = 0  # probes where the key's kernel on these frequencies raises ValueError
    for probe, call in zip(plan, calls):
        args, kwargs = probes.call_args(probe)
        try:
            with np.errstate(all="ignore"):
                expected = np.asarray(kernel(*args, **kwargs))
        except ValueError:  # find_lambda on periods that do not grow with the base
            if not call.error.startswith("ValueError"):
                return False
            raised += 1
            continue
        except Exception:  # not captured, or frequencies of the wrong shape: nothing shown
            return False
        if not matches(call.output, expected):
            return False
    if raised < len(plan):  # values, which a rebased call must show were searched for
        check = REGISTRY[item_id].check
        return not isinstance(check, KernelCheck) or check.not_followed(rebased, kernel) is None
    # raising everywhere shows a search only when it converges once the grader swapped in
    # periods that grow with the base (a stub raising ValueError does not)
    return bool(rebased) and all(
        call.output is not None and np.all(np.isfinite(call.output)) for _, call in rebased)
