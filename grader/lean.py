"""Start grader processes faster: keep one optional, slow import out.

``jsonschema`` (pulled in by nbformat) imports ``rfc3987_syntax`` when it is installed, only to
check the "iri" string format, which no notebook, nbgrader or Jupyter schema the grader uses
relies on.  Building its grammars costs 1.5-2 s in every process that imports nbformat (the
command line, the forkserver).  Importing this module first makes that import fail quickly, so
``jsonschema`` simply skips that one format check.
"""

from __future__ import annotations

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
