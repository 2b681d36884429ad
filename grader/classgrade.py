"""``rope-course grade``: from a folder of submissions to grades, feedback and a report."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import feedback, report, runner, sandbox
from grader.items import NOTEBOOKS
from grader.results import SubmissionResult
from grader.submissions import BAD_STUDENT_ID, discover, unpack
from grader.workers import start_server

NO_SANDBOX_WARNING = ("Graded WITHOUT a sandbox (--no-sandbox): student code ran with the "
                      "grader's own permissions, so it could read the answer key and the "
                      "gradebook. Do not trust these grades for hostile submissions.")


def grade_class(submissions: Path, out: Path, *, workers: int, timeout: int,
                db_url: str | None = None, sandboxed: bool = True,
                kernel_python: str | None = None, console: Console | None = None) -> int:
    """Grade everything under ``submissions`` into ``out``; return the exit status."""
    console = console or Console(stderr=True)
    # absolute from here on: every job runs in its own folder, where a relative OUT,
    # SUBMISSIONS or gradebook path would point somewhere else
    submissions, out = submissions.absolute(), out.absolute()
    warnings = []
    if sandboxed:
        sandbox.check_bwrap()
        kernel_python = sandbox.kernel_python(kernel_python)
    else:
        kernel_python = None
        warnings.append(NO_SANDBOX_WARNING)
        console.print(f"[bold red]WARNING:[/] {NO_SANDBOX_WARNING}")
    ws = runner.Workspace(out / ".work")
    ws.root.mkdir(parents=True, exist_ok=True)
    db_url = check_db(db_url or f"sqlite:///{out / 'gradebook.db'}")
    root = unpack(submissions, ws.root)
    subs = discover(root)
    console.print(f"Preparing a private copy of the course; {len(subs)} submissions found")
    if subs:
        start_server()  # the forkserver warms up while the course is prepared
    course = runner.prepare(ws, db_url, kernel_python)
    # the report's plot needs matplotlib: imported while the jobs run, not after them
    threading.Thread(target=report.preload, name="preload-matplotlib", daemon=True).start()
    resumed = 0
    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                  transient=False) as bar:
        task = bar.add_task("", total=len(subs))

        def done(result: SubmissionResult, was_resumed: bool) -> None:
            nonlocal resumed
            resumed += was_resumed
            bar.update(task, advance=1, description=f"{result.student}/{result.assignment}")

        # a journalled result is reused only for the same notebook graded the same way
        settings = f"sandboxed={sandboxed} timeout={timeout} course={course}"
        results = runner.grade_all(ws, subs, workers, timeout, done, settings)
    if resumed:
        console.print(f"resumed: {resumed} submission(s) were already graded in an earlier run")
    runner.merge(db_url, results)
    report.write_csvs(out, results)
    for sub, r in zip(subs, results):
        if r.assignment in NOTEBOOKS and r.problem != BAD_STUDENT_ID:
            rendered = ws.rendered_feedback(sub.key)
            if r.problem or not rendered.is_file():  # the job could not render it
                feedback.write(out, r, None if r.problem else ws.autograded_notebook(r))
            else:
                feedback.place(out, r, rendered)
    report.write(out, results, warnings)
    console.print(_summary(results))
    console.print(f"Wrote {out}/grades.csv, items.csv, feedback/, report.md, report.html")
    if all(r.problem for r in results):
        console.print("[bold red]No submission could be graded[/]: see the status column "
                      "and report.md")
        return 1
    return 0


def check_db(url: str) -> str:
    """``url`` with a relative SQLite path made absolute (jobs run in other folders); raise
    ValueError, in one line that names ``--db``, unless the class gradebook there can be
    used: a valid SQLAlchemy URL whose driver is installed, an existing folder for SQLite, a
    server that answers otherwise."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    example = "e.g. sqlite:////abs/path/gradebook.db or postgresql://user@host/course"
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ValueError(f"--db {url!r} is not a usable SQLAlchemy URL ({exc}); {example}"
                         ) from None
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError(f"--db {url!r}: the class gradebook must be a file; {example}")
        path = Path(parsed.database).absolute()
        if not path.parent.is_dir():
            raise ValueError(f"--db {url!r}: the folder {path.parent} does not exist")
        return parsed.set(database=str(path)).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"--db: cannot connect to "
                         f"{parsed.render_as_string(hide_password=True)}: {first}") from None
    finally:
        engine.dispose()
    return url


def _summary(results: list[SubmissionResult]) -> Table:
    table = Table(title="Grades")
    for col in ("student", "assignment", "score", "max", "status"):
        table.add_column(col)
    for r in results:
        status = f"not graded: {r.problem}" if r.problem else "graded"
        table.add_row(r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", status)
    return table
