"""`rope-course grade --db postgresql://...`: the class gradebook on a real PostgreSQL server.

A throwaway server (its own data folder, a Unix socket in a private folder, no TCP) is
started for this module; a small class is graded into it, compared with the same class
graded into the default SQLite gradebook, and graded again to check that resuming
duplicates nothing.  `make test` installs PostgreSQL (Debian's package) when it can.
"""

from __future__ import annotations

import csv
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grader import cli
from grader.samples import write_samples

pytestmark = pytest.mark.nbgrader

STUDENTS = ("ada_model", "cy_pi_factor", "ivy_broken_file")  # full marks, slips, a broken file


def _pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).parent)):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server; yields the SQLAlchemy URL of an empty database."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl on PATH or in "
                    "/usr/lib/postgresql/*/bin): `make test` installs it as root with apt-get")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="rope-pg-"))  # short: the socket path must fit
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.fail("running as root, PostgreSQL needs the 'postgres' system user, "
                        "which is missing")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sock, log = root / "data", root / "sock", root / "server.log"

    def run(*args: str) -> None:
        proc = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}" + (
            log.read_text(errors="replace") if log.exists() else "")

    try:
        run("mkdir", str(sock))
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C")
        opts = (f"-c listen_addresses='' -k {sock} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w",
            "-t", "60", "start")
        import psycopg

        with psycopg.connect(dbname="postgres", user="postgres", host=str(sock),
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE gradebook")
        # the URL form of `--db --help`; SQLAlchemy 2.1 reads it with psycopg 3
        yield f"postgresql://postgres@/gradebook?host={sock}"
    finally:
        if (data / "postmaster.pid").exists():  # also after a start that timed out
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                            "immediate", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def classes(postgres: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same small class graded into PostgreSQL and into the default SQLite gradebook."""
    tmp = tmp_path_factory.mktemp("pg")
    full = write_samples(tmp / "all")
    subs = tmp / "submitted"
    for student in STUDENTS:
        shutil.copytree(full / student, subs / student)
    outs = {"postgres": tmp / "out_pg", "sqlite": tmp / "out_sqlite"}
    assert cli.main(["grade", str(subs), "--out", str(outs["postgres"]), "--workers", "2",
                     "--db", postgres]) == 0
    assert cli.main(["grade", str(subs), "--out", str(outs["sqlite"]), "--workers", "2"]) == 0
    return {**outs, "submitted": subs}


def test_postgres_grades_equal_sqlite_grades(classes) -> None:
    """Are grades.csv and items.csv the same (scores and tags) with either gradebook?"""
    for name in ("grades.csv", "items.csv"):
        pg, lite = _rows(classes["postgres"] / name), _rows(classes["sqlite"] / name)
        assert pg and pg == lite, name
    students = {r["student_id"] for r in _rows(classes["postgres"] / "grades.csv")}
    assert students == set(STUDENTS)


def _check_gradebook(url: str, out: Path) -> None:
    grades = _rows(out / "grades.csv")
    graded = [r for r in grades if r["assignment"] in ("derive_lambda", "numeric_rope")]
    with Gradebook(url) as gb:
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)
        subs = [(s.student.id, s.assignment.name) for a in gb.assignments for s in a.submissions]
        assert len(subs) == len(set(subs)) == len(graded)
        for row in graded:
            sub = gb.find_submission(row["assignment"], row["student_id"])
            assert float(row["score"]) == pytest.approx(sub.score), row
            assert float(row["max_score"]) == pytest.approx(sub.max_score), row
        for a in gb.assignments:
            assert len(a.notebooks) == 1, a.name  # registered once, not per run


def test_postgres_gradebook_holds_the_grades(postgres: str, classes) -> None:
    """Does the PostgreSQL gradebook hold each submission once, with grades.csv's total?"""
    _check_gradebook(postgres, classes["postgres"])


def test_rerun_into_postgres_duplicates_nothing(postgres: str, classes, capsys) -> None:
    """Does a second run into the same OUT and --db resume, changing and duplicating nothing?"""
    out = classes["postgres"]
    before = {n: (out / n).read_text() for n in ("grades.csv", "items.csv")}
    assert cli.main(["grade", str(classes["submitted"]), "--out", str(out), "--workers", "2",
                     "--db", postgres]) == 0
    assert "resumed:" in capsys.readouterr().err
    assert {n: (out / n).read_text() for n in before} == before
    _check_gradebook(postgres, out)
