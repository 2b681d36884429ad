"""From an executed notebook cell to an :class:`~grader.results.ItemResult`.

The capture is read from the hidden-test cell's outputs, decoded as data, and judged by
the item's check in a forked child under a hard time limit.  The item is named by the
cell's nbgrader ``grade_id`` (restored from the gradebook), never by the captured payload.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nbformat import NotebookNode

from grader import carry, probes, speedcarry
from grader import payload as P
from grader.items import DEFAULT_PARAMS, REGISTRY, Item
from grader.limits import Outcome, run_each
from grader.results import ItemResult, Judgement, Verdict, wrong

CHECK_SECONDS = 10.0
"""Hard limit for judging one answer, in seconds of CPU time (see :mod:`grader.limits`)."""

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def grade_id(cell: NotebookNode) -> str | None:
    """The nbgrader grade_id of a cell, when it is an auto-graded test cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return meta.get("grade_id")
    return None


def registry_item(cell: NotebookNode) -> Item | None:
    """The registry item graded by this cell, if any."""
    gid = grade_id(cell)
    return REGISTRY.get(gid) if gid else None


def find_capture(cell: NotebookNode, item_id: str) -> P.Answer | str:
    """The captured answer for ``item_id`` in the cell's outputs, or why there is none."""
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") in (
            "display_data", "execute_result") else {}
        capture = data.get(P.MIME)
        if isinstance(capture, dict) and capture.get("item") == item_id:
            try:
                return P.from_json(capture.get("answer"))
            except P.PayloadError as exc:
                return f"tampered: {exc}"
    return _missing_reason(cell, item_id)


TIMING_KEY = "timing"
"""Where :class:`grader.preprocessors.CappedExecute` stores its stopwatch record, inside the
cell's ``rope_course`` metadata (cleared before every cell runs, so a student cannot plant
one)."""


def timing_record(cell: NotebookNode) -> P.Answer | str:
    """The grader's timing record of a speed item's cell, or why there is none."""
    data = cell.get("metadata", {}).get("rope_course", {})
    record = data.get(TIMING_KEY) if isinstance(data, dict) else None
    if record is None:
        return ("not timed: grade with the course's configuration (CappedExecute times "
                "speed items)")
    try:
        return P.from_json(record)
    except P.PayloadError as exc:
        return f"tampered: {exc}"


def _missing_reason(cell: NotebookNode, item_id: str) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            reason = f"{output.get('ename', 'Error')}: {_ANSI.sub('', output.get('evalue', ''))}"
            return reason[:300]  # the student's exception text: keep feedback small
    return "no answer was captured"


def judge(item: Item, answer: P.Answer, params: Mapping[str, Any] = DEFAULT_PARAMS,
          seconds: float = CHECK_SECONDS) -> Judgement:
    """Judge one answer with a hard time limit; never raises for a student's answer."""
    return judge_all([(item, answer)], params, seconds)[0]


def judge_all(pending: Sequence[tuple[Item, P.Answer]],
              params: Mapping[str, Any] = DEFAULT_PARAMS,
              seconds: float = CHECK_SECONDS) -> list[Judgement]:
    """Judge answers one after another in one forked child, each with its own hard time
    limit (see :func:`grader.limits.run_each`); never raises for a student's answer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for item, _ in pending:  # the answer key's side, cached in this process
            item.check.warm(item.id, params)
        outcomes = run_each(check_answer, [(item, answer, params) for item, answer in pending],
                            seconds)
    return [outcome_judgement(o) for o in outcomes]


def check_answer(item: Item, answer: P.Answer, params: Mapping[str, Any]) -> Judgement:
    """The item's check of one answer, warnings silenced (run in a forked child)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return item.check.judge(answer, item.id, params)


def outcome_judgement(outcome: Outcome[Judgement]) -> Judgement:
    """The judgement a checking call ended with: its value, or too_complex / grader_error."""
    if outcome.status == "ok" and outcome.value is not None:
        return outcome.value
    if outcome.status == "timeout":
        return wrong("too_complex", "Your answer is too complex to check in time. Simplify "
                     "it (sympy.simplify) and try again.", verdict=Verdict.TIMEOUT)
    return wrong("grader_error", "Your answer could not be checked; your instructor "
                 "has been told.", detail=outcome.message, verdict=Verdict.INVALID)


TIMEOUT_ENAME = "CellTimeoutError"
"""The error nbgrader's ``Execute`` records in a cell stopped at the per-cell time limit
(``Execute.error_on_timeout``)."""


KERNEL_DIED_ENAME = "KernelDied"
KERNEL_DIED_TEXT = ("the notebook's kernel died while this cell ran (it crashed, exited or was "
                    "killed: os._exit, a segmentation fault, a signal); no cell after it ran")


def kernel_died(cell: NotebookNode) -> bool:
    """Whether the kernel died while the cell ran (:class:`grader.preprocessors.CappedExecute`
    then ran no later cell)."""
    return any(o.get("output_type") == "error" and o.get("ename") == KERNEL_DIED_ENAME
               for o in cell.get("outputs", []))


def timed_out(cell: NotebookNode) -> bool:
    """Whether the cell was stopped at the per-cell time limit."""
    return any(o.get("output_type") == "error" and o.get("ename") == TIMEOUT_ENAME
               for o in cell.get("outputs", []))


def opening(cell: NotebookNode) -> str:
    """The cell's first non-blank line, to name it (cells have no numbers students see)."""
    lines = [ln.strip() for ln in str(cell.get("source", "")).splitlines()
             if ln.strip() and ln.strip() != "# YOUR CODE HERE"]  # nbgrader's stub marker
    first = lines[0] if lines else ""
    return first if len(first) <= 60 else first[:57] + "..."


def missing(item: Item, reason: str, stopped: NotebookNode | None = None,
            cell: NotebookNode | None = None, unanswered: bool = False) -> Judgement:
    """The judgement when no answer was captured; ``stopped`` is the last cell up to the
    test cell ``cell`` that was stopped at the time limit, or in which the kernel died;
    ``unanswered``: the item's answer cell still raises the release's NotImplementedError."""
    if stopped is not None and kernel_died(stopped):
        where = (f"while checking {item.name}: your {item.name} crashed it"
                 if stopped is cell else f"in the cell starting `{opening(stopped)}`")
        return wrong("kernel_died", f"Not graded: the notebook's kernel died {where} (os._exit, "
                     "a segmentation fault or a signal), so no cell after that ran. Answers "
                     "from the cells before it were graded. Fix that cell and run all cells "
                     "again.", detail=reason, verdict=Verdict.MISSING)
    if stopped is not None and stopped is cell:
        return wrong("cell_timeout", f"Checking {item.name} ran past the time limit and was "
                     f"stopped: for the grader's inputs your {item.name} is far too slow or "
                     "never finishes. Look for an endless loop, or work that grows much "
                     "faster than the input.", detail=reason, verdict=Verdict.TIMEOUT)
    name_error = f"NameError: name '{item.name}' is not defined"
    if stopped is not None and reason.startswith(name_error) and re.search(
            rf"\b{re.escape(item.name)}\b", str(stopped.get("source", ""))):
        return wrong("cell_timeout", f"{item.name} is not defined because the cell starting "
                     f"`{opening(stopped)}` ran past the time limit and was stopped before "
                     "it finished. Make that cell finish quickly (look for an endless loop, "
                     "or a computation far larger than asked), then run all cells again.",
                     detail=reason, verdict=Verdict.MISSING)
    if reason.startswith(name_error) and unanswered:
        return wrong("missing", f"Not answered yet: the cell for {item.name} still raises "
                     "NotImplementedError. Replace `raise NotImplementedError()` with your "
                     "answer.", detail=reason, verdict=Verdict.MISSING)
    if reason.startswith(name_error):
        note = "" if stopped is None else (
            f" Note that the cell starting `{opening(stopped)}` ran past the time limit and "
            "was stopped: whatever it should have defined is missing too.")
        return wrong("missing", f"{item.name} is not defined. Run the cell where you set it, "
                     f"and make sure it runs without an error.{note}", verdict=Verdict.MISSING)
    if reason.startswith("tampered"):
        return wrong("tampered", "The answer for this item was not recorded correctly.",
                     detail=reason, verdict=Verdict.INVALID)
    if reason.startswith("NameError"):
        return wrong("missing", f"This check could not run: {reason}. Define every name the "
                     "notebook asks for and run all cells from the top.", verdict=Verdict.MISSING)
    return wrong("missing", f"No answer for {item.name} was recorded ({reason}).",
                 detail=reason, verdict=Verdict.MISSING)


def _answer_of(cell: NotebookNode) -> str:
    """The grade id an answer cell answers (``theta_i`` for ``theta_i_answer``), or ""."""
    grade_id = str(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
    return grade_id.removesuffix("_answer") if grade_id.endswith("_answer") else ""


def _raised(cell: NotebookNode, ename: str) -> bool:
    """Did the cell raise ``ename`` when it ran?"""
    return any(out.get("output_type") == "error" and out.get("ename") == ename
               for out in cell.get("outputs", ()))


def score_cells(cells: Sequence[NotebookNode], params: Mapping[str, Any] = DEFAULT_PARAMS,
                seconds: float = CHECK_SECONDS,
                early: Callable[[Item, P.Answer], Judgement | None] | None = None,
                carry_credit: float = 1.0) -> list[ItemResult | None]:
    """Judge every hidden-test cell of the registry (all in one checking process); None for
    any other cell.  The points come from the cell's nbgrader metadata, which the gradebook
    restored.  ``early`` gives the judgement of an answer already judged while the notebook
    ran (:mod:`grader.earlyjudge`), or None; only the other answers are judged here.  An
    answer wrong against the key but worked correctly from the student's own wrong upstream
    answer earns ``carry_credit`` of its points (:mod:`grader.carry`)."""
    found: list[tuple[Item, float, P.Answer | str] | None] = []
    stopped: list[NotebookNode | None] = []  # the last cell, up to each, that timed out
    unanswered = {_answer_of(cell) for cell in cells if _raised(cell, "NotImplementedError")}
    for cell in cells:
        before = stopped[-1] if stopped else None
        stopped.append(before if before is not None and kernel_died(before)
                       else cell if timed_out(cell) or kernel_died(cell) else before)
        item = registry_item(cell)
        if item is None:
            found.append(None)
            continue
        answer = find_capture(cell, item.id)
        if item.id in probes.TIMINGS and not isinstance(answer, str):
            answer = timing_record(cell)
        found.append((item, float(cell["metadata"]["nbgrader"].get("points", item.points)),
                      answer))
    known = [None if f is None or isinstance(f[2], str) or early is None else early(f[0], f[2])
             for f in found]
    pending = [(f[0], f[2]) for f, k in zip(found, known)
               if f is not None and not isinstance(f[2], str) and k is None]
    judged = iter(judge_all(pending, params, seconds) if pending else [])
    judgements: dict[int, Judgement] = {}
    for n, (f, k) in enumerate(zip(found, known)):
        if f is not None:
            item, _, answer = f
            judgements[n] = (missing(item, answer, stopped[n], cells[n],
                                     item.id in unanswered)
                             if isinstance(answer, str) else k or next(judged))
    answered = {f[0].id: (f[2], judgements[n]) for n, f in enumerate(found)
                if f is not None and not isinstance(f[2], str)}
    carried = carry.follow_through(answered, params, seconds, carry_credit)
    carried.update(_timed_on_carried(answered, carried))
    return [None if f is None else ItemResult.from_judgement(
                f[0].id, f[1], carried.get(f[0].id, judgements[n]))
            for n, f in enumerate(found)]


def _timed_on_carried(answered: Mapping[str, tuple[P.Answer, Judgement]],
                      carried: Mapping[str, Judgement]) -> dict[str, Judgement]:
    """A speed item refused for wrong values whose timed function is carried over (right
    for the student's own wrong earlier answers, so not the key's values): say so, rather
    than send the student to a function whose feedback says it is right."""
    notes = {}
    for item_id, (_, judgement) in answered.items():
        if item_id not in probes.TIMINGS or judgement.tag != "wrong_values":
            continue
        speed = REGISTRY[item_id]  # named after the function it times, as that item is
        timed = next((it.id for it in REGISTRY.values() if it.name == speed.name
                      and it.notebook == speed.notebook and it.id != item_id), None)
        if timed in carried and carried[timed].tag == carry.TAG:
            name = speed.name
            record = answered[item_id][0]
            if isinstance(record, P.TimingAnswer) and "rope_frequencies" in answered and (
                    speedcarry.right_for_own_frequencies(
                        item_id, record, answered["rope_frequencies"][0])):
                own = speed.check.judge(dataclasses.replace(record, wrong_output=False,
                                                            rounds=()), item_id, {})
                notes[item_id] = dataclasses.replace(own, message=(
                    f"{own.message} (Timed on your own frequencies: every timed result is "
                    f"right for them. See the feedback on {name} for the slip to fix.)"))
                continue
            notes[item_id] = dataclasses.replace(judgement, message=(
                f"Speed points need {name} to return the key's values on the timed input. "
                f"Yours is right for your own earlier answers, which are not (see the "
                f"feedback on {name}: it names what to fix); once they are fixed, it is "
                "timed."))
    return notes


def score_cell(cell: NotebookNode, params: Mapping[str, Any] = DEFAULT_PARAMS,
               seconds: float = CHECK_SECONDS) -> ItemResult | None:
    """:func:`score_cells` for one cell."""
    return score_cells([cell], params, seconds)[0]


def write_result(cell: NotebookNode, result: ItemResult) -> None:
    """Replace the cell's outputs by the verdict, the way nbgrader scores a cell: feedback on
    stdout and the points as the numeric result, or an error for zero."""
    text = f"[{result.tag}] {result.message}"
    if result.score > 0:
        cell.outputs = [
            NotebookNode(output_type="stream", name="stdout", text=text + "\n"),
            NotebookNode(output_type="execute_result", execution_count=cell.get(
                "execution_count"), metadata={}, data={"text/plain": repr(result.score)}),
        ]
    else:
        ename = {Verdict.MISSING: "NotAnswered", Verdict.TIMEOUT: "TooComplex",
                 Verdict.INVALID: "InvalidAnswer"}.get(result.verdict, "WrongAnswer")
        cell.outputs = [NotebookNode(output_type="error", ename=ename, evalue=text,
                                     traceback=[f"{ename}: {text}"])]
    cell.metadata["rope_course"] = {
        "item": result.item, "score": result.score, "max_score": result.max_score,
        "verdict": result.verdict.value, "tag": result.tag, "message": result.message,
        "detail": result.detail,
    }


def read_result(cell: NotebookNode) -> ItemResult | None:
    """The result :func:`write_result` stored in a cell, if any."""
    data = cell.get("metadata", {}).get("rope_course")
    if not isinstance(data, dict):
        return None
    return ItemResult(item=data["item"], score=float(data["score"]),
                      max_score=float(data["max_score"]), verdict=Verdict(data["verdict"]),
                      tag=data["tag"], message=data["message"], detail=data.get("detail", ""))
