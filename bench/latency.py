"""Benchmark 3: latency of one check, ``grader.scoring.judge``, as in grading.

Workload: every accepted and rejected answer of the tables in ``tests/test_symbolic_items.py``
(the symbolic ``TABLE`` and the numeric/choice cases of its parametrised test), then
pathological inputs.  Each judge call forks a child under the hard limit
``grader.scoring.CHECK_SECONDS``; the floor is the same fork around a function that does nothing.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import sympy as sp

from bench.common import ROOT, Summary, percentile
from grader.capture import capture_value
from grader.items import DEFAULT_PARAMS, REGISTRY
from grader.limits import call_with_timeout
from grader.payload import Answer, TextAnswer
from grader.scoring import CHECK_SECONDS, judge

b, m, m_l, lam = sp.symbols("b m m_l lam", positive=True)
d = sp.Symbol("d", positive=True, even=True)


def _nest(fn: str, depth: int, inner: str = "m/m_l") -> str:
    return f"{fn}(" * depth + inner + ")" * depth


def pathological() -> list[tuple[str, str, str, Any]]:
    """(kind, item, label, answer) for inputs built to be slow or large."""
    lam_ok = "(m/m_l)**(d/(d-2))"
    text = [
        ("huge exponent", "lam_solution", "m**(10**100)"),
        ("huge exponent", "lam_solution", "(m/m_l)**(d/(d-2)*10**40)"),
        ("huge exponent", "lam_solution", "(m/m_l)**(d/(d-2))**999"),
        ("huge exponent", "exponent", "(d-2)/d + 0*d**(10**9)"),
        ("large numeric power", "lam_solution", "9**9**9**9"),
        ("large numeric power", "lam_solution", "2**1000"),
        ("large numeric power", "lam_solution", "(m/m_l + 1)**1000"),
        ("large numeric power", "lam_solution", f"{lam_ok} + (1 + m)**999 - (1 + m)**999"),
        ("large numeric power", "matching_eq",
         "(lam*b)**((d-2)/d)*(1+m)**500 = (m/m_l)*b**((d-2)/d)*(1+m)**500"),
        ("deep nesting", "lam_solution", "(" * 59 + lam_ok + ")" * 59),
        ("deep nesting", "lam_solution", _nest("sqrt", 25)),
        ("deep nesting", "lam_solution", _nest("log", 20)),
        ("deep nesting", "lam_solution", _nest("exp", 25)),
        ("deep nesting", "lam_solution", "(m/m_l)**" * 20 + "(d/(d-2))"),
        ("long sum", "lam_solution", lam_ok + "+0" * 900),
        ("long sum", "lam_solution", "+".join(f"(m/m_l)**{k}" for k in range(55))),
        ("long sum", "lam_solution", lam_ok + "".join(f"+{k}*m-{k}*m" for k in range(1, 28))),
        ("long text", "lam_solution", "m" * 5000),
    ]
    ratio = m / m_l
    objs = [
        ("huge exponent", "lam_solution", "srepr ratio**(10**30)",
         sp.Pow(ratio, sp.Integer(10) ** 30)),
        ("large numeric power", "lam_solution", "srepr 7**5000", sp.Integer(7) ** 5000),
        ("deep nesting", "lam_solution", "srepr exp^20(ratio)", _deep_exp(ratio, 20)),
        ("long sum", "lam_solution", "srepr sum of 150 powers",
         sp.Add(*[ratio**k for k in range(1, 150)])),
        ("long sum", "lam_solution", "srepr expand((1+m+m_l+d)**12)",
         sp.expand((1 + m + m_l + d) ** 12)),
    ]
    cases = [(kind, item, label if len(label) <= 60 else label[:57] + "...", TextAnswer(label))
             for kind, item, label in text]
    return cases + [(kind, item, label, capture_value(obj)) for kind, item, label, obj in objs]


def _deep_exp(x: sp.Expr, depth: int) -> sp.Expr:
    for _ in range(depth):
        x = sp.exp(x)
    return x


def _tables_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_bench_symbolic_tables", ROOT / "tests" / "test_symbolic_items.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def table_cases() -> list[tuple[str, str, str, Answer, float, str]]:
    """(kind, item, label, answer, expected fraction, expected tag) from the test tables."""
    mod = _tables_module()
    out = [("symbolic table", item, str(ans)[:60], mod._answer(ans), frac, tag)
           for item, ans, frac, tag in mod.CASES]
    for mark in getattr(mod.test_numeric_and_choice_items, "pytestmark", []):
        if mark.name == "parametrize":
            out += [("numeric/choice table", item, repr(ans)[:60], ans, frac, tag)
                    for item, ans, frac, tag in mark.args[1]]
    return out


def _noop() -> None:
    return None


@dataclass
class Latency:
    """Per-check timings."""

    floor: list[float] = field(default_factory=list)
    """a fork with the same time limit around a function that does nothing"""
    warm_seconds: float = 0.0
    """first-time ``warm`` of every item's check (once per grading worker)"""
    rows: list[dict[str, Any]] = field(default_factory=list)
    """one per answer: kind, item, label, seconds (median of the repetitions), tag, verdict,
    expected (tag matched the table, for table rows)"""

    def seconds(self, kinds: tuple[str, ...]) -> list[float]:
        return [r["seconds"] for r in self.rows if r["kind"] in kinds]

    def stats(self, kinds: tuple[str, ...]) -> dict[str, float]:
        vals = self.seconds(kinds)
        return {"n": len(vals), "median": percentile(vals, 50), "p99": percentile(vals, 99),
                "max": max(vals) if vals else float("nan")}


def _timed(item: str, answer: Answer, repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = judge(REGISTRY[item], answer, DEFAULT_PARAMS, CHECK_SECONDS)
        times.append(time.perf_counter() - t0)
    return Summary.of(times).median, result


def run(smoke: bool = False, repeats: int = 3) -> Latency:
    """Judge every table answer ``repeats`` times (median kept) and each pathological input once;
    in smoke mode, one answer per item and the fast pathological inputs only."""
    lat = Latency()
    for _ in range(max(repeats, 5)):
        t0 = time.perf_counter()
        call_with_timeout(_noop, seconds=CHECK_SECONDS)
        lat.floor.append(time.perf_counter() - t0)
    cases = table_cases()
    patho = pathological()
    if smoke:
        seen: set[str] = set()
        cases = [c for c in cases if not (c[1] in seen or seen.add(c[1]))][:8]
        patho = [p for p in patho if p[0] in ("huge exponent", "long text")][:2]
        repeats = 1
    t0 = time.perf_counter()
    for item in {c[1] for c in cases} | {p[1] for p in patho}:
        REGISTRY[item].check.warm(item, DEFAULT_PARAMS)
    lat.warm_seconds = time.perf_counter() - t0
    for kind, item, label, answer, frac, tag in cases:
        secs, j = _timed(item, answer, repeats)
        lat.rows.append({"kind": kind, "item": item, "label": label, "seconds": secs,
                         "tag": j.tag, "verdict": j.verdict.value,
                         "expected": (j.fraction, j.tag) == (frac, tag)})
    for kind, item, label, answer in patho:
        secs, j = _timed(item, answer, 1)
        lat.rows.append({"kind": kind, "item": item, "label": label, "seconds": secs,
                         "tag": j.tag, "verdict": j.verdict.value, "expected": None})
    return lat
