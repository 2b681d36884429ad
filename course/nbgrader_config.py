"""nbgrader configuration for the RoPE base-scaling course.

Plain ``nbgrader autograde`` run in this folder grades correctly: the registry's hidden
tests only capture answers in the student kernel, and ``ScoreCaptures`` judges them here.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grader.preprocessors import (
    CappedExecute,
    LimitOutputSize,
    RestoreCellMetadata,
    RestoreTestCells,
    ScoreCaptures,
)

c = get_config()

c.CourseDirectory.course_id = "rope-scaling"
c.CourseDirectory.root = "."

# nbgrader's own sanitising, after RestoreCellMetadata: a copied, renamed or re-flagged cell
# would otherwise fail the whole notebook (see grader/preprocessors.py).  RestoreTestCells,
# after OverwriteCells, re-adds deleted test cells and moves displaced ones back.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    RestoreCellMetadata,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    RestoreTestCells,
    CheckCellMetadata,
]

# Order matters:
# - CappedExecute is nbgrader's Execute, keeping a bounded amount of each cell's output;
# - ScoreCaptures must come after Execute (it reads the captured answers from the outputs)
#   and after ClearMetadataPreprocessor (it stores each verdict in the cell's metadata);
# - it must come before LimitOutput (captures may be long; verdicts are short) and before
#   SaveAutoGrades (which turns each cell's outputs into its score);
# - LimitOutputSize caps characters (LimitOutput counts lines) and leaves grade cells alone.
c.Autograde.autograde_preprocessors = [
    CappedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    ScoreCaptures,
    LimitOutput,
    LimitOutputSize,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = {"nbgrader", "rope_course"}
c.Execute.timeout = 60
# the notebook has run: stop its kernel at once (a polite shutdown request costs ~0.5 s)
c.Execute.shutdown_kernel = "immediate"
# quiet kernels: no history file, and no start-up warnings on the grader's console
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40
