"""The feedback page renders a student's notebook: its HTML is untrusted and must be
sanitised, while the course's own formatting (headings, tables, highlighted code, plots)
must survive."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from grader import feedback
from grader.report import write_csvs
from grader.results import ItemResult, SubmissionResult, Verdict

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()

HOSTILE_MARKDOWN = f"""# My derivation

A paragraph with *emphasis* and $\\theta_i = b^{{-2i/d}}$.

<script>document.title = "pwned-1"</script>
<img src="x" onerror="document.title='pwned-2'">
<a href="javascript:alert('pwned-3')">click</a>
<a href="data:text/html,<script>alert('pwned-4')</script>">data link</a>
<style>body {{ display: none }}</style>
<iframe src="https://example.org/pwned-5"></iframe>
<div onclick="alert('pwned-6')" class="note">kept text</div>

![plot](data:image/png;base64,{PNG})

| a | b |
|---|---|
| 1 | 2 |
"""


def _notebook(path: Path) -> Path:
    html_out = new_output("display_data", data={
        "text/html": "<table><tr><td>cell</td></tr></table><script>alert('pwned-7')</script>"
                     "<img src=x onerror=alert('pwned-8')>",
        "text/plain": "table"})
    png_out = new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    md_out = new_output("display_data", data={
        "text/markdown": "**bold** <script>alert('pwned-9')</script>", "text/plain": "md"})
    nb = new_notebook(cells=[
        new_markdown_cell(HOSTILE_MARKDOWN),
        new_code_cell("import numpy as np\nx = np.arange(3)  # a comment", outputs=[html_out]),
        new_code_cell("plot()", outputs=[png_out, md_out]),
    ])
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nbformat.write(nb, path)
    return path


RESULT = SubmissionResult("stu<dent>", "derive_lambda", (
    ItemResult("lam_solution", 2.0, 4.0, Verdict.PARTIAL, "some_tag", "<b>msg</b>", "d"),), ())


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _notebook(tmp_path_factory.mktemp("fb") / "derive_lambda.ipynb")


@pytest.fixture(scope="module")
def page(notebook: Path) -> str:
    return feedback.render(RESULT, notebook)


def _notebook_part(page: str) -> str:
    return page.split("<h2>Your notebook, as graded</h2>", 1)[1]


def test_no_script_handler_or_dangerous_url_survives(page: str) -> None:
    """Is every way to run code in the reader's browser removed: script, style and iframe
    elements, event handlers, javascript: and data:text/html links?"""
    body = _notebook_part(page)
    for n in range(1, 10):
        assert f"pwned-{n}" not in body
    lowered = body.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "data:text/html", "<iframe",
                "<style", "display: none"):
        assert bad not in lowered, bad
    assert "<script" not in page.lower()  # the page itself carries no script at all


def test_course_formatting_survives(page: str) -> None:
    """Do headings, paragraphs, tables, highlighted code, embedded and output images and
    plain kept text survive the sanitiser?"""
    body = _notebook_part(page)
    assert '<h1 id="My-derivation">' in body
    assert "<em>emphasis</em>" in body
    assert "<td>1</td>" in body and "<td>cell</td>" in body
    assert f'src="data:image/png;base64,{PNG}"' in body  # the markdown image
    assert body.count(f"data:image/png;base64,{PNG}") == 2  # and the plot output
    assert 'class="note"' in body and "kept text" in body
    assert '<span class="kn">import</span>' in body  # pygments' classes are kept
    assert "<strong>bold</strong>" in body


def test_summary_escapes_student_id_and_messages(page: str) -> None:
    """Are the student id and messages escaped in the summary table?"""
    assert "stu&lt;dent&gt;" in page and "&lt;b&gt;msg&lt;/b&gt;" in page
    assert "2 / 4" in page


def test_memoised_highlighting_gives_identical_pages(page: str, notebook: Path) -> None:
    """Does a second rendering (highlighting from the memo) give the same page, and does
    the memo hold the notebook's code cells?"""
    hits = feedback._highlighted.cache_info().hits
    assert feedback.render(RESULT, notebook) == page
    assert feedback._highlighted.cache_info().hits >= hits + 2


@pytest.mark.parametrize(("tag", "attr", "value", "kept"), [
    ("img", "src", "data:image/png;base64,AAAA", True),
    ("img", "src", "DATA:image/svg+xml;base64,AAAA", True),
    ("img", "src", "data:text/html,hi", False),
    ("a", "href", "data:image/png;base64,AAAA", False),
    ("a", "href", "https://example.org", True),
])
def test_data_urls_only_as_image_sources(tag: str, attr: str, value: str, kept: bool) -> None:
    """Is a data: URL kept only as an image's source, and other URLs untouched?"""
    assert (feedback._only_image_data(tag, attr, value) == value) is kept


@pytest.mark.parametrize("name, cell", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("ada_model", "ada_model"), ("a=b", "a=b")])
def test_csv_cells_never_start_a_spreadsheet_formula(tmp_path: Path, name: str,
                                                     cell: str) -> None:
    """A name from the submissions that a spreadsheet would run as a formula (a rejected
    student id, a folder name) is written with a leading apostrophe, in both CSVs."""
    item = ItemResult("theta_i", 0.0, 1.0, Verdict.MISSING, "missing", "m")
    write_csvs(tmp_path, [SubmissionResult(name, name, (item,), (), "bad_student_id", "x")])
    for csv_name in ("grades.csv", "items.csv"):
        with open(tmp_path / csv_name, newline="", encoding="utf-8") as fh:
            [_, row] = list(csv.reader(fh))
        assert row[:2] == [cell, cell], csv_name
