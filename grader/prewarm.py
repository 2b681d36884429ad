"""Fill the grader's caches once, in the forkserver, so that every grading job (a process
forked from it, see :mod:`grader.workers`) starts warm: each check's warm-up (answer-key
values at the fixed points, sympy results), the answer key's time on the speed workload, and
the feedback renderer (template compiled, the release's cells highlighted).

The forkserver preloads modules by name, so importing this module does the work.
"""

from __future__ import annotations

import warnings

from grader import feedback, pipeline, probes, stopwatch
from grader.items import DEFAULT_PARAMS, NOTEBOOKS, REGISTRY


def warm_all() -> None:
    """Warm every registry check and time the reference kernel on each speed workload."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for item in REGISTRY.values():
            item.check.warm(item.id, DEFAULT_PARAMS)
    for spec in probes.TIMINGS.values():
        stopwatch.reference_seconds(spec.shape, spec.dtype)
    release = pipeline.COURSE / "release"
    feedback.warm([path for nb in NOTEBOOKS if (path := release / nb / f"{nb}.ipynb").is_file()])


warm_all()
