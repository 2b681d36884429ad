"""The class report: what no other autograder gives instructors.

Per assignment and item: mean score and the share of students at full, partial and zero
marks; the most common misconception tags with counts and the feedback they triggered; a
histogram of total scores; submissions that could not be graded, and why.
"""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from grader.items import NOTEBOOKS, REGISTRY
from grader.results import SubmissionResult
from grader.submissions import BAD_STUDENT_ID

NOT_MISCONCEPTIONS = frozenset({
    "ok", "missing", "wrong_type", "unparsable", "tampered", "grader_error", "too_complex",
    "wrong_expression", "wrong_equation", "wrong_value", "wrong_choice", "wrong_values",
    "wrong_solutions", "exception", "extra_symbol", "not_equation", "evaluated_equation",
    "carried_over", "cell_timeout",
})
"""Tags that say an answer is wrong or absent without naming a specific slip."""


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet will not run: one that would start a formula
    (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a leading apostrophe (OWASP's
    advice against CSV injection).  Student ids cannot start that way, but a rejected id
    or a folder name can, and is still listed."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csvs(out: Path, results: list[SubmissionResult]) -> None:
    """``grades.csv`` (one row per submission) and ``items.csv`` (one row per item).  Names
    taken from the submissions are made :func:`spreadsheet_safe`."""
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "assignment", "score", "max_score", "manual_points"])
        for r in results:  # manual_points: still to grade by hand (formgrader), in max_score
            manual = sum(g.max_score for g in r.grades if g.needs_manual_grade)
            w.writerow([spreadsheet_safe(r.student), spreadsheet_safe(r.assignment),
                        f"{r.score:g}", f"{r.max_score:g}", f"{manual:g}"])
    with open(out / "items.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "assignment", "item", "score", "max_score", "tag"])
        for r in results:
            for it in r.items:
                w.writerow([spreadsheet_safe(r.student), spreadsheet_safe(r.assignment), it.item,
                            f"{it.score:g}", f"{it.max_score:g}", it.tag])


def preload() -> None:
    """Import matplotlib (about a second) ahead of :func:`write`, e.g. in a thread while
    the class is graded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot


def _histogram(results: list[SubmissionResult]) -> bytes:
    preload()
    import matplotlib.pyplot as plt

    by_assignment: dict[str, list[float]] = defaultdict(list)
    for r in results:
        if r.assignment in NOTEBOOKS and not r.problem:
            by_assignment[r.assignment].append(r.score)
    panels = max(1, len(by_assignment))
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3), squeeze=False)
    if not by_assignment:  # nothing could be graded: an empty, labelled panel
        axes[0][0].text(0.5, 0.5, "no graded submission", ha="center", va="center")
        axes[0][0].set_axis_off()
    for ax, (name, scores) in zip(axes[0], sorted(by_assignment.items())):
        top = max((x.max_score for x in results if x.assignment == name), default=1.0)
        ax.hist(scores, bins=range(0, int(top) + 2), color="#4c72b0", edgecolor="white")
        ax.set_title(f"{name} (max {top:g})")
        ax.set_xlabel("total score")
        ax.set_ylabel("students")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def markdown(results: list[SubmissionResult], warnings: Sequence[str] = ()) -> str:
    """The report as Markdown (the HTML version adds the histogram image)."""
    students = sorted({r.student for r in results if r.problem != BAD_STUDENT_ID})
    bad = [r for r in results if r.problem]
    lines = ["# Class report: RoPE base scaling", ""]
    lines += [f"> **Warning:** {w}" for w in warnings] + ([""] if warnings else [])
    lines += [f"{_count(len(students), 'student')}, {_count(len(results), 'submission')}, "
              f"{len(bad)} could not be graded (listed at the end; they are left out of the "
              "statistics).", ""]
    for assignment in [a for a in NOTEBOOKS if any(r.assignment == a for r in results)]:
        rs = [r for r in results if r.assignment == assignment and not r.problem]
        if not rs:
            lines += [f"## {assignment}: no gradable submission", ""]
            continue
        mean = sum(r.score for r in rs) / len(rs)
        top = max(r.max_score for r in rs)
        lines += [f"## {assignment}: mean {mean:.1f} / {top:g} "
                  f"({_count(len(rs), 'graded submission')})", ""]
        per_item: dict[str, list] = defaultdict(list)
        for r in rs:
            for it in r.items:
                per_item[it.item].append(it)
        rows = []
        for item, its in per_item.items():
            n = len(its)
            full = sum(i.score >= i.max_score for i in its)
            zero = sum(i.score == 0 for i in its)
            rows.append([item, REGISTRY[item].topic if item in REGISTRY else "",
                         f"{its[0].max_score:g}", f"{sum(i.score for i in its) / n:.2f}",
                         f"{100 * full / n:.0f}%", f"{100 * (n - full - zero) / n:.0f}%",
                         f"{100 * zero / n:.0f}%"])
        lines += _table(["item", "topic", "points", "mean", "full", "partial", "zero"], rows)
        lines.append("")
    lines += ["## Most common misconceptions", ""]
    counts: Counter[tuple[str, str]] = Counter()
    messages: dict[tuple[str, str], str] = {}
    for r in results:
        for it in r.items:
            if it.tag not in NOT_MISCONCEPTIONS and not r.problem:
                counts[(it.item, it.tag)] += 1
                messages[(it.item, it.tag)] = it.message
    if counts:
        rows = [[str(n), f"{n} student{'s' if n != 1 else ''}: `{tag}` in {item}",
                 messages[(item, tag)]] for (item, tag), n in counts.most_common(15)]
        lines += _table(["count", "what", "feedback they got"], rows)
    else:
        lines.append("None recognised.")
    lines += ["", "## Score distribution", "", "![histogram of total scores](scores.png)", ""]
    lines += ["## Submissions that could not be graded", ""]
    if bad:
        lines += _table(["student", "assignment", "reason", "detail"],
                        [[r.student, r.assignment, r.problem, r.detail] for r in bad])
    else:
        lines.append("None.")
    notes = [[r.student, r.assignment, n] for r in results for n in r.notes]
    if notes:
        lines += ["", "## Notes", "", *_table(["student", "assignment", "note"], notes)]
    return "\n".join(lines) + "\n"


def write(out: Path, results: list[SubmissionResult], warnings: Sequence[str] = ()) -> str:
    """Write report.md, scores.png and report.html (image embedded); return the Markdown."""
    from markdown_it import MarkdownIt

    md = markdown(results, list(warnings))
    png = _histogram(results)
    (out / "report.md").write_text(md, encoding="utf-8")
    (out / "scores.png").write_bytes(png)
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    # raw HTML off: student ids and file names reach the tables, and must stay text
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(
        md.replace("(scores.png)", f"({uri})"))
    style = ("body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;"
             "padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:.25rem .5rem}img{max-width:100%}")
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Class report</title>"
        f"<style>{style}</style></head><body>{body}</body></html>", encoding="utf-8")
    return md
