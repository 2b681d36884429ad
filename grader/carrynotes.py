"""What follow-through says beyond the carried judgements (:mod:`grader.carry`): a note on a
wrong answer that is not carried, naming the upstream answers to fix first or why nothing
could be carried from them, and a float pi charged once, where it entered."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from grader import mutants as M
from grader import payload as P
from grader.items import REGISTRY
from grader.kernels import PASSED_ON, KernelCheck
from grader.results import Judgement, Verdict
from grader.symbolic import FLOAT_PI_TAG

TAG = "carried_over"
"""The tag of an answer credited by follow-through."""

FORM_ONLY = frozenset({"step_form"})
"""Tags of an answer with the key's value in another form: nothing wrong to carry from it (a
float pi is carried from: every later answer built on it has it too)."""


def names(ids: Sequence[str]) -> str:
    """The items' student-facing names, joined with "and"."""
    return " and ".join(REGISTRY[u].name for u in ids)


def float_pi_once(answers: Mapping[str, tuple[P.Answer, Judgement]],
                  decided: Mapping[str, Judgement], used: Mapping[str, Sequence[str]]
                  ) -> dict[str, Judgement]:
    """Answers whose only fault is a float pi that came from an upstream answer with one
    (period_i's ``2*np.pi``, in every step after it): right, the float charged once, where it
    entered (a float pi typed in again is part of the same slip); and an answer carried only
    from such answers is simply right too."""
    entered = {i for i, (_, j) in answers.items() if j.tag == FLOAT_PI_TAG}
    once: dict[str, Judgement] = {}
    for item_id in REGISTRY:
        if item_id not in answers:
            continue
        final = decided.get(item_id, answers[item_id][1])
        ups = [u for u in REGISTRY[item_id].upstreams if u in entered]
        if final.tag == FLOAT_PI_TAG and ups:
            once[item_id] = Judgement(
                1.0, Verdict.CORRECT, "ok", f"Right. Its pi is a float, which comes from your "
                f"{names(ups)}: that is charged once, there.", detail="float pi charged upstream")
        elif final.tag == TAG and used.get(item_id) and all(
                u in once for u in used[item_id] if answers[u][1].fraction < 1):
            once[item_id] = Judgement(
                1.0, Verdict.CORRECT, "ok", f"Right (worked from your {names(used[item_id])}; "
                "the float pi in it is charged once, where it entered).",
                detail=f"{final.detail}; float pi charged upstream")
    return once


def noted(answers: Mapping[str, tuple[P.Answer, Judgement]],
          decided: Mapping[str, Judgement]) -> dict[str, Judgement]:
    """The wrong answers not carried whose upstream answers are wrong too (and not carried
    either), with a note naming those to fix first: an error raised, or a value off, may
    come from them."""
    out: dict[str, Judgement] = {}
    for item_id, (_, judgement) in answers.items():
        if item_id in decided or judgement.fraction >= 1 or judgement.verdict in (
                Verdict.MISSING, Verdict.INVALID, Verdict.TIMEOUT):
            continue
        ups = [u for u in REGISTRY[item_id].upstreams if u in answers
               and decided.get(u, answers[u][1]).fraction < 1
               and answers[u][1].tag not in FORM_ONLY
               and answers[u][1].verdict is not Verdict.MISSING]
        carried = [u for u in REGISTRY[item_id].upstreams
                   if u in decided and decided[u].tag == TAG]
        if ups:
            verb, its = ("is", "its") if len(ups) == 1 else ("are", "their")
            note = (f"This answer builds on your {names(ups)}, which {verb} not right yet: "
                    f"fix that first (see {its} feedback).")
            if not _explains(item_id, judgement, [answers[u][1] for u in ups]):
                note = (f"Your {names(ups)} {verb} not right either (see {its} feedback), but "
                        "that does not explain this answer: built on it, the key's "
                        f"{REGISTRY[item_id].name} returns other values. Fix this function "
                        "too.")
            out[item_id] = dataclasses.replace(judgement, message=f"{judgement.message} {note}")
        elif carried:
            verb = "is" if len(carried) == 1 else "are"
            why = (_kernel_why(answers[item_id][0]) if isinstance(
                REGISTRY[item_id].check, KernelCheck) else "built on it, this step loses what "
                "it is about (a lam without d, say, has derivative 0 in d)")
            out[item_id] = dataclasses.replace(judgement, message=(
                f"{judgement.message} Your {names(carried)} {verb} carried from an earlier "
                f"slip, but nothing is carried into this answer: {why}. Fix that slip (see "
                f"the feedback on {names(carried)})."))
    return out


_GENERIC = {"NumberCheck": "wrong_value", "ExprCheck": "wrong_expression"}
"""The tag of a wrong answer no catalogue explains, per kind of check that evaluates or
substitutes into an upstream answer."""


def slips_here(answers: Mapping[str, tuple[P.Answer, Judgement]],
               decided: Mapping[str, Judgement]) -> dict[str, Judgement]:
    """Wrong answers matched to a slip of their upstream answer while that answer is right.
    An item whose catalogue is only its upstream's slips carried into its value (the worked
    numbers and lam_double, from lam_solution's) cannot show the slip's story (a wrong pair
    matched, PI's factor) when the student's own upstream has none of it: the match is a
    coincidence of this step (lam_solution at d = 64 is the value a second-to-last pair gives
    at d = 128; m_l put in for m gives the matched-frequency lam). The feedback says the slip
    is in this step, with the item's hint; the tag is the check's generic one, so the class
    report does not count a slip no one made. Items that build something of their own (an
    equation that picks the pair, the exponent, lam solved from an equation) and kernels keep
    theirs: the slip can be theirs."""
    out: dict[str, Judgement] = {}
    for item_id, (_, judgement) in answers.items():
        item = REGISTRY[item_id]
        generic = _GENERIC.get(type(item.check).__name__)
        if generic is None or item_id in decided or judgement.fraction >= 1:
            continue
        ups = [u for u in item.upstreams if u in answers]
        if not ups or not all(decided.get(u, answers[u][1]).tag == "ok" for u in ups):
            continue
        if not all(type(REGISTRY[u].check).__name__ in _GENERIC for u in ups):
            continue  # solved from an equation (lam_solution): the belief can be its own
        inherited = set().union(*(_catalogue_tags(REGISTRY[u].check) for u in ups))
        own = _catalogue_tags(item.check)
        if judgement.tag in own and own <= inherited:
            verb = "is" if len(ups) == 1 else "are"
            out[item_id] = dataclasses.replace(
                judgement, tag=generic, message=f"Your {names(ups)} {verb} right, so the slip "
                f"is in this step, not before it: {item.check.hint}",
                detail=f"value of the {judgement.tag} slip, with {', '.join(ups)} right"
                + (f"; {judgement.detail}" if judgement.detail else ""))
    return out


def _catalogue_tags(check: object) -> set[str]:
    """The tags of the slips a check's catalogue recognises."""
    entries = [*getattr(check, "catalogue", ()), *getattr(check, "lam_catalogue", ()),
               getattr(check, "no_lambda", None)]
    return {(e[0] if isinstance(e, tuple) else e).tag for e in entries if e is not None}


_VALUES_RIGHT = frozenset({"wrong_type"})
"""Upstream faults that leave its values right (with PASSED_ON's, which a kernel built on it
that shows them is carried for)."""


def _explains(item_id: str, judgement: Judgement, upstreams: Sequence[Judgement]) -> bool:
    """May the wrong upstream kernels explain this kernel's fault? Not when each has a slip
    that this kernel's check knows built on it (a mutant of that tag: not shown, or it would
    have been carried) or a fault that leaves its values right, and this kernel returned
    values (an error it raised may come from an upstream value of the wrong type)."""
    check = REGISTRY[item_id].check
    if not isinstance(check, KernelCheck) or judgement.tag == "exception":
        return True
    known = ({m.slip.tag for m in check.mutants} | PASSED_ON | _VALUES_RIGHT
             | M.CANCELLING.get(item_id, frozenset()))
    return not all(u.tag in known for u in upstreams)


def _kernel_why(answer: P.Answer) -> str:
    """Why a kernel beside a carried upstream kernel is not carried."""
    calls = answer.calls if isinstance(answer, P.CallsAnswer) else ()
    if calls and all(c.error.startswith("ValueError") for c in calls):
        return ("built on it, no value may exist, and raising ValueError is then right, but "
                "a function that raises on every call shows no work")
    return "it does not return what the key's would return built on it"
