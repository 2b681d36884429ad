"""Secure by default: grading refuses to run student code unsandboxed unless told to, and
says so loudly when it is told to.  The submissions here are broken files, so no kernel
starts and the tests take seconds."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader import cli
from grader.classgrade import NO_SANDBOX_WARNING


def _broken_class(root: Path) -> Path:
    subs = root / "subs"
    (subs / "zoe" / "derive_lambda").mkdir(parents=True)
    (subs / "zoe" / "derive_lambda" / "derive_lambda.ipynb").write_text("{not json")
    return subs


def test_grading_refuses_without_bubblewrap(tmp_path: Path, monkeypatch, capsys) -> None:
    """With no bwrap on the machine, does `grade` stop with status 2, name the fix (install it,
    or --no-sandbox), and write nothing?"""
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "bwrap"
                        else real_which(name, *a, **k))
    out = tmp_path / "out"
    code = cli.main(["grade", str(_broken_class(tmp_path)), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "bubblewrap is not installed" in err and "apt-get install bubblewrap" in err
    assert "--no-sandbox" in err
    assert not (out / "grades.csv").exists()


def test_no_sandbox_warns_in_the_output_and_the_report(tmp_path: Path, capsys) -> None:
    """With --no-sandbox, does grading go on, print the warning, and put it in report.md and
    report.html?"""
    out = tmp_path / "out"
    code = cli.main(["grade", str(_broken_class(tmp_path)), "--out", str(out), "--no-sandbox",
                     "--workers", "1"])
    assert code == 1  # the class holds only a broken file: outputs written, nothing graded
    captured = capsys.readouterr()
    assert "No submission could be graded" in captured.err
    assert "WARNING" in captured.err + captured.out
    assert NO_SANDBOX_WARNING.split(":")[0] in captured.err + captured.out
    for name in ("report.md", "report.html"):
        assert NO_SANDBOX_WARNING.split(":")[0] in (out / name).read_text(encoding="utf-8")
    assert (out / "grades.csv").read_text().splitlines()[1].startswith("zoe,derive_lambda,0,")
