"""Judge captured answers in the background while the student's notebook is still running.

The student's kernel is a separate process, so while a cell runs the grader only waits.
:class:`~grader.preprocessors.CappedExecute` hands every answer to an :class:`EarlyJudge`
as soon as its hidden-test cell has run; a background thread sends each to one forked
checking process (:class:`grader.limits.Worker`: the same checks and hard time limit as
:func:`grader.scoring.judge_all`, and one fork per notebook as there) and keeps the
judgements.  :class:`~grader.preprocessors.ScoreCaptures` then takes the judgement of every
answer it reads that was judged early with the same parameters, and judges the rest itself.

A judgement is keyed by the item and the answer's exact JSON, so it is only ever used for
the very answer it was made for.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from grader import limits, scoring
from grader import payload as P
from grader.items import REGISTRY, Item
from grader.results import Judgement

Key = tuple[str, str]

RESOURCE = "rope_course_early_judge"
"""Where ``CappedExecute`` leaves its :class:`EarlyJudge` in nbconvert's ``resources``."""


def _key(item: Item, answer: P.Answer) -> Key:
    return item.id, json.dumps(P.to_json(answer), sort_keys=True)


class EarlyJudge:
    """Answers judged in a background thread, in order, as they are submitted (none when
    ``seconds`` is not positive: then every answer is left to ``ScoreCaptures``)."""

    def __init__(self, params: Mapping[str, Any], seconds: float) -> None:
        self.params, self.seconds = dict(params), seconds
        self._queue: list[tuple[Key, Item, P.Answer]] = []
        self._done: dict[Key, Judgement] = {}
        self._pending: set[Key] = set()
        self._closed = False
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, item: Item, answer: P.Answer) -> None:
        """Queue one answer for judging (a repeat of a queued or judged one is ignored, and
        so is one that cannot be keyed: ScoreCaptures judges it at the end)."""
        try:
            key = _key(item, answer)
        except (TypeError, ValueError):
            return
        with self._lock:
            if (self._closed or self.seconds <= 0 or key in self._pending
                    or key in self._done):
                return
            self._pending.add(key)
            self._queue.append((key, item, answer))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="early-judge",
                                                daemon=True)
                self._thread.start()
            self._lock.notify()

    def close(self) -> None:
        """No more submissions: the thread judges what is queued, then ends."""
        with self._lock:
            self._closed = True
            self._lock.notify()

    def judgement(self, item: Item, answer: P.Answer, params: Mapping[str, Any],
                  seconds: float) -> Judgement | None:
        """The early judgement of this very answer under these parameters and time limit,
        waiting for it if it is still being judged; None when there is none."""
        if dict(params) != self.params or seconds != self.seconds:
            return None
        try:
            key = _key(item, answer)
        except (TypeError, ValueError):
            return None
        with self._lock:
            while key in self._pending:
                self._lock.wait()
            return self._done.get(key)

    def _loop(self) -> None:
        worker = limits.Worker(_judge, self.seconds)  # forked at the first answer
        try:
            while True:
                with self._lock:
                    while not self._queue and not self._closed:
                        self._lock.wait()
                    if not self._queue:
                        return
                    key, item, answer = self._queue.pop(0)
                judgement: Judgement | None
                try:
                    outcome = worker.call(item.id, P.to_json(answer), self.params)
                    judgement = scoring.outcome_judgement(outcome)
                except Exception:  # ScoreCaptures judges this answer itself
                    judgement = None
                with self._lock:
                    self._pending.discard(key)
                    if judgement is not None:
                        self._done[key] = judgement
                    self._lock.notify_all()
        finally:
            worker.close()
            with self._lock:  # nothing is left waiting, whatever happened
                self._pending.clear()
                self._lock.notify_all()


def _judge(item_id: str, answer: Any, params: Mapping[str, Any]) -> Judgement:
    """In the judging child: one answer, from its item id and JSON, as judge_all would."""
    item = REGISTRY[item_id]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        item.check.warm(item_id, params)  # cached: once per item and child
    return scoring.check_answer(item, P.from_json(answer), params)
