"""nbgrader glue: one preprocessor that scores the captured answers.

It runs in ``nbgrader autograde`` after ``Execute`` and before ``SaveAutoGrades``; see
``course/nbgrader_config.py`` for the order and why.
"""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Float

from grader import scoring
from grader.items import DEFAULT_PARAMS


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
        help="Hard limit, in seconds, for judging one answer (enforced from outside).",
    ).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        """Score one cell (cells outside the registry pass through unchanged)."""
        result = scoring.score_cell(cell, self.params, self.check_timeout)
        if result is not None:
            scoring.write_result(cell, result)
            self.log.info("%s: %s/%s [%s]", result.item, result.score, result.max_score,
                          result.tag)
        return cell, resources
