"""The sandbox: from inside a student kernel, the source notebooks, the gradebooks, the answer
key, the hidden tests and other students' work cannot be read.

The kernel-side attempts are in ``hostile_cases.READ_PROBE``: a student notebook that tries
each read or import and prints what happened; the test reads those outputs back from the
autograded notebook kept under ``OUT/.work/autograded``.
"""

from __future__ import annotations

from ast import literal_eval
from pathlib import Path

import hostile_cases as H
import pytest

from grader import sandbox

READ_REFUSED = {"FileNotFoundError", "PermissionError", "IsADirectoryError"}
IMPORT_REFUSED = {"ModuleNotFoundError", "ImportError"}


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return H.graded_class(tmp_path_factory).probe("probe_reads")


@pytest.mark.nbgrader
@pytest.mark.parametrize("target", [
    "course source notebook", "answer key", "grader checks", "class gradebook",
    "template gradebook", "template source (hidden tests)", "job gradebook",
    "job source (hidden tests)", "own submitted file", "other submission",
    "other autograded", "journal", "/root",
])
def test_reading_grader_files_fails_inside_the_kernel(probe, target: str) -> None:
    """Does reading this file (source notebook, gradebook, answer key, hidden tests, another
    student's submission or results) from inside a student kernel fail?"""
    outcome, detail = probe[f"read {target}"]
    assert outcome in READ_REFUSED, (target, outcome, detail)


@pytest.mark.nbgrader
@pytest.mark.parametrize("module", ["solutions", "solutions.derivation",
                                    "from grader import symbolic", "grader.items", "nbgrader"])
def test_importing_the_answer_key_fails_inside_the_kernel(probe, module: str) -> None:
    """Does importing the answer key, the grader's checks or nbgrader fail in the kernel?"""
    name = module if module.startswith("from") else f"import {module}"
    outcome, detail = probe[name]
    assert outcome in IMPORT_REFUSED, (module, outcome, detail)


@pytest.mark.nbgrader
def test_the_project_and_the_submissions_are_invisible(probe) -> None:
    """Inside the kernel, does the project folder hold nothing but the (read-only) student
    environment, do the submissions not exist at all, and is the kernel not root?"""
    outcome, listing = probe["list project root"]
    if outcome == "ok":
        assert set(literal_eval(listing)) <= {H.kernel_env_top()}
    else:
        assert outcome in READ_REFUSED
    assert probe["list submissions"][0] in READ_REFUSED
    assert 0 not in literal_eval(probe["uid"][1])


@pytest.mark.nbgrader
def test_multiprocessing_works_inside_the_kernel(probe) -> None:
    """A student kernel may use a multiprocessing pool: its locks need a /dev/shm the kernel
    can write (a private tmpfs), which the sandbox gives it."""
    assert probe["multiprocessing pool"] == ["ok", "[1, 2, 3]"]


def _config(tmp_path: Path) -> sandbox.SandboxConfig:
    return sandbox.SandboxConfig("/venv/bin/python", ("/usr", "/venv"), str(tmp_path / "cap"),
                                 str(tmp_path / "mpl"), sandbox.Limits())


def test_the_working_folder_is_a_private_copy(tmp_path: Path) -> None:
    """Is the kernel's working folder mounted from a private copy, so nothing it writes or
    links there reaches the folder where nbgrader writes the graded notebook?"""
    work, runtime = str(tmp_path / "work"), str(tmp_path / "rt")
    scratch = str(tmp_path / "rt" / "cwd")
    for uid in (None, 61234):
        argv = sandbox.bwrap_argv(_config(tmp_path), work, runtime, ["python", "-m", "x"],
                                  uid, scratch)
        binds = [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--bind"]
        assert binds == [(runtime, runtime), (scratch, work)]
        assert argv[argv.index("--chdir") + 1] == work


def test_only_system_folders_and_the_student_environment_are_visible(tmp_path: Path) -> None:
    """Does the sandbox mount only the configured read-only folders and the capture package
    (never the project, the course or the answer key), with no network and a private /tmp
    whose size (it is RAM) is capped?"""
    argv = sandbox.bwrap_argv(_config(tmp_path), str(tmp_path / "w"), str(tmp_path / "r"),
                              ["python", "-m", "x"], None, str(tmp_path / "r" / "c"))
    ro = [argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--ro-bind-try")]
    assert ro == ["/usr", "/venv", str(tmp_path / "cap")]
    assert "--unshare-all" in argv and "--share-net" not in argv
    assert not any(str(H.ROOT) in a for a in argv)
    at = argv.index("--tmpfs")
    assert argv[at - 2:at + 2] == ["--size", str(sandbox.Limits().tmp_bytes), "--tmpfs", "/tmp"]


def test_a_relative_kernel_python_is_made_absolute_not_resolved(tmp_path: Path,
                                                                monkeypatch) -> None:
    """Is --kernel-python given relative to the current folder made absolute (the kernel
    starts elsewhere) while a venv's python symlink is kept (it finds the venv's packages
    through its own path)?"""
    env = tmp_path / "env" / "bin"
    env.mkdir(parents=True)
    (tmp_path / "real_python").write_text("")
    (env / "python").symlink_to(tmp_path / "real_python")
    monkeypatch.chdir(tmp_path)
    assert sandbox.kernel_python("env/bin/python") == str(env / "python")
    with pytest.raises(sandbox.SandboxUnavailable, match="make kernel-env"):
        sandbox.kernel_python("env/bin/nothing")
