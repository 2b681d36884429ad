"""Follow-through: a later answer worked correctly from the student's own wrong earlier one.

Some items are computed from another item's answer (``lam_4096_16384_d128`` evaluates
``lam_solution``; ``dlam_dd`` differentiates it).  Judged against the answer key alone, one
slip upstream would mark every such answer wrong with a hint ("differentiate lam_solution")
that the student had in fact followed.  An item that names its upstream (``Item.follows``)
and how to carry it (``Item.carry``) is judged a second time, against what its check expects
when the student's own upstream answer replaces the key's.  An answer that passes is tagged
``carried_over`` and earns ``credit`` of its points (follow-through credit; 1 by default,
see ``ScoreCaptures.carry_credit``); the feedback names the upstream item to fix.  An item
computed from two answers (``stretch_first_middle_last``: base_stretch_i at the worked-case
lam) is carried from the student's own answer to each one that is wrong, with the key's
standing in for the others.

A numpy kernel built on another (``apply_rope`` on ``rope_frequencies``) is carried when its
output shows exactly the slip found upstream: it matches the mutant of the same tag, the key
built on the slipped frequencies (:data:`grader.mutants.FREQUENCY_SLIPS`).

No credit is carried from an upstream answer that makes the later steps easier than the
key's: an expression upstream must depend on every symbol the key's does, in value and not
only in writing (it may keep one more: a step that left b in), and the carried reference of
an expression item on the same symbols as the key's (a lambda without d makes ``dlam_dd`` 0,
which shows nothing).

An answer that follows the student's own upstream only partly (a step in another form) keeps
that judgement, scaled by the credit, when it is worth more than the key's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from grader import anglereplay, replay
from grader import carrynotes as notes
from grader import payload as P
from grader.carrynotes import FORM_ONLY as _FORM_ONLY
from grader.carrynotes import TAG
from grader.equivalence import drop_unused, rationalise
from grader.items import REGISTRY, Item
from grader.kernels import PASSED_ON, KernelCheck
from grader.limits import run_each
from grader.parse import AnswerError
from grader.results import Judgement, Verdict, correct
from grader.symbolic import LAM, EquationCheck, ExprCheck, to_sympy
from grader.valuechecks import ChoiceCheck, NumberCheck, SolutionsCheck
from solutions import derivation as D


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
        return value if isinstance(value, (sp.Expr, sp.Equality)) else None
    return None


Carried = ExprCheck | NumberCheck | ChoiceCheck | EquationCheck | SolutionsCheck


def carried_check(item: Item, upstreams: Sequence[sp.Basic]
                  ) -> tuple[Carried, list[str]] | None:
    """The item's check with ``upstreams`` (one answer per item in ``Item.upstreams``: the
    student's where it is wrong, the key's elsewhere) in place of the key's, and the
    upstream items whose values lack what the key's vary with (a lambda without d, a
    number): such an upstream is no attempt at its item unless it is itself carried, which
    :func:`follow_through` decides. None when nothing may be carried from them."""
    if item.carry is None or not isinstance(item.check, Carried):
        return None
    degenerate = [up_id for up_id, value in zip(item.upstreams, upstreams, strict=True)
                  if isinstance(key := getattr(REGISTRY[up_id].check, "reference", None),
                                sp.Basic) and not _depends_on(value, key.free_symbols, up_id)]
    if isinstance(item.check, EquationCheck):  # the derivation continued from the student's
        fields = item.carry(*upstreams)
        if fields is None or not _keeps_the_work(fields["reference"], item.check.reference):
            return None
        return dataclasses.replace(item.check, **fields, catalogue=(),
                                   lam_catalogue=()), degenerate
    if isinstance(item.check, SolutionsCheck):  # what solve gives on the student's equation
        solutions = item.carry(*upstreams)
        if solutions is None:
            return None
        return dataclasses.replace(item.check, expected=tuple(solutions)), degenerate
    if isinstance(item.check, ChoiceCheck):  # a decision taken from the student's own values
        choice = item.carry(*upstreams)
        if type(choice) is not type(item.check.answer):
            return None
        return dataclasses.replace(item.check, answer=choice, wrong_choices={}), degenerate
    reference = item.carry(*upstreams)
    if isinstance(item.check, ExprCheck):
        # a reference that lost symbols with an upstream that lacks them (0 = the derivative
        # of a lam without d) counts only as far as that upstream does: see _decide
        if not isinstance(reference, sp.Expr) or not (
                _keeps_the_work(reference, item.check.reference) or (degenerate
                and reference.free_symbols <= item.check.reference.free_symbols)):
            return None
        reference = rationalise(reference)  # a float pi carried: as the answer's is read
    return dataclasses.replace(item.check, reference=reference, catalogue=()), degenerate


def _keeps_the_work(carried: sp.Basic, key: sp.Basic) -> bool:
    """Is what a step works on still there in the answer carried from the student's own?
    It may lose d (matching the pair d/2 makes the exponent 1, and d drops out) but no other
    symbol: not lam, as matching pair 0 does (theta_0 = 1: no equation for lam), nor m and
    m_l (a limit that no longer depends on the stretch); and it may gain none."""
    return carried.free_symbols <= key.free_symbols and (
        key.free_symbols - carried.free_symbols <= {D.d})


def _depends_on(value: sp.Basic, symbols: set[sp.Basic], item_id: str) -> bool:
    """Does ``value`` (an expression or an equation) vary with each of ``symbols``? Written
    in (``m/m_l*(sin(d)**2 + cos(d)**2)`` has d) is not enough: its values must move."""
    if not value.free_symbols >= symbols:
        return False
    expr = value.lhs - value.rhs if isinstance(value, sp.Equality) else value
    if not isinstance(expr, sp.Expr):
        return True
    return all(drop_unused(expr, s, item_id) is None for s in symbols if isinstance(s, sp.Symbol))


def judge_carried(item: Item, answer: P.Answer, upstreams: Mapping[str, P.Answer | None],
                  params: Mapping[str, Any]) -> tuple[list[str], Judgement, list[str]] | None:
    """The upstream items whose own answers ``answer`` follows from, its judgement against
    what they lead to (right, or partly right: a step in another form) and those upstreams
    of :func:`carried_check`'s that count only if carried; or None when it does not follow
    from them at all. ``upstreams`` maps each upstream item to the student's answer to use,
    or None for the key's.  Run in a forked, time-limited child."""
    values, used = [], []
    for up_id, up in upstreams.items():
        value = None if up is None else upstream_value(up)
        if value is None:  # the key's, or an unusable answer: the key's stands in
            value = _key(up_id, params)
        else:
            used.append(up_id)
        if value is None:
            return None
        values.append(value)
    carried = None if not used else carried_check(item, values)
    if carried is None:
        return None
    check, degenerate = carried
    judgement = check.judge(answer, item.id, params)
    return (used, judgement, degenerate) if judgement.fraction > 0 else None


def _key(item_id: str, params: Mapping[str, Any]) -> sp.Basic | None:
    """The key's answer to ``item_id``, as :func:`upstream_value` gives a student's."""
    check = REGISTRY[item_id].check
    key = getattr(check, "reference", None)
    if isinstance(check, NumberCheck):
        numbers = [sp.Float(v, 30) for v in key(params)]
        return numbers[0] if len(numbers) == 1 else sp.Tuple(*numbers)
    return key if isinstance(key, sp.Basic) else None


def _carried(item: Item, credit: float, used: Sequence[str], roots: Sequence[str],
             judged: Judgement) -> Judgement:
    """A follow-through judgement: ``used`` are the wrong answers it follows from, ``roots``
    the wrong answers those rest on (themselves, unless they were carried in turn), and
    ``judged`` the answer's judgement against what they lead to: right, or partly right (a
    step in another form), which then keeps its own tag and message, scaled by ``credit``."""
    names = notes.names
    one = len(roots) == 1
    via = set(used) != set(roots)
    start = (f"your earlier answers, which rest on your {names(roots)}" if via
             else f"your {names(used)}")
    verb, its = ("is", "its") if one else ("are", "their")
    detail = f"follows {', '.join(used)}" + (f" (from {', '.join(roots)})" if via else "")
    if judged.fraction < 1:
        return Judgement(credit * judged.fraction, Verdict.PARTIAL, judged.tag,
                         f"{judged.message} (Judged from {start}, which {verb} not right: "
                         f"fix {names(roots)} too; see {its} feedback.)",
                         detail=f"{judged.detail}; {detail}" if judged.detail else detail)
    return Judgement(credit, Verdict.CORRECT if credit >= 1 else Verdict.PARTIAL, TAG,
                     f"Worked correctly from {start}, which {verb} not right: " + (
                         item.carried_note or f"fix {names(roots)} (see {its} feedback) and "
                         "run the notebook again; this answer should follow."), detail=detail)


def _past_refusal(item_id: str, wrong: Sequence[str],
                  answers: Mapping[str, tuple[P.Answer, Judgement]],
                  kept: Mapping[str, Sequence[str]]) -> bool:
    """For an item that carries only up to a refusal: does a wrong upstream it follows rest
    on a wrong answer that was not carried (so its own carry was refused)?"""
    if not REGISTRY[item_id].carry_not_past_refusal:
        return False
    return any(u not in kept and any(answers[w][1].fraction < 1 and w not in kept
                                     for w in REGISTRY[u].upstreams if w in answers)
               for u in wrong)


def _same_lam_powers(answer: P.Answer, reference: sp.Equality) -> bool:
    """Does the student's equation hold lam in the same powers as the key's (``lam**e``, once
    ``(lam*b)**e`` is split)?  Only then is it the key's equation in another form, which the
    next step may continue from; an equation already solved for lam skipped the steps."""
    try:
        eq = to_sympy(answer)
    except AnswerError:
        return False
    if not isinstance(eq, sp.Equality):
        return False
    return _lam_powers(rationalise(eq)) == _lam_powers(reference)


def _lam_powers(eq: sp.Equality) -> set[sp.Basic] | None:
    """The exponents lam is raised to in ``eq`` (1 for lam itself), None when unreadable."""
    try:
        expr = sp.expand_power_base(eq.lhs - eq.rhs, force=True)
    except (TypeError, ValueError, RecursionError):
        return None
    powers = {sp.simplify(p.exp) for p in expr.atoms(sp.Pow) if p.base == LAM}
    bare = expr.replace(lambda x: x.is_Pow and x.base == LAM, lambda x: sp.Dummy())
    return powers | ({sp.S.One} if LAM in bare.free_symbols else set())


def _roots(item_id: str, used: Mapping[str, Sequence[str]]) -> list[str]:
    """The wrong answers a carried answer rests on: its upstreams, each replaced by its own
    roots when it was carried too (in registry order)."""
    found: set[str] = set()
    todo = list(used[item_id])
    while todo:
        up = todo.pop()
        if up in used and up not in found:
            todo.extend(used[up])
        found.add(up)
    return [i for i in REGISTRY if i in found and i not in used]


def _same_slip(item: Item, answer: P.Answer, upstream: Judgement) -> bool:
    """Does a kernel show exactly the slip its upstream kernel was found to have (its output
    is the key's built on the slipped upstream: a mutant of the same tag)?  Asked of the
    answer itself, not of its judgement: one output can show two slips (find_lambda's
    m/m_l is both the pi_factor slip and a right bisection on one-based frequencies)."""
    check = item.check
    return isinstance(check, KernelCheck) and check.shows(answer, item.id, upstream.tag)


def _same_fault(own: Judgement, upstream: Judgement) -> bool:
    """Is a kernel's only fault one that its upstream kernel has and passes on to whatever
    calls it (an input changed in place, float32 precision, a dtype not kept), its values
    being right?  Then it comes from that call and is charged once, upstream."""
    return own.tag == upstream.tag and own.tag in PASSED_ON and 0 < own.fraction < 1


def follow_through(answers: Mapping[str, tuple[P.Answer, Judgement]],
                   params: Mapping[str, Any], seconds: float, credit: float
                   ) -> dict[str, Judgement]:
    """New judgements for the answers that were judged wrong against the key but follow from
    the student's own wrong upstream answers; ``answers`` maps item id to (answer, judgement
    against the key).  An answer that follows them only partly (a step in another form) is
    judged so when that is worth more than the key's judgement.  An answer built on a right
    equation in another form (the matching equation already divided by 2*pi) is also judged
    from the student's own equation: it is then simply right.  Every re-judgement runs in one
    forked child, each with ``seconds``."""
    todo: list[tuple[Item, P.Answer, dict[str, P.Answer | None]]] = []
    used: dict[str, list[str]] = {}  # carried item -> the upstreams it follows
    judged: dict[str, Judgement] = {}  # carried item -> its judgement against them
    weak: dict[str, list[str]] = {}  # carried item -> upstreams that count only if carried
    for item_id, (answer, judgement) in answers.items():
        item = REGISTRY[item_id]
        ups = item.upstreams  # one not answered here: the key's stands in
        if not any(u in answers for u in ups) or judgement.fraction >= 1:
            continue
        if judgement.verdict in (Verdict.MISSING, Verdict.INVALID, Verdict.TIMEOUT):
            continue  # nothing usable to carry onto
        wrong = {u: answers[u][0] for u in ups if u in answers
                 and answers[u][1].fraction < 1 and answers[u][1].tag not in _FORM_ONLY}
        if isinstance(item.check, KernelCheck):  # judged by the slip its output shows
            shown = [u for u in wrong if _same_slip(item, answer, answers[u][1])
                     or _same_fault(judgement, answers[u][1])
                     or replay.follows_own_frequencies(item_id, answer, u, answers)
                     or anglereplay.follows_own_angles(item_id, answer, u, answers)]
            if shown:
                used[item.id] = shown
                judged[item.id] = correct("")
            continue
        # an equation's own form: right, or right in a form off the key's chain (charged
        # there, step_form), from which the next step continues by the key's operations
        right = {u: answers[u][0] for u in ups if isinstance(REGISTRY[u].check, EquationCheck)
                 and u in answers and (answers[u][1].fraction >= 1 or (
                     answers[u][1].tag in _FORM_ONLY and isinstance(item.check, EquationCheck)
                     and _same_lam_powers(answers[u][0], REGISTRY[u].check.reference)))}
        if wrong or right:
            todo.append((item, answer, {u: wrong.get(u, right.get(u)) for u in ups}))
    if todo:
        outcomes = run_each(judge_carried, [(item, answer, ups, params)
                                            for item, answer, ups in todo], seconds)
        for (item, _, _), o in zip(todo, outcomes):
            if o.status != "ok" or o.value is None:
                continue
            ups_used, carried, degenerate = o.value
            if carried.fraction >= 1 or carried.fraction > answers[item.id][1].fraction:
                used[item.id], judged[item.id] = ups_used, carried
                if degenerate:
                    weak[item.id] = degenerate
    decided = _decide(answers, used, judged, credit, weak)
    decided = {**notes.noted(answers, decided), **notes.slips_here(answers, decided),
               **decided}
    return {**decided, **notes.float_pi_once(answers, decided, used)}


def _decide(answers: Mapping[str, tuple[P.Answer, Judgement]], used: dict[str, list[str]],
            judged: Mapping[str, Judgement], credit: float,
            weak: Mapping[str, Sequence[str]]) -> dict[str, Judgement]:
    """The judgements of the answers that follow (``used``: item -> the upstreams whose
    student answers it follows; ``judged``: its judgement against them), in registry order:
    from right upstreams only, that judgement as it is; an item carried only from carried
    answers loses its carry when an upstream it follows was wrong on its own (not carried).
    Nothing follows from a ``weak`` upstream (one without what the key's varies with) that
    is the student's own slip: lam = m/m_l typed in is no attempt at lambda, while the same
    lam reached by a derivation carried from an earlier slip is."""
    other: dict[str, Judgement] = {}  # simply right, or a refused carry explained
    kept: dict[str, list[str]] = {}  # carried item -> the wrong upstreams it follows
    for item_id in REGISTRY:
        if item_id not in used or any(u not in kept for u in weak.get(item_id, ())):
            continue
        wrong = [u for u in used[item_id]
                 if answers[u][1].fraction < 1 and answers[u][1].tag not in _FORM_ONLY]
        if not wrong:
            own = judged[item_id]
            other[item_id] = (correct("Correct (worked from your own earlier equation).")
                              if own.fraction >= 1 else own)
        elif _past_refusal(item_id, wrong, answers, kept):
            other[item_id] = dataclasses.replace(answers[item_id][1], message=(
                f"{answers[item_id][1].message} Your {notes.names(wrong)} rests on earlier answers "
                "that are not right, and nothing can be decided from it: fix those first."))
        elif not REGISTRY[item_id].carry_only_carried or all(u in kept for u in wrong):
            kept[item_id] = wrong
        else:
            up = notes.names(wrong)
            other[item_id] = dataclasses.replace(answers[item_id][1], message=(
                f"Your {REGISTRY[item_id].name} follows from your {up}, but that is not right "
                f"by itself: fix {up} (see its feedback) and this answer should follow. "
                f"{REGISTRY[item_id].name} earns its points only from a right derivation, or "
                "from one that goes wrong earlier."))
    return {**other, **{i: _carried(REGISTRY[i], credit, wrong, _roots(i, kept), judged[i])
                        for i, wrong in kept.items()}}
