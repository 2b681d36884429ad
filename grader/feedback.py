"""Per-student HTML feedback that teaches and leaks nothing.

nbgrader's own feedback shows hidden tests (jupyter/nbgrader#917, #1363).  Here the
autograded notebook goes through nbgrader's ``ClearHiddenTests`` (the hidden block is
removed from every test cell), the capture plumbing and instructor-only details are
dropped, and a summary of points and messages leads the page.

The notebook is the student's, so its HTML is untrusted: every markdown cell, code input and
HTML output goes through nbconvert's ``clean_html`` hook, which here is an allow-list
sanitiser (nh3, the Python binding of Rust's ammonia) -- no script, no event handler, no
style, images only from ``data:image/...`` or http(s).  nbconvert's own ``clean_html``
(bleach, with a list that escapes headings and paragraphs) would cost about a second a page.
Highlighting is memoised, and :func:`warm` renders the release notebooks once in the
forkserver, so every job starts with the course's own cells already highlighted.
"""

from __future__ import annotations

import html
import shutil
from functools import lru_cache
from pathlib import Path

import nbformat
import nh3
from nbconvert import HTMLExporter
from nbconvert.filters import Highlight2HTML
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme

from grader import scoring
from grader.items import REGISTRY
from grader.results import SubmissionResult

_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left;vertical-align:top}.full{background:#e6f4ea}.part{background:#fff4e0}
.zero{background:#fde8e8}pre{white-space:pre-wrap;background:#f6f8fa;padding:.5rem}"""


def summary_html(result: SubmissionResult) -> str:
    """The table of items, points and messages."""
    rows = []
    for r in result.items:
        cls = "full" if r.score >= r.max_score else "part" if r.score > 0 else "zero"
        topic = REGISTRY[r.item].topic if r.item in REGISTRY else r.item
        rows.append(f'<tr class="{cls}"><td>{html.escape(topic)}</td>'
                    f"<td>{r.score:g} / {r.max_score:g}</td>"
                    f"<td>{html.escape(r.message)}</td></tr>")
    head = (f"<h1>Feedback: {html.escape(result.assignment)}</h1>"
            f"<p>Student <b>{html.escape(result.student)}</b> &mdash; auto-graded points: "
            f"<b>{sum(r.score for r in result.items):g} / "
            f"{sum(r.max_score for r in result.items):g}</b>.")
    manual = sum(g.max_score for g in result.grades if g.needs_manual_grade)
    if manual:
        head += f" A further {manual:g} point(s) are graded by your instructor."
    head += "</p>"
    if result.problem:
        head += (f"<p class='zero'>This submission could not be graded: "
                 f"{html.escape(result.detail)}</p>")
    return head + "<table><tr><th>item</th><th>points</th><th>feedback</th></tr>" + "".join(
        rows) + "</table>"


def _clean(nb: NotebookNode) -> NotebookNode:
    """Remove hidden tests and marking schemes (nbgrader's own preprocessors: autograde
    restores task cells, rubric included) and instructor-only metadata."""
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    nb, _ = ClearMarkScheme().preprocess(nb, {})
    for cell in nb.cells:
        cell.metadata.pop("rope_course", None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if "application/vnd.rope-course.capture+json" not in o.get("data", {})]
            if scoring.grade_id(cell) in REGISTRY:
                cell.source = "\n".join(line for line in cell.source.splitlines()
                                        if "grader.capture" not in line).strip()
    return nb


def _only_image_data(tag: str, attr: str, value: str) -> str | None:
    """``data:`` URLs survive only as an image's source (a plot the student embedded)."""
    if not value.lower().startswith("data:"):
        return value
    return value if (tag, attr) == ("img", "src") and value.lower().startswith("data:image/") \
        else None


_CLEANER = nh3.Cleaner(
    tags=(nh3.ALLOWED_TAGS | {"tfoot"}) - {"area", "map"},
    clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template"},
    attributes={**{k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()},
                "*": {"class", "id", "title", "lang", "dir"}},
    url_schemes={"http", "https", "mailto", "data"},
    attribute_filter=_only_image_data,
)


def clean_html(element: str | bytes) -> str:
    """Untrusted HTML made safe to open in a browser (nbconvert's ``clean_html`` hook)."""
    return _CLEANER.clean(element.decode() if isinstance(element, bytes) else str(element))


_HIGHLIGHT = Highlight2HTML(pygments_lexer="ipython3")


@lru_cache(maxsize=4096)
def _highlighted(source: str, language: str | None, magics: str | None) -> str:
    return clean_html(_HIGHLIGHT(source, language,
                                 {"magics_language": magics} if magics else None))


def highlight_code(source: str, language: str | None = None,
                   metadata: dict | None = None) -> str:
    """nbconvert's ``highlight_code``, memoised (only ``magics_language`` of the metadata
    changes the result); its output is cleaned here, so the template's clean is cheap."""
    return _highlighted(source, language, (metadata or {}).get("magics_language"))


@lru_cache(maxsize=1)
def exporter() -> HTMLExporter:
    """nbconvert's exporter with the sanitising filters (one per process, caches kept)."""
    ex = HTMLExporter(template_name="basic", exclude_input_prompt=True,
                      exclude_output_prompt=True, sanitize_html=True)
    ex.filters = {"clean_html": clean_html, "highlight_code": highlight_code}
    return ex


def notebook_html(nb: NotebookNode) -> str:
    """A cleaned notebook as sanitised HTML."""
    converted, _ = exporter().from_notebook_node(_clean(nb))
    return converted


def warm(notebooks: list[Path]) -> None:
    """Render notebooks once (the release), so their cells are memoised."""
    for path in notebooks:
        notebook_html(nbformat.read(path, as_version=4))


def render(result: SubmissionResult, notebook: Path | None) -> str:
    """The whole feedback page."""
    body = summary_html(result)
    if notebook is not None and notebook.exists():
        body += ("<h2>Your notebook, as graded</h2>"
                 + notebook_html(nbformat.read(notebook, as_version=4)))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Feedback "
            f"{html.escape(result.student)}</title><style>{_STYLE}</style></head><body>"
            f"{body}</body></html>")


def page_path(out: Path, result: SubmissionResult) -> Path:
    """``OUT/feedback/<student>/<assignment>/<assignment>.html``, its folder created."""
    root = out / "feedback"
    path = root / result.student / result.assignment / f"{result.assignment}.html"
    if not path.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"student id {result.student!r} would place feedback outside {root}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write(out: Path, result: SubmissionResult, notebook: Path | None) -> Path:
    """Render the page into :func:`page_path`."""
    path = page_path(out, result)
    path.write_text(render(result, notebook), encoding="utf-8")
    return path


def place(out: Path, result: SubmissionResult, rendered: Path) -> Path:
    """Copy a page :func:`render` already produced to :func:`page_path`."""
    path = page_path(out, result)
    shutil.copyfile(rendered, path)
    return path
