"""nbgrader glue: the preprocessor that scores the captured answers, and three guards.

``ScoreCaptures`` runs in ``nbgrader autograde`` after ``Execute`` and before
``SaveAutoGrades``; see ``course/nbgrader_config.py`` for the order and why.  The guards
keep a tampered or noisy notebook gradable: ``RestoreCellMetadata`` (before nbgrader's own
sanitising), ``CappedExecute`` and ``LimitOutputSize`` (output volume, in characters).

Importing this module (nbgrader does, through ``course/nbgrader_config.py``) also makes
nbgrader's per-cell metadata checks cheaper: see :func:`grader.lean.install_schema_cache`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import nbformat
from nbclient.exceptions import DeadKernelError
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import SCHEMA_VERSION
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Integer

from grader import earlyjudge, lean, probes, scoring, sidebyside, stopwatch
from grader import payload as P
from grader.items import DEFAULT_PARAMS, Item
from grader.results import Judgement

lean.install_schema_cache()


class ScoreCaptures(NbGraderPreprocessor):
    """Judge every hidden-test cell that belongs to the registry, in the grader's process.

    The student's kernel only captured answers as data; this preprocessor rebuilds them,
    compares them with ``solutions/`` and writes each cell's result the way nbgrader scores
    cells: feedback on stdout and the points as the cell's numeric result, or an error.
    """

    params = Dict(
        dict(DEFAULT_PARAMS),
        help="Problem parameters (m_l, m, d, b) the checks use; per-student variants set these.",
    ).tag(config=True)

    check_timeout = Float(
        scoring.CHECK_SECONDS,
        help="Hard limit, in seconds of CPU time, for judging one answer (enforced from outside; "
        "a busy machine does not use it up).",
    ).tag(config=True)

    carry_credit = Float(
        1.0, min=0.0, max=1.0,
        help="Share of an item's points for an answer worked correctly from the student's own "
             "wrong earlier answer (follow-through, tagged carried_over); 0 gives none.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Score every registry cell (other cells pass through unchanged), all of them
        judged in one checking process, except the answers ``CappedExecute`` had judged
        while the notebook ran (with the same parameters and limit)."""
        judge = resources.get(earlyjudge.RESOURCE) if isinstance(resources, dict) else None

        def early(item: Item, answer: P.Answer) -> Judgement | None:
            return judge.judgement(item, answer, self.params, self.check_timeout)

        results = scoring.score_cells(nb.cells, self.params, self.check_timeout,
                                      early if isinstance(judge, earlyjudge.EarlyJudge)
                                      else None, self.carry_credit)
        for cell, result in zip(nb.cells, results):
            if result is not None:
                scoring.write_result(cell, result)
                self.log.info("%s: %s/%s [%s]", result.item, result.score, result.max_score,
                              result.tag)
        return nb, resources


class RestoreCellMetadata(NbGraderPreprocessor):
    """Give every nbgrader cell back the flags the gradebook recorded, before nbgrader's own
    sanitising (``DeduplicateIds``, ``OverwriteCells``) runs.

    nbgrader 0.9.6 restores a test cell's source, type and points, but not its flags, and it
    fails the whole notebook (every item zero) when a cell was copied (``DeduplicateIds``
    leaves ``nbgrader: {}``), renamed to an unknown grade_id, or re-flagged.  Here a copied
    cell keeps its metadata on the last copy only (nbgrader's rule), a cell with an unknown or
    malformed grade_id becomes an ordinary cell, and known cells get their recorded flags.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Restore the flags of every cell that carries nbgrader metadata."""
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            book = gb.find_notebook(info["notebook"], info["assignment"])
            locked = {c.name: bool(c.locked) for c in book.source_cells}
            points = {c.name: float(c.max_score) for c in book.grade_cells}
            solutions = {c.name for c in book.solution_cells}
            tasks = {c.name for c in book.task_cells}
        last = {}
        for index, cell in enumerate(nb.cells):
            last[_grade_id(cell)] = index
        for index, cell in enumerate(nb.cells):
            if "nbgrader" not in cell.get("metadata", {}):
                continue
            gid = _grade_id(cell)
            if gid not in locked or last[gid] != index:
                self.log.warning("Cell %d: nbgrader metadata for %r dropped (unknown or "
                                 "repeated grade_id)", index, gid)
                del cell.metadata["nbgrader"]
                continue
            old = cell.metadata["nbgrader"]
            meta = {k: old[k] for k in ("checksum", "cell_type") if k in old}
            meta.update(grade=gid in points, grade_id=gid, locked=locked[gid],
                        schema_version=SCHEMA_VERSION, solution=gid in solutions,
                        task=gid in tasks)
            if gid in points:
                meta["points"] = points[gid]
            cell.metadata["nbgrader"] = meta
        return nb, resources


class RestoreTestCells(NbGraderPreprocessor):
    """Put every auto-graded test cell back where the source notebook has it, after nbgrader's
    ``OverwriteCells`` (which restores the cells it finds, but not deleted ones).

    A deleted test cell (or one whose nbgrader metadata was removed or renamed, which
    ``RestoreCellMetadata`` turned into an ordinary cell) is re-added from the gradebook; a test
    cell moved above the source cell that precedes it is moved back.  Either lands just before
    the next source cell, so cells the student added after their answer still run first.  The
    item is then graded as if the cell had never been touched.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Re-add and re-order the test cells, in source order."""
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            book = gb.find_notebook(info["notebook"], info["assignment"])
            order = [c.name for c in book.source_cells]  # nbgrader records them in order
            solutions = {c.name for c in book.solution_cells}
            points = {c.name: float(c.max_score) for c in book.grade_cells
                      if c.name not in solutions and c.cell_type == "code"}
            tests = {c.name: _test_cell(c, points[c.name]) for c in book.source_cells
                     if c.name in points}
            sources = {c.name: c.source for c in book.source_cells if c.name in points}
        for position, gid in enumerate(order):
            if gid in tests:
                self._place(nb, order, position, tests[gid], sources[gid])
        return nb, resources

    def _place(self, nb: NotebookNode, order: list[str], position: int, fresh: NotebookNode,
               source: str) -> None:
        where = {_grade_id(c): i for i, c in enumerate(nb.cells) if _grade_id(c)}
        before = max((where[g] for g in order[:position] if g in where), default=-1)
        after = min((where[g] for g in order[position + 1:]
                     if g in where and where[g] > before), default=len(nb.cells))
        gid = order[position]
        current = where.get(gid)
        if current is not None and before < current < after:
            return
        if current is None:
            self.log.warning("Test cell %s was missing: added back from the gradebook", gid)
            cell = fresh
            cell.source = source
        else:
            self.log.warning("Test cell %s was moved: put back after the cell before it", gid)
            cell = nb.cells.pop(current)
            after -= current < after
        nb.cells.insert(after, cell)


def _test_cell(source_cell: object, points: float) -> NotebookNode:
    """A locked auto-graded test cell as generate_assignment left it (source set later)."""
    cell = nbformat.v4.new_code_cell("")
    cell.metadata.update(deletable=False, editable=False, nbgrader={
        "grade": True, "grade_id": source_cell.name, "locked": True,
        "checksum": source_cell.checksum, "cell_type": "code", "points": points,
        "solution": False, "task": False, "schema_version": SCHEMA_VERSION})
    return cell


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


def _note(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=f"\n... {text} ...\n")


class CappedExecute(Execute):
    """nbgrader's ``Execute``, keeping at most ``max_cell_chars`` characters of each cell's
    outputs while the cell runs: a kernel printing without end cannot fill the grader's memory
    (the kernel's own memory is capped by the sandbox, the grader's is not)."""

    max_cell_chars = Integer(
        5_000_000, help="Characters of output kept per cell while it runs; the rest is dropped.",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict | None = None,
                   km: object = None) -> tuple[NotebookNode, ResourcesDict]:
        """Execute the notebook with a fresh per-cell output budget.  Grading overlaps the
        student's cells: a timing box for each speed item starts with the kernel (and is
        closed at the end, used or not), and every captured answer goes to an
        :class:`~grader.earlyjudge.EarlyJudge` (left in ``resources`` for ``ScoreCaptures``)
        as soon as its cell has run."""
        self._chars: dict[int, int] = {}
        self._died = False
        self._boxes: dict[str, sidebyside.TimingBox] = {}
        self._boxes_started = False
        self._early = earlyjudge.EarlyJudge(*self._scoring_config())
        if isinstance(resources, dict):
            resources[earlyjudge.RESOURCE] = self._early
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._early.close()
            for box in self._boxes.values():
                box.close()

    def _scoring_config(self) -> tuple[dict, float]:
        """The parameters and time limit ``ScoreCaptures`` is configured with: answers are
        judged early under those (``ScoreCaptures`` ignores any judged otherwise)."""
        section = self.config.get("ScoreCaptures") or {}
        params, seconds = (section.get("params", DEFAULT_PARAMS),
                           section.get("check_timeout", scoring.CHECK_SECONDS))
        if not isinstance(params, Mapping) or not isinstance(seconds, (int, float)):
            return {}, -1.0  # set some other way: ScoreCaptures will judge everything itself
        return dict(params), float(seconds)

    def _start_boxes(self) -> None:
        """Start a timing box for every speed item among the notebook's graded cells."""
        spec = getattr(self.km, "kernel_spec", None)
        argv = getattr(spec, "argv", None) or []
        for cell in self.nb.cells:
            item = scoring.registry_item(cell)
            if item is not None and item.id in probes.TIMINGS and item.id not in self._boxes:
                self._boxes[item.id] = sidebyside.TimingBox(item.id, argv)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        """Run one cell; hand a registry cell's captured answer to the early judge.  After a
        speed item's hidden test, time the student's function beside the answer key in its
        timing box (:mod:`grader.sidebyside`; in the kernel itself, :mod:`grader.stopwatch`,
        when it cannot be pickled), keep the record in the cell's metadata and hand that on.
        Whatever ``rope_course`` metadata a submitted cell carried is dropped first."""
        cell.get("metadata", {}).pop("rope_course", None)
        if self._died:  # nothing runs after the kernel's death: those cells stay empty
            return cell, resources
        if not self._boxes_started and self.km is not None:  # the kernel's sandbox is known
            self._boxes_started = True
            self._start_boxes()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:  # the cells before this one are graded as they ran
            self._died = True
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=scoring.KERNEL_DIED_ENAME, evalue=scoring.KERNEL_DIED_TEXT,
                traceback=[f"{scoring.KERNEL_DIED_ENAME}: {scoring.KERNEL_DIED_TEXT}"]))
            return cell, resources
        item = scoring.registry_item(cell)
        if item is None:
            return cell, resources
        answer = scoring.find_capture(cell, item.id)
        if item.id not in probes.TIMINGS and not isinstance(answer, str):
            self._early.submit(item, answer)  # judged while the next cells run
        if item.id in probes.TIMINGS and isinstance(answer, P.CallsAnswer):
            def run(code: str) -> list[NotebookNode]:
                return self._scratch(code, index)

            record = None
            kernel_pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
            if (box := self._boxes.pop(item.id, None)) is not None:
                with box:  # the kernel's processes are paused while the box times
                    record = box.time(run, kernel_pid)
            record = record or stopwatch.time_kernel(run, item.id, kernel_pid)
            cell.metadata["rope_course"] = {scoring.TIMING_KEY: P.to_json(record)}
            self._early.submit(item, record)
        return cell, resources

    def _scratch(self, code: str, index: int) -> list[NotebookNode]:
        """Execute grader code in the student's kernel, outside the notebook; its outputs."""
        kept, real = self._chars.get(index, 0), self.nb.cells[index]
        self._chars[index] = 0
        try:
            scratch = nbformat.v4.new_code_cell(code)
            return list(self.execute_cell(scratch, index, store_history=False).outputs)
        finally:  # nbclient puts the executed cell into the notebook: put the real one back
            self._chars[index] = kept
            self.nb.cells[index] = real

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        """Record one output message unless the cell has used its budget."""
        used = self._chars.get(cell_index, 0)
        if used >= self.max_cell_chars:
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        size = len(json.dumps(out))
        self._chars[cell_index] = used + size
        if used + size > self.max_cell_chars:
            self._chars[cell_index] = self.max_cell_chars
            if outs and outs[-1] is out:
                outs.pop()
            if out.get("output_type") == "stream":
                out.text = out.text[: self.max_cell_chars - used]
                outs.append(out)
            outs.append(_note(f"output stopped: more than {self.max_cell_chars} characters"))
        return out


class LimitOutputSize(NbGraderPreprocessor):
    """Cap, in characters, what each cell and the whole notebook keep of their outputs
    (nbgrader's ``LimitOutput`` counts lines: a single ten-million-character line passes it).

    Grade cells are left alone: nbgrader reads their points from their outputs, and
    ``ScoreCaptures`` has already replaced those by a short verdict.
    """

    max_chars = Integer(200_000, help="Characters of output kept per cell.").tag(config=True)
    max_notebook_chars = Integer(
        1_000_000, help="Characters of output kept in the whole notebook.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Cap every cell against one notebook-wide budget."""
        self._left = self.max_notebook_chars
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        """Keep this cell's outputs up to its share of the budget."""
        if cell.cell_type != "code" or utils.is_grade(cell):
            return cell, resources
        limit = min(self.max_chars, self._left)
        kept: list[NotebookNode] = []
        used = 0
        for out in cell.outputs:
            size = len(json.dumps(out))
            if used + size > limit:
                if out.get("output_type") == "stream" and limit - used > 0:
                    out.text = out.text[: limit - used]
                    kept.append(out)
                    used += len(out.text)
                kept.append(_note("output truncated: too large to keep"))
                break
            kept.append(out)
            used += size
        cell.outputs = kept
        self._left = max(self._left - used, 0)
        return cell, resources
