"""Follow-through: a later answer worked correctly from the student's own wrong earlier one.

Some items are computed from another item's answer (``lam_4096_16384_d128`` evaluates
``lam_solution``; ``dlam_dd`` differentiates it).  Judged against the answer key alone, one
slip upstream would mark every such answer wrong with a hint ("differentiate lam_solution")
that the student had in fact followed.  An item that names its upstream (``Item.follows``)
and how to carry it (``Item.carry``) is judged a second time, against what its check expects
when the student's own upstream answer replaces the key's.  An answer that passes is tagged
``carried_over`` and earns ``credit`` of its points (follow-through credit; 1 by default,
see ``ScoreCaptures.carry_credit``); the feedback names the upstream item to fix.

A numpy kernel built on another (``apply_rope`` on ``rope_frequencies``) is carried when its
output shows exactly the slip found upstream: it matches the mutant of the same tag, the key
built on the slipped frequencies (:data:`grader.mutants.FREQUENCY_SLIPS`).

No credit is carried from an upstream answer that makes the later steps easier than the
key's: an expression upstream must depend on the same symbols as the key's, and so must the
carried reference of an expression item (a lambda without d makes ``dlam_dd`` 0, which
shows nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sympy as sp

from grader import payload as P
from grader.items import REGISTRY, Item
from grader.kernels import KernelCheck
from grader.limits import run_each
from grader.parse import AnswerError
from grader.results import Judgement, Verdict
from grader.symbolic import ChoiceCheck, ExprCheck, NumberCheck, to_sympy

TAG = "carried_over"
"""The tag of an answer credited by follow-through."""


def upstream_value(answer: P.Answer) -> sp.Basic | None:
    """The student's upstream answer as a sympy object (a list of numbers as a Tuple of
    Floats), or None when it cannot be used."""
    if isinstance(answer, P.NumberAnswer):
        return sp.Float(answer.value, 30)
    if isinstance(answer, P.SequenceAnswer):
        if answer.items and all(isinstance(x, P.NumberAnswer) for x in answer.items):
            return sp.Tuple(*(sp.Float(x.value, 30) for x in answer.items))
        return None
    if isinstance(answer, (P.SympyAnswer, P.TextAnswer)):
        try:
            value = to_sympy(answer)
        except AnswerError:
            return None
        return value if isinstance(value, sp.Expr) else None
    return None


def carried_check(item: Item, upstream: sp.Basic) -> ExprCheck | NumberCheck | ChoiceCheck | None:
    """The item's check with the student's upstream answer in place of the key's, or None
    when nothing may be carried from it."""
    if item.carry is None or not isinstance(item.check, (ExprCheck, NumberCheck, ChoiceCheck)):
        return None
    key = getattr(REGISTRY[item.follows].check, "reference", None)
    if isinstance(key, sp.Expr) and upstream.free_symbols != key.free_symbols:
        return None  # not an attempt at the upstream item (a lambda without d, a number)
    if isinstance(item.check, ChoiceCheck):  # a decision taken from the student's own values
        choice = item.carry(upstream)
        if type(choice) is not type(item.check.answer):
            return None
        return dataclasses.replace(item.check, answer=choice, wrong_choices={})
    reference = item.carry(upstream)
    if isinstance(item.check, ExprCheck) and (not isinstance(reference, sp.Expr) or (
            reference.free_symbols != item.check.reference.free_symbols)):
        return None  # the slip removed what this step works on
    return dataclasses.replace(item.check, reference=reference, catalogue=())


def judge_carried(item: Item, answer: P.Answer, upstream: P.Answer,
                  params: Mapping[str, Any], credit: float) -> Judgement | None:
    """The follow-through judgement of ``answer``, or None when it does not follow from the
    student's upstream answer (run in a forked, time-limited child)."""
    value = upstream_value(upstream)
    check = None if value is None else carried_check(item, value)
    if check is None or check.judge(answer, item.id, params).fraction < 1:
        return None
    return _carried(item, credit)


def _carried(item: Item, credit: float) -> Judgement:
    up = REGISTRY[item.follows].name
    return Judgement(credit, Verdict.CORRECT if credit >= 1 else Verdict.PARTIAL, TAG,
                     f"Worked correctly from your {up}, which is not right: fix {up} (see "
                     "its feedback) and run the notebook again; this answer should follow.",
                     detail=f"follows {item.follows}")


def _same_slip(item: Item, answer: P.Answer, upstream: Judgement) -> bool:
    """Does a kernel show exactly the slip its upstream kernel was found to have (its output
    is the key's built on the slipped upstream: a mutant of the same tag)?  Asked of the
    answer itself, not of its judgement: one output can show two slips (find_lambda's
    m/m_l is both the pi_factor slip and a right bisection on one-based frequencies)."""
    check = item.check
    return isinstance(check, KernelCheck) and check.shows(answer, item.id, upstream.tag)


def follow_through(answers: Mapping[str, tuple[P.Answer, Judgement]],
                   params: Mapping[str, Any], seconds: float, credit: float
                   ) -> dict[str, Judgement]:
    """New judgements for the answers that were judged wrong against the key but follow from
    the student's own wrong upstream answer; ``answers`` maps item id to (answer, judgement
    against the key).  Every re-judgement runs in one forked child, each with ``seconds``."""
    todo: list[tuple[Item, P.Answer, P.Answer]] = []
    carried: dict[str, Judgement] = {}
    for item_id, (answer, judgement) in answers.items():
        item = REGISTRY[item_id]
        if not item.follows or item.follows not in answers or judgement.fraction >= 1:
            continue
        if judgement.verdict in (Verdict.MISSING, Verdict.INVALID, Verdict.TIMEOUT):
            continue  # nothing usable to carry onto
        up_answer, up_judgement = answers[item.follows]
        if up_judgement.fraction >= 1:
            continue  # carrying the key's answer changes nothing
        if isinstance(item.check, KernelCheck):  # judged by the slip its output shows
            if _same_slip(item, answer, up_judgement):
                carried[item.id] = _carried(item, credit)
            continue
        todo.append((item, answer, up_answer))
    if todo:
        outcomes = run_each(judge_carried, [(item, answer, up, params, credit)
                                            for item, answer, up in todo], seconds)
        carried.update((item.id, o.value) for (item, _, _), o in zip(todo, outcomes)
                       if o.status == "ok" and o.value is not None)
    return carried
