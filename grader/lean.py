"""Make grader processes faster without changing what they compute.  Two measured costs:

* ``jsonschema`` (pulled in by nbformat) imports ``rfc3987_syntax`` when it is installed, only
  to check the "iri" string format, which no notebook, nbgrader or Jupyter schema the grader
  uses relies on.  Building its grammars costs 1.5-2 s in every process that imports nbformat
  (the command line, the forkserver).  Importing this module first makes that import fail
  quickly, so ``jsonschema`` simply skips that one format check.
* nbgrader checks each cell's ``nbgrader`` metadata with ``jsonschema.validate``, which first
  checks the *schema itself* against its meta-schema, on every call.  nbgrader's
  ``CheckCellMetadata`` runs twice per notebook, once per cell, so that repeated check of the
  same small schema took ~0.3 s of every notebook's grading.  :func:`install_schema_cache`
  wraps ``jsonschema.validate`` so that a schema is checked once and its validator reused;
  errors and results are jsonschema's own.
* nbgrader commits its gradebook about 50-80 times per notebook, and SQLite waits for the disk
  (fsync) at every commit: about 1.3 ms each here.  A job's gradebook is a throwaway copy
  (the journal, not the job folder, is what survives a crash), so :func:`scratch_gradebook`
  marks it, and its connections skip those waits (``synchronous=OFF``, the rollback
  journal in memory).  The class gradebook keeps SQLite's defaults.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

_VALIDATORS: dict[str, Any] = {}
"""checked validators by the schema's canonical JSON (a mutated schema is a new key)"""
_CACHE_LIMIT = 64


def cached_validate(original: Callable[..., None]) -> Callable[..., None]:
    """``original`` (``jsonschema.validate``) with each schema checked once per process."""
    from jsonschema import exceptions, validators

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        if cls is not None or args or kwargs:
            return original(instance, schema, cls, *args, **kwargs)
        try:
            key = json.dumps(schema, sort_keys=True)
        except (TypeError, ValueError):  # not plain JSON: nothing to cache on
            return original(instance, schema)
        validator = _VALIDATORS.get(key)
        if validator is None:
            kind = validators.validator_for(schema)
            kind.check_schema(schema)  # raises SchemaError as jsonschema.validate does
            validator = kind(schema)
            if len(_VALIDATORS) < _CACHE_LIMIT:
                _VALIDATORS[key] = validator
        error = exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    validate.__wrapped__ = original  # type: ignore[attr-defined]
    validate.__doc__ = original.__doc__
    return validate


def install_schema_cache() -> None:
    """Replace ``jsonschema.validate`` (the name nbgrader calls) by :func:`cached_validate`.
    Idempotent."""
    import jsonschema

    if not hasattr(jsonschema.validate, "__wrapped__"):
        jsonschema.validate = cached_validate(jsonschema.validate)


_SCRATCH: set[str] = set()
"""absolute paths of the job gradebooks whose connections skip fsync"""


def scratch_gradebook(path: Path) -> None:
    """Let SQLite connections to ``path`` (a job's throwaway gradebook) skip the disk waits
    of every commit.  Safe to call for every job."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _fast_commits):
        event.listen(Engine, "connect", _fast_commits)
    _SCRATCH.add(str(Path(path).resolve()))


def _fast_commits(dbapi_connection: Any, _record: Any) -> None:
    if not _SCRATCH or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    main = next((row for row in dbapi_connection.execute("PRAGMA database_list")
                 if row[1] == "main"), None)
    if main is not None and main[2] and str(Path(main[2]).resolve()) in _SCRATCH:
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA journal_mode=MEMORY")
