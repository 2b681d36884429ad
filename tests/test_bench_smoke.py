"""The benchmarks never rot: ``python -m bench.run --smoke`` runs every one at toy sizes.

Benchmarks are not tests: nothing here looks at a timing.  These tests only check that every
benchmark runs to the end and writes its section, and that the naive baselines the kernel
benchmark compares against compute RoPE correctly (a fast wrong baseline would flatter the
answer key).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.kernel import naive_rope, threaded_copy, threaded_pass
from solutions.rope import apply_rope

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("layout", ["interleaved", "half"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_naive_baseline_is_rope(layout: str, dtype: str) -> None:
    """Does the Hugging Face-style baseline rotate exactly as the answer key does?"""
    x = np.random.default_rng(0).standard_normal((2, 33, 16)).astype(dtype)
    pos = np.arange(33, dtype=np.float64) + 7
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(naive_rope(x, pos, 500.0, layout), apply_rope(x, pos, 500.0, layout),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_threaded_copy_floor_is_a_copy(threads: int) -> None:
    x = np.random.default_rng(1).standard_normal((2, 7, 4)).astype(np.float32)
    out = threaded_copy(x, threads)
    assert out.tobytes() == x.tobytes() and not np.shares_memory(out, x)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_one_pass_floor_reads_and_writes_every_element(threads: int) -> None:
    x = np.random.default_rng(2).standard_normal((3, 5, 6))
    x[0, 4, 5] = -0.0
    out = threaded_pass(x, threads)
    assert out.tobytes() == x.tobytes() and not np.shares_memory(out, x)


@pytest.mark.nbgrader
def test_smoke_run_writes_every_section(tmp_path: Path) -> None:
    """Does ``python -m bench.run --smoke`` finish and report every benchmark, with no failure?"""
    out = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Targets", "## 1. RoPE kernel", "## 2. Grading throughput",
                    "### Where the time goes", "## 3. Symbolic checker latency", "## 4. Memory"):
        assert heading in text, heading
    assert "FAILED" not in text
    assert "Table answers graded differently from the table: 0." in text
