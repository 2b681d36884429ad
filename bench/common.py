"""Shared helpers: interleaved timing, summary statistics, machine facts and markdown."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""
BIN = Path(sys.executable).parent
"""This environment's scripts (``rope-course``, ``nbgrader``)."""


@dataclass(frozen=True)
class Summary:
    """Median, min and max (and how many samples) of a series."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        vals = sorted(values)
        if not vals:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(vals), vals[0], vals[-1], len(vals))

    def fmt(self, digits: int = 2, unit: str = "×") -> str:
        """``median (min–max)`` with ``digits`` decimals."""
        if not self.n:
            return "n/a"
        if self.n == 1:
            return f"{self.median:.{digits}f}{unit} (1 run)"
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), nearest-rank, of ``values``."""
    vals = sorted(values)
    if not vals:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(vals)))
    return vals[min(rank, len(vals)) - 1]


def interleaved(fns: dict[str, Callable[[], Any]], repeats: int,
                clock: Callable[[], float] = time.perf_counter) -> dict[str, list[float]]:
    """Time every function once per repetition, in a rotating order, ``repeats`` times.

    Rotating the order spreads cache, frequency and neighbour-load effects over all of them,
    so ratios taken within one repetition compare like with like.
    """
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for rep in range(repeats):
        k = rep % len(names)
        for name in names[k:] + names[:k]:
            t0 = clock()
            fns[name]()
            times[name].append(clock() - t0)
    return times


def ratios(num: Sequence[float], den: Sequence[float]) -> Summary:
    """Per-repetition ratios ``num[i] / den[i]``, summarised."""
    return Summary.of(a / b for a, b in zip(num, den) if b > 0)


def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    return os.getloadavg()


def fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def wait_for_quiet(threshold: float, poll: float, budget: float,
                   log: Callable[[str], None] = print) -> list[tuple[float, float]]:
    """Wait (up to ``budget`` s, polling every ``poll`` s) until the 1-minute load average is at
    most ``threshold``; return the (elapsed s, load) samples seen."""
    seen, start = [], time.monotonic()
    while True:
        elapsed, load = time.monotonic() - start, loadavg()[0]
        seen.append((round(elapsed), load))
        if load <= threshold or elapsed + poll > budget:
            return seen
        log(f"load {load:.2f} > {threshold}: waiting {poll:.0f} s for a quieter moment")
        time.sleep(poll)


def code_state() -> tuple[str, str]:
    """(git HEAD and the files changed from it under grader/, course/, solutions/, a digest
    of those folders' current contents): the code a run measured, and a way to tell whether it
    changed while the run lasted (other people edit the grader concurrently)."""
    import hashlib
    import subprocess

    digest = hashlib.sha256()
    for folder in ("grader", "course", "solutions"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".ipynb"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--short", "--", "grader", "course",
                                "solutions"], cwd=ROOT, text=True, capture_output=True,
                               timeout=30).stdout.split("\n")
        changed = [ln[3:] for ln in dirty if ln.strip()]
    except (OSError, subprocess.SubprocessError):
        head, changed = "unknown", []
    desc = f"HEAD {head or 'unknown'}" + (f" + uncommitted changes to {', '.join(changed)}"
                                           if changed else "")
    return desc, digest.hexdigest()[:12]


def cpu_model() -> str:
    """The CPU's name, with its family and model numbers (a cloud host's bare "AMD EPYC" names
    several generations with different caches)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or "unknown"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def cpu_caches() -> str:
    """Cache sizes seen by CPU 0, e.g. ``L1d 32K, L2 1024K, L3 32768K`` (L3 is shared)."""
    found = []
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            if kind == "Instruction":
                continue
            level = (index / "level").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        found.append(f"L{level}{'d' if kind == 'Data' else ''} {size}")
    return ", ".join(found) or "unknown"


def numpy_simd() -> str:
    """The widest SIMD target of numpy's dispatched loops that this CPU runs."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:
        return "unknown"
    features = getattr(umath, "__cpu_features__", {})
    dispatch = getattr(umath, "__cpu_dispatch__", [])
    usable = [f for f in dispatch if features.get(f)]
    return usable[-1] if usable else "baseline only"


def blas_info() -> str:
    """The BLAS numpy was built with (and threadpoolctl's view of it when installed)."""
    import numpy as np

    parts = []
    try:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})  # type: ignore[call-arg]
        blas = deps.get("blas", {})
        config = blas.get("openblas configuration", "")
        parts.append(f"{blas.get('name', '?')} {blas.get('version', '')} {config}".strip())
    except Exception as exc:  # older numpy: show_config has no dicts mode
        parts.append(f"unknown ({type(exc).__name__})")
    try:
        from threadpoolctl import threadpool_info

        parts += [f"{p.get('internal_api')} {p.get('version')} threads={p.get('num_threads')}"
                  for p in threadpool_info()]
    except ImportError:
        parts.append("threadpoolctl not installed")
    return "; ".join(parts)


def machine() -> list[tuple[str, str]]:
    """Facts about the machine and the numeric stack, as (label, value) rows."""
    import numpy as np

    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
               if k in os.environ}
    return [
        ("cores", f"{os.cpu_count()} logical"),
        ("CPU", cpu_model()),
        ("caches (CPU 0; L3 shared)", cpu_caches()),
        ("numpy SIMD", numpy_simd()),
        ("memory", mem or "unknown"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("BLAS", blas_info()),
        ("thread env", ", ".join(f"{k}={v}" for k, v in threads.items()) or "(defaults)"),
    ]


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "**missed**")


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.0f} MiB"
