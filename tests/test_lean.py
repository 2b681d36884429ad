"""grader.lean: faster grader processes, same results as the libraries it speeds up."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import nbformat
import pytest
from jsonschema import exceptions
from nbgrader.nbgraderformat import MetadataValidator

from grader import lean

SCHEMA = {"type": "object", "properties": {"points": {"type": "number", "minimum": 0}},
          "required": ["points"], "additionalProperties": False}
ORIGINAL = getattr(jsonschema.validate, "__wrapped__", jsonschema.validate)


def _error(fn, instance, schema) -> str | None:
    try:
        fn(instance, schema)
    except exceptions.ValidationError as exc:
        return f"{exc.message} at {list(exc.absolute_path)}"
    return None


@pytest.mark.parametrize("instance", [
    {"points": 2}, {"points": -1}, {"points": "2"}, {}, {"points": 1, "extra": 0}, [],
])
def test_cached_validate_gives_jsonschemas_own_verdict(instance) -> None:
    """Does the cached validate accept and reject exactly what jsonschema.validate does, with
    the same message and path, on the first call and on later calls?"""
    cached = lean.cached_validate(ORIGINAL)
    expected = _error(ORIGINAL, instance, SCHEMA)
    assert _error(cached, instance, SCHEMA) == expected
    assert _error(cached, instance, SCHEMA) == expected


def test_schema_is_checked_once_and_a_mutated_schema_again(monkeypatch) -> None:
    """Is a schema checked against its meta-schema once, a changed schema checked anew, and
    an invalid schema refused with jsonschema's SchemaError?"""
    checked: list[str] = []
    kind = jsonschema.validators.validator_for(SCHEMA)
    real = kind.check_schema.__func__
    monkeypatch.setattr(kind, "check_schema",
                        classmethod(lambda cls, s: (checked.append(str(s)), real(cls, s))))
    monkeypatch.setattr(lean, "_VALIDATORS", {})
    cached = lean.cached_validate(ORIGINAL)
    schema = dict(SCHEMA)
    for _ in range(3):
        cached({"points": 1}, schema)
    assert len(checked) == 1
    schema["required"] = ["points", "grade"]
    assert _error(cached, {"points": 1}, schema) == "'grade' is a required property at []"
    assert len(checked) == 2
    with pytest.raises(exceptions.SchemaError):
        cached({"points": 1}, {"type": "no such type"})


def test_nbgraders_metadata_check_still_refuses_bad_metadata() -> None:
    """With the cache installed (importing grader.preprocessors does it), does nbgrader's
    own validator still accept the course's source notebook and refuse a cell whose points
    are text?"""
    import grader.preprocessors  # noqa: F401

    assert hasattr(jsonschema.validate, "__wrapped__")
    lean.install_schema_cache()  # idempotent: still one layer
    assert not hasattr(jsonschema.validate.__wrapped__, "__wrapped__")
    from grader.pipeline import COURSE

    nb = nbformat.read(COURSE / "source" / "derive_lambda" / "derive_lambda.ipynb", as_version=4)
    MetadataValidator().validate_nb(nb)
    graded = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("points"))
    graded.metadata["nbgrader"]["points"] = "two"
    with pytest.raises(exceptions.ValidationError, match="'two' is not of type 'number'"):
        MetadataValidator().validate_nb(nb)


def _pragmas(url: str) -> tuple[int, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return (conn.execute(text("PRAGMA synchronous")).scalar(),
                    conn.execute(text("PRAGMA journal_mode")).scalar())
    finally:
        engine.dispose()


def test_only_a_scratch_gradebook_skips_fsync(tmp_path: Path) -> None:
    """A job's gradebook (marked) commits without waiting for the disk; any other database,
    such as the class gradebook, keeps SQLite's defaults (FULL, a rollback journal file); and
    nbgrader records grades in a scratch gradebook as usual."""
    from nbgrader.api import Gradebook

    from grader.toolpath import tools_on_path

    tools_on_path()  # nbgrader runs alembic to create a gradebook
    scratch, other = tmp_path / "job" / "gradebook.db", tmp_path / "class.db"
    scratch.parent.mkdir()
    lean.scratch_gradebook(scratch)
    lean.scratch_gradebook(scratch)  # idempotent
    with Gradebook(f"sqlite:///{scratch}") as gb:
        gb.add_student("ada")
    with Gradebook(f"sqlite:///{other}") as gb:
        gb.add_student("ada")
    assert _pragmas(f"sqlite:///{scratch}") == (0, "memory")
    assert _pragmas(f"sqlite:///{other}") == (2, "delete")
    with Gradebook(f"sqlite:///{scratch}") as gb:
        assert [s.id for s in gb.students] == ["ada"]
