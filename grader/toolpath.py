"""This environment's scripts first on PATH: nbgrader's Gradebook shells out to ``alembic``
and its kernels to ``jupyter``, even when the venv is not activated.  Its own module, free of
heavy imports, so the command line can call it before anything else."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def tools_on_path() -> None:
    """Put the running interpreter's ``bin`` folder first on ``PATH`` (once)."""
    bin_dir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *parts])
