"""``rope-course``: release the assignments, grade a class, run the demo.

Every verb has ``--help``.  Grading never modifies the submissions, resumes after an
interruption, and writes grades.csv, items.csv, per-student feedback and a class report.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import grader.lean  # noqa: F401 -- first: keeps a slow optional import out of nbformat

DEFAULT_WORKERS = os.cpu_count() or 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rope-course",
        description="Instructor tools for the RoPE base-scaling course (built on nbgrader).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("release", help="generate the student notebooks into course/release/",
                       description="Validate every source notebook with nbgrader, then run "
                       "nbgrader generate_assignment for each into course/release/.")
    r.add_argument("--check", action="store_true",
                   help="only report whether course/release/ is up to date; change nothing")

    g = sub.add_parser("grade", help="grade a class of submissions",
                       description="Autograde every submission with nbgrader, in parallel, "
                       "in a private working copy of the course. SUBMISSIONS is never modified.")
    g.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                   help="nbgrader 'submitted' folder (<student>/<assignment>/<nb>.ipynb), a zip "
                   "of it, or a flat folder of <student>_<notebook>.ipynb files")
    g.add_argument("--out", type=Path, required=True, metavar="OUT",
                   help="output folder: grades.csv, items.csv, feedback/, report.md/.html")
    _grading_options(g)

    d = sub.add_parser("demo", help="grade the bundled sample class and print the report",
                       description="Grade sample submissions (model answer, untouched "
                       "release, typical mistakes, a broken file) and print the class report.")
    d.add_argument("--out", type=Path, default=None,
                   help="keep the outputs here (default: a temporary folder)")
    _grading_options(d)
    return p


def _grading_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"notebooks graded at once (default: the number of cores, "
                   f"{DEFAULT_WORKERS})")
    p.add_argument("--timeout", type=int, default=60,
                   help="per-cell execution limit in seconds (default: 60)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student kernels WITHOUT the bubblewrap sandbox (not recommended: "
                   "a warning goes into the output and the report)")
    p.add_argument("--kernel-python", default=None, metavar="PYTHON",
                   help="python of the student environment used inside the sandbox (default: "
                   "$ROPE_KERNEL_PYTHON or .venv-kernel/bin/python)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="class gradebook as an SQLAlchemy URL (default: sqlite:///OUT/"
                   "gradebook.db); e.g. postgresql://user@host/course")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    from grader.toolpath import tools_on_path

    tools_on_path()
    try:
        if args.command == "release":
            from grader.release import release

            return release(check=args.check)
        if args.command == "grade":
            return _grade(args.submissions, args.out, args)
        with tempfile.TemporaryDirectory(prefix="rope-demo-") as tmp:
            from grader.samples import write_samples

            out = args.out or Path(tmp) / "out"
            samples = write_samples(Path(tmp) / "submitted")
            code = _grade(samples, out, args)
            print((out / "report.md").read_text(encoding="utf-8"))
            return code
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume where it stopped", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"rope-course: error: {exc}", file=sys.stderr)
        return 2


def _grade(submissions: Path, out: Path, args: argparse.Namespace) -> int:
    if args.workers < 1 or args.timeout < 1:
        raise ValueError("--workers and --timeout must be at least 1")
    if not submissions.exists():
        raise ValueError(f"{submissions} does not exist")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file: give a folder (it is created if missing)")
    if out.resolve().is_relative_to(submissions.resolve()):
        raise ValueError("--out must not be inside SUBMISSIONS (submissions are never modified)")
    from grader.workers import start_server

    # the job processes' forkserver imports nbgrader and warms the checks (~6 s): started
    # first, that overlaps this process's own imports and the course preparation
    start_server()
    from grader.classgrade import grade_class

    out.mkdir(parents=True, exist_ok=True)
    return grade_class(submissions, out, workers=args.workers, timeout=args.timeout,
                       db_url=args.db, sandboxed=not args.no_sandbox,
                       kernel_python=args.kernel_python)


if __name__ == "__main__":
    sys.exit(main())
