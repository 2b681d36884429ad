"""``rope-course release``: nbgrader validate, then generate_assignment into course/release/."""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grader import pipeline
from grader.items import NOTEBOOKS


def release(check: bool = False, course: Path = pipeline.COURSE) -> int:
    """Regenerate (or, with ``check``, compare) every release notebook; return exit status."""
    stale = []
    with tempfile.TemporaryDirectory(prefix="rope-release-") as tmp:
        work = pipeline.working_copy(Path(tmp) / "course", course)
        for assignment in NOTEBOOKS:
            source = work / "source" / assignment / f"{assignment}.ipynb"
            try:
                pipeline.nbgrader(["validate", str(source)], work)
            except pipeline.PipelineError as exc:
                print(f"refusing to release {assignment}: the source notebook fails "
                      f"nbgrader validate.\n{exc}\nFix the source notebook, then run "
                      "`rope-course release` again.", file=sys.stderr)
                return 1
            generated = pipeline.generate(work, assignment)
            target = course / "release" / assignment / f"{assignment}.ipynb"
            if target.exists() and filecmp.cmp(generated, target, shallow=False):
                print(f"{assignment}: up to date")
                continue
            stale.append(assignment)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(generated, target)
                print(f"{assignment}: released to {target}")
    if check and stale:
        print(f"out of date: {', '.join(stale)} (run `rope-course release`)", file=sys.stderr)
        return 1
    return 0
