"""Checks for numpy kernels: the student's function was called on probe inputs in their
kernel; here its outputs are compared with the answer key's on the same inputs.

Wrong outputs are matched against mutants: small, deliberate misimplementations that
stand for known slips (the other layout, the sign of sin, a 1-based index, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader import probes, rebase
from grader.payload import Answer, CallOutcome, CallsAnswer, TimingAnswer
from grader.results import Judgement, Verdict, correct, wrong
from grader.symbolic import Misconception, invalid

Params = Mapping[str, Any]
Kernel = Callable[..., Any]

_HALF_RIGHT = {
    "modified_input": "Your function changed its input array in place. Work on a new array and "
                      "leave the caller's data untouched.",
    "wrong_dtype": "keep the input's dtype (compute angles in float64, cast the result back).",
    "float32_precision": "Your values are float32, right only to float32's 7 digits: compute "
                         "in float64 (RoPE's angles reach thousands of radians, where float32 "
                         "is off by about 1e-3).",
    "array_not_float": "Your value is right, but it is a 0-d numpy array: return a float "
                       "(float(...) or .item()), as the question asks.",
}
"""Problems of a right result, each worth half the points, and what to say about them."""
PASSED_ON = frozenset(_HALF_RIGHT)
"""Those problems, which a kernel passes on to any kernel that calls it."""

_TOO_SLOW = ("That much slower usually means a Python loop over positions or pairs, or work far "
             "beyond the rotation itself, such as a full d x d rotation matrix or a 2 x 2 matrix "
             "product per pair. Use whole-array numpy operations: broadcast positions against "
             "frequencies, and rotate each pair with a few element-wise products.")
"""What to say to a kernel too slow for any speed points (tag far_too_slow: a Python loop, or
a d x d or per-pair matrix product)."""


@dataclass(frozen=True)
class Mutant:
    """A known slip, as the function a student with that slip would have written."""

    slip: Misconception
    """the tag and the message"""
    fn: Kernel
    """the mutant implementation (same signature as the student's function)"""
    within: float = 0.0
    """0: the student's outputs must match the mutant's. Above 0: a slip whose exact values
    depend on the order of operations (float32 rounding): shown by outputs no further from
    the key's than ``within`` times the mutant's, on every probe"""


def _tolerance(ref: np.ndarray) -> tuple[float, float]:
    """(rtol, atol) suited to the reference's dtype."""
    scale = float(np.max(np.abs(ref))) if ref.size else 1.0
    if ref.dtype == np.float32:
        return 1e-4, 2e-5 * max(scale, 1.0)
    return 1e-9, 1e-12 * max(scale, 1.0)


def matches(out: np.ndarray | None, ref: np.ndarray, rtol: float | None = None) -> bool:
    """Does ``out`` equal ``ref`` within the tolerance of its dtype (or ``rtol``, tighter)?"""
    if out is None or out.shape != ref.shape:
        return False
    own, atol = _tolerance(ref)
    rtol = own if rtol is None else min(rtol, own)
    with np.errstate(all="ignore"):
        return bool(np.allclose(out.astype(np.float64), ref.astype(np.float64), rtol=rtol,
                                atol=atol))


_SEARCH_RTOL = 1e-3
"""How far below the swapped law's root a loosely stopped search may end."""


def _found_on_swapped_law(out: np.ndarray, same: np.ndarray) -> bool:
    """Could a search on the swapped periods end at ``out``?  The swap raises the base to
    :data:`rebase.POWER`, so the swapped law's root is ``same**(1/POWER)`` whatever the
    student's period law (a power of the base); a bracket that misses it ends the search at
    its edge, between that root and ``same`` (a bracket holds the unswapped root).  A closed
    form fed the swapped periods lands elsewhere (``lam*b``, say)."""
    with np.errstate(all="ignore"):
        r = np.asarray(out, np.float64).ravel()
        lam = np.asarray(same, np.float64).ravel()
        if r.shape != lam.shape or not (np.all(np.isfinite(r)) and np.all(lam > 0)):
            return False
        root = lam ** (1 / rebase.POWER)
        lo, hi = np.minimum(root, lam), np.maximum(root, lam)
        return bool(np.all((r >= lo * (1 - _SEARCH_RTOL)) & (r <= hi * (1 + _SEARCH_RTOL))))


def _later(error: str) -> str:
    """What to add when a function used a name not yet defined when the grader called it."""
    found = re.match(r"NameError: name '(\w+)' is not defined", error)
    if not found:
        return ""
    return (f". The grader calls each function right after its own cell, running the notebook "
            f"from the top: {found.group(1)} must be defined in an earlier cell (one that runs "
            "before this function is tested), not a later one.")


def _reference_outputs(fn: Kernel, plan: tuple[probes.Probe, ...]) -> list[np.ndarray | None]:
    outs: list[np.ndarray | None] = []
    for probe in plan:
        args, kwargs = probes.call_args(probe)
        try:
            outs.append(np.asarray(fn(*args, **kwargs)))
        except (ValueError, ZeroDivisionError, FloatingPointError):
            outs.append(None)
    return outs


@dataclass(frozen=True)
class KernelCheck:
    """Compare a student's function with the answer key on the item's probes."""

    reference: Kernel
    """the answer key, with the student's signature"""
    hint: str
    """feedback for wrong values that match no mutant"""
    mutants: tuple[Mutant, ...] = ()
    """known slips, recognised by their outputs"""
    check_dtype: bool = True
    """the output dtype must equal the reference's (float32 in, float32 out)"""
    sequence_ok: bool = False
    """a list or tuple of integers is as good as an array (an index permutation)"""
    rtol: float | None = None
    """a tighter relative tolerance than the dtype's, when the task states one"""
    unchanged: Misconception | None = None
    """the slip of right values that a rebased probe (:attr:`grader.probes.Probe.rebase`)
    shows are not computed from the functions the task names: worth half the points"""

    def warm(self, item_id: str, params: Params) -> None:
        """Nothing to precompute: reference outputs are cheap."""

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge the captured call outcomes."""
        if not isinstance(answer, CallsAnswer):
            return invalid(answer, "a function")
        if len(answer.calls) != len(probes.KERNEL_PROBES[item_id]):
            return wrong("tampered", "The captured calls do not match the grader's inputs.",
                         verdict=Verdict.INVALID)
        if answer.calls and all(c.error.startswith("NotImplementedError")
                                for c in answer.calls):
            return wrong("missing", "Not answered yet: your function still raises "
                         "NotImplementedError. Replace `raise NotImplementedError()` with your "
                         "code.", verdict=Verdict.MISSING)
        plan, calls, rebased = split_calls(item_id, answer)
        refs = _reference_outputs(self.reference, plan)
        failures = [(p, c, self._problem(c, r)) for p, c, r in zip(plan, calls, refs)]
        bad = [(p, c, prob) for p, c, prob in failures if prob is not None]
        if not bad:
            return self.not_followed(rebased, self.reference) or correct()
        slip = self._mutant(calls, plan, refs)
        if slip is not None:
            return slip.judgement()
        # the worst problem decides (a wrong result outweighs a modified input), on its first
        # probe; a function right on at least half the probes earns half the points
        probe, _call, (tag, message, fraction) = min(bad, key=lambda b: b[2][2])
        where = f" (on the test input: {probe.note})" if probe.note else ""
        passed = sum(prob is None or prob[0] in _HALF_RIGHT for _p, _c, prob in failures)
        if fraction == 0 and passed >= len(plan) / 2:
            fraction = 0.5
        also = "".join(f" Also: {text}" for kind, text in _HALF_RIGHT.items()
                       if kind != tag and any(prob[0] == kind for _p, _c, prob in bad))
        verdict = Verdict.PARTIAL if fraction > 0 else Verdict.INCORRECT
        return Judgement(fraction, verdict, tag, message + where + also,
                         detail=f"{passed}/{len(plan)} probes passed")

    def _problem(self, call: CallOutcome, ref: np.ndarray | None
                 ) -> tuple[str, str, float] | None:
        if ref is None:
            return None if call.error else ("wrong_values", "Expected a ValueError here.", 0.0)
        if call.error:
            return ("exception", f"Your function raised {call.error}{_later(call.error)}", 0.0)
        out = call.output
        if out is None and call.returned_type.startswith("ndarray["):
            kind = call.returned_type[len("ndarray["):-1]
            return ("wrong_type", f"Your function returned an array of {kind}; return real "
                    "numbers" + (" (a complex product goes back to real pairs with "
                                 ".view(x.dtype))." if "complex" in kind else "."), 0.0)
        if out is None or (call.returned_type in ("list", "tuple") and not self.sequence_ok):
            wanted = "a float" if ref.ndim == 0 else "a numpy array"
            return ("wrong_type", f"Your function returned a {call.returned_type or 'value'}; "
                    f"return {wanted}.", 0.0)
        if out.shape != ref.shape:
            return ("wrong_shape", f"Your output has shape {out.shape}, expected {ref.shape}.",
                    0.0)
        if not np.all(np.isfinite(out)) and np.all(np.isfinite(ref)):
            return ("non_finite", "Your output contains NaN or inf.", 0.0)
        if not matches(out, ref, self.rtol):
            if out.dtype == np.float32 and ref.dtype == np.float64 and matches(
                    out, ref.astype(np.float32)):
                return ("float32_precision", _HALF_RIGHT["float32_precision"], 0.5)
            return ("wrong_values", self.hint, 0.0)
        if call.input_modified:
            return ("modified_input", _HALF_RIGHT["modified_input"], 0.5)
        if ref.ndim == 0 and call.returned_type.startswith("ndarray"):
            return ("array_not_float", _HALF_RIGHT["array_not_float"], 0.5)
        if self.check_dtype and out.dtype != ref.dtype:
            return ("wrong_dtype", f"Your output is {out.dtype}, but the input was "
                    f"{ref.dtype}: {_HALF_RIGHT['wrong_dtype']}", 0.5)
        return None

    def _mutant(self, calls: tuple[CallOutcome, ...], plan: tuple[probes.Probe, ...],
                refs: list[np.ndarray | None]) -> Misconception | None:
        """The first slip whose outputs the calls show; a slip that gives the key's outputs
        everywhere, or raises everywhere, is not told apart from other mistakes."""
        for mutant in self.mutants:
            outs = _reference_outputs(mutant.fn, plan)
            if all(o is None for o in outs) or all(
                    (o is None) == (r is None) and (o is None or matches(o, r))
                    for o, r in zip(outs, refs)):
                continue
            if _shows(calls, outs, refs, mutant.within):
                return mutant.slip
        return None

    def not_followed(self, rebased: tuple[tuple[probes.Probe, CallOutcome], ...],
                      reference: Kernel) -> Judgement | None:
        """Half the points when a rebased call (:mod:`grader.rebase`) returned what
        ``reference`` gives with nothing swapped, raised, or ran past its time limit (a real
        root finder converges at once on the swapped law; code that checks for the swap
        does not): the values do not come from the swapped functions."""
        if self.unchanged is None:
            return None
        for probe, call in rebased:
            args, kwargs = probes.call_args(probe)
            try:
                same = np.asarray(reference(*args, **kwargs))
            except (ValueError, ZeroDivisionError, FloatingPointError):
                continue
            if call.error.startswith("Overrun"):
                what = ("it did not return within the time limit: either lam is not found "
                        "from them, or your search does not always stop (stop when the "
                        "bracket is narrow, not when g is small)")
            elif call.error:
                what = f"it raised {call.error.rstrip(': ')}: lam was not found from them"
            elif call.output is not None and matches(call.output, same):
                what = "it returned the same value: lam was not found from them"
            elif call.output is not None and not _found_on_swapped_law(call.output, same):
                what = ("it returned a value that no search on their periods ends at: lam "
                        "was not found from them")
            else:
                continue
            return Judgement(0.5, Verdict.PARTIAL, self.unchanged.tag,
                             self.unchanged.message.format(what=what),
                             detail=f"with {', '.join(probe.rebase)} rebased, {what}")
        return None

    def shows(self, answer: Answer, item_id: str, tag: str) -> bool:
        """Do the captured calls show the slip ``tag`` exactly: on every probe the output of
        a mutant with that tag, or a ValueError where the mutant raises one (a mutant that
        raises everywhere shows nothing: a stub raising ValueError does the same), computed
        from the swapped functions where a rebased probe asks?"""
        if not isinstance(answer, CallsAnswer) or len(answer.calls) != len(
                probes.KERNEL_PROBES[item_id]):
            return False
        plan, calls, rebased = split_calls(item_id, answer)
        refs = _reference_outputs(self.reference, plan)
        for mutant in self.mutants:
            if mutant.slip.tag != tag:
                continue
            outs = _reference_outputs(mutant.fn, plan)
            if (not all(o is None for o in outs) and _shows(calls, outs, refs, mutant.within)
                    and self.not_followed(rebased, mutant.fn) is None):
                return True
        return False


def split_calls(item_id: str, answer: CallsAnswer) -> tuple[
        tuple[probes.Probe, ...], tuple[CallOutcome, ...],
        tuple[tuple[probes.Probe, CallOutcome], ...]]:
    """The plain probes and their calls, and the rebased probes with theirs."""
    pairs = tuple(zip(probes.KERNEL_PROBES[item_id], answer.calls))
    plain = tuple(pc for pc in pairs if not pc[0].rebase)
    return (tuple(p for p, _ in plain), tuple(c for _, c in plain),
            tuple(pc for pc in pairs if pc[0].rebase))


def _shows(calls: tuple[CallOutcome, ...], outs: list[np.ndarray | None],
           refs: list[np.ndarray | None], within: float = 0.0) -> bool:
    """Do the calls show the mutant whose outputs are ``outs`` (the key's: ``refs``)?"""
    if within <= 0:
        return all(c.error.startswith("ValueError") if o is None else matches(c.output, o)
                   for c, o in zip(calls, outs))
    pairs = list(zip(calls, outs, refs))
    return all(o is None and r is None and c.error.startswith("ValueError")
               if o is None or r is None else _no_further(c.output, o, r, within)
               for c, o, r in pairs) and any(
        r is not None and c.output is not None and not matches(c.output, r)
        for c, _o, r in pairs)  # off somewhere: right values show no slip


def _no_further(out: np.ndarray | None, mutant: np.ndarray, ref: np.ndarray,
                within: float) -> bool:
    """Is ``out`` no further from ``ref`` than ``within`` times ``mutant`` is (or as close
    as the key's own tolerance)?"""
    if out is None or out.shape != ref.shape or out.dtype != ref.dtype:
        return False  # a float32 result of float64 input is float32_precision, not this
    if matches(out, ref):
        return True
    with np.errstate(all="ignore"):
        key = ref.astype(np.float64)
        off = np.max(np.abs(out.astype(np.float64) - key), initial=0.0)
        allowed = within * np.max(np.abs(mutant.astype(np.float64) - key), initial=0.0)
        rtol, atol = _tolerance(ref)
        return bool(off <= allowed + atol + rtol * np.max(np.abs(key), initial=0.0))


@dataclass(frozen=True)
class SpeedCheck:
    """Points for a vectorised kernel: its time over the answer key's, both measured by the
    grader's clock (:mod:`grader.stopwatch`) on the same inputs."""

    full_within: float = 3.0
    """at most this many times the reference's time earns every point"""
    pass_within: float = 20.0
    """at most this many times earns :attr:`pass_fraction`"""
    pass_fraction: float = 0.5
    """the share for a vectorised kernel that is not yet fast"""

    def warm(self, item_id: str, params: Params) -> None:
        """Nothing to precompute: the stopwatch timed the answer key beside the student."""

    def judge(self, answer: Answer, item_id: str, params: Params) -> Judgement:
        """Judge the grader's own timing record."""
        if not isinstance(answer, TimingAnswer):
            return invalid(answer, "a function")
        if answer.error.startswith("CellTimeoutError"):
            return wrong("far_too_slow", "Timing your apply_rope ran past the time limit. "
                         + _TOO_SLOW)
        if answer.error.startswith("NotImplementedError"):
            return wrong("missing", "Not answered yet: your apply_rope still raises "
                         "NotImplementedError, so there is nothing to time.",
                         verdict=Verdict.MISSING)
        if answer.error:
            return wrong("exception", f"Timing your function failed: {answer.error}")
        if answer.wrong_output:
            return wrong("wrong_values", "Speed points need a correct apply_rope: a timed "
                         "call returned a wrong result (its values, shape or dtype) or changed "
                         "its input. Fix apply_rope first (see its feedback).")
        slower = answer.ratio
        if not slower > 0:
            return wrong("tampered", "The timing is not usable.", verdict=Verdict.INVALID)
        where = (" (both in one timing process)" if answer.side_by_side
                 else " (student's kernel vs the grader's process)")
        if answer.cut_off:
            return wrong("far_too_slow", f"One call of your apply_rope took more than {slower:.0f}"
                         f"x the reference's time and was stopped. {_TOO_SLOW}",
                         f"{slower:.1f}x the reference or more: one call was stopped at the "
                         f"limit{where}")
        detail = (f"{slower:.1f}x the reference, best of {len(answer.student_s)} timed "
                  f"call(s) on {answer.shape}" + (" scaled to the full workload"
                                                  if answer.scale > 1 else "") + where)
        if slower <= self.full_within:
            return correct(f"Fast: about {max(slower, 1.0):.1f}x the reference kernel.", detail)
        if slower <= self.pass_within:
            return Judgement(self.pass_fraction, Verdict.PARTIAL, "slow_kernel",
                             f"About {slower:.0f}x slower than the reference: one speed "
                             "point. View interleaved pairs as complex numbers and rotate with "
                             "one multiply over the whole array (no Python loop); build the "
                             "cos/sin table cheaply.", detail)
        return wrong("far_too_slow", f"Your apply_rope is about {slower:.0f}x slower than the "
                     f"reference. {_TOO_SLOW}", detail)
