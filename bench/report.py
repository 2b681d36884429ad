"""Render the benchmark results as ``bench/results.md``."""

from __future__ import annotations

from typing import Any

from bench.common import Summary, fmt_load, mib, ms, table, verdict
from bench.latency import Latency
from bench.throughput import MODES, Throughput

MODE_NAMES = {
    "workers2": "`rope-course grade --workers 2` (sandboxed)",
    "workers1": "`rope-course grade --workers 1` (sandboxed)",
    "nbgrader": "serial `nbgrader autograde` per assignment (unsandboxed)",
    "bare": "bare nbclient execution, no grading (unsandboxed): the floor",
}
HARD_LIMIT_SLACK = 0.5
"""seconds allowed past CHECK_SECONDS for killing and reaping the child"""


class Targets:
    """Collects (benchmark, target, measured, met) rows for the summary."""

    def __init__(self, smoke: bool = False) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.smoke = smoke

    def add(self, bench: str, target: str, measured: str, met: bool | None) -> str:
        v = "n/a (smoke)" if self.smoke else verdict(met)
        self.rows.append((bench, target, measured, v))
        return v


def kernel_section(res: dict[str, Any], targets: Targets) -> list[str]:
    cases, acc = res["cases"], res["accuracy"]
    limits = {("interleaved", "float32"): (1.5, 8.0), ("interleaved", "float64"): (1.5, 8.0),
              ("half", "float32"): (3.0, 4.0)}
    rows = []
    for c in cases:
        copy_lim, naive_lim = limits[(c.layout, c.dtype)]
        vs_copy, speedup = c.vs("apply_rope", "copy"), c.vs("naive", "apply_rope")
        hf = c.vs("naive_f32_angles", "apply_rope") if "naive_f32_angles" in c.times else None
        name = f"{c.layout} {c.dtype}"
        v1 = targets.add("1 kernel", f"{name}: apply_rope ≤ {copy_lim:g}× copy", vs_copy.fmt(),
                         vs_copy.median <= copy_lim)
        v2 = targets.add("1 kernel", f"{name}: ≥ {naive_lim:g}× faster than naive", speedup.fmt(),
                         speedup.median >= naive_lim)
        one = c.vs("apply_rope_1t", "copy")
        floor = c.vs("apply_rope", "copy_threads") if "copy_threads" in c.times else None
        rows.append((name, vs_copy.fmt(), f"≤ {copy_lim:g}× ({v1})", speedup.fmt(),
                     f"≥ {naive_lim:g}× ({v2})", hf.fmt() if hf else "—", one.fmt(),
                     c.vs("naive", "apply_rope_1t").fmt(), floor.fmt() if floor else "—",
                     ms(Summary.of(c.times["copy"]).median),
                     ms(Summary.of(c.times["apply_rope"]).median),
                     ms(Summary.of(c.times["naive"]).median)))
    acc_ok = targets.add("1 kernel", "angle-addition table error vs direct cos/sin ≤ 1e-12",
                         f"{acc.vs_direct:.2e}", acc.vs_direct <= 1e-12)
    out = [
        "## 1. RoPE kernel: `solutions.rope.apply_rope`", "",
        f"x of shape {res['shape']}, positions 0..{res['shape'][-2] - 1}, base 10000; end to end "
        "from positions to output (tables built on every call, nothing cached). Every contender "
        f"runs once per repetition in a rotating order; {res['repeats']} repetitions; each ratio "
        "is taken within a repetition and reported as median (min–max).", "",
        "* **floor**: `x.copy()`;",
        "* **naive**: a straight numpy port of Hugging Face's `x*cos + rotate_half(x)*sin` with "
        "full-width (seq, d) cos/sin tables (interleaved: cos/sin repeated per pair and GPT-J's "
        "`rotate_every_two`), angles in float64 like the answer key, tables cast to x's dtype;",
        "* **naive, f32 angles**: the same with the angles computed in float32, as Hugging Face "
        "does (float32 inputs only; less accurate, see the max differences below).", "",
        f"* **apply_rope** runs as it does by default: split by position between "
        f"{cases[0].threads if cases else 1} thread(s), one per available core (the copy and "
        "the naive port run on one, as numpy does); **1 thread** is `threads=1`, the way the "
        "grader times it beside a student's kernel; **copy in threads** is `x.copy()` split the "
        "same way, the floor for a kernel that uses those threads.", "",
        table(["layout, dtype", "apply_rope / copy", "target", "naive / apply_rope", "target",
               "naive f32-angles / apply_rope", "1 thread / copy", "naive / 1 thread",
               "apply_rope / copy in threads", "copy", "apply_rope", "naive"], rows), "",
        "Max |naive − apply_rope| on the benchmark input: " + "; ".join(
            f"{c.layout} {c.dtype}: " + ", ".join(f"{k} {v:.1e}" for k, v in c.max_diff.items())
            for c in cases) + ".", "",
        *_numpy_floor(cases),
        f"Angle-addition table (complex128, {acc.positions} positions × 64 pairs): max error "
        f"vs direct float64 cos/sin **{acc.vs_direct:.2e}** (target ≤ 1e-12: {acc_ok}).",
    ]
    if acc.vs_extended is not None:
        out.append(
            f"Against an extended-precision reference (long double, eps {acc.longdouble_eps:.1e}) "
            f"the table's error is **{acc.vs_extended:.1e}**, while direct float64 cos/sin is off "
            f"by {acc.direct_vs_extended:.1e} (its rounding of p·θ, up to ½ ulp of 16383): the "
            "difference above is the direct evaluation's error, not the table's.")
    return [*out, ""]


def _numpy_floor(cases: list[Any]) -> list[str]:
    """How far the answer key is from one numpy ufunc pass over x, the least a numpy kernel
    costs, and the naive ratio such a pass alone would show."""
    def vs(c: Any, num: str, den: str) -> str:
        return c.vs(num, den).fmt() if num in c.times and den in c.times else "—"

    rows = [(f"{c.layout} {c.dtype}", vs(c, "pass", "copy"), vs(c, "naive", "pass"),
             vs(c, "apply_rope_1t", "pass"), vs(c, "pass_threads", "copy"),
             vs(c, "naive", "pass_threads"), vs(c, "apply_rope", "pass_threads")) for c in cases]
    return [
        "**The numpy floor.** A kernel written with numpy ufuncs must read x and write a fresh "
        "result at least once; **one pass** is exactly that and nothing else (`np.positive(x)`), "
        "on one thread and split between the same threads as apply_rope. It is not free beside "
        "`x.copy()`, which is a single `memcpy`. *naive / one pass* is the largest naive ratio "
        "that a kernel built from numpy ufuncs could show on as many threads; *apply_rope / one "
        "pass* is what the answer key adds to that floor (its tables, the finite check of x, "
        "the complex multiply).", "",
        table(["layout, dtype", "one pass / copy", "naive / one pass", "1 thread / one pass",
               "one pass in threads / copy", "naive / one pass in threads",
               "apply_rope / one pass in threads"], rows), "",
    ]


def _ratio_row(tp: Throughput, label: str, num: str, den: str, target: str,
               met: Any, targets: Targets | None) -> tuple[str, ...]:
    wall, steady = tp.ratio(num, den), tp.ratio(num, den, steady=True)
    v = "—"
    if targets is not None and wall.n:
        v = targets.add("2 throughput", label + f" ({target})", wall.fmt(), met(wall.median))
    return (label, wall.fmt(), steady.fmt(), target, v)


def throughput_section(tp: Throughput, prof: dict[str, Any] | None, whatif: dict[str, list[float]]
                       | None, targets: Targets, smoke: bool) -> list[str]:
    modes = [m for m in MODES if tp.of(m)]
    rows = [(MODE_NAMES[m], Summary.of(r.wall for r in tp.of(m)).fmt(1, " s"),
             Summary.of(r.steady_per_notebook for r in tp.of(m)).fmt(2, " s"),
             ", ".join(f"{r.load[0]:.1f}→{r.load[1]:.1f}" for r in tp.of(m))) for m in modes]
    out = [
        "## 2. Grading throughput", "",
        f"Workload: {tp.students} student(s) × {len(tp.assignments)} notebook(s) "
        f"({', '.join(tp.assignments)}) = {tp.notebooks} notebooks, built from "
        "`grader.samples` (model answer, untouched release and the typical slips, cycled under "
        "new ids; the broken-file sample is left out so every mode executes the same notebooks). "
        f"**{tp.repeats} repetition(s)** of every mode (a run takes minutes), the order rotating "
        "per repetition. Wall time is end to end: interpreter start, imports, course preparation "
        "(`generate_assignment`), grading and outputs. *Steady* is the time per notebook between "
        "the first and the last completion, i.e. without start-up.", "",
        table(["mode", "wall (median, min–max)", "steady per notebook", "load 1-min before→after"],
              rows), "",
    ]
    ratio_rows = []
    if tp.of("workers2") and tp.of("nbgrader"):
        ratio_rows.append(_ratio_row(tp, "workers-2 speedup over serial nbgrader", "nbgrader",
                                     "workers2", "≥ 1.8×", lambda x: x >= 1.8, targets))
    if tp.of("workers1") and tp.of("bare"):
        ratio_rows.append(_ratio_row(tp, "pipeline (workers 1) cost per notebook over bare",
                                     "workers1", "bare", "≤ 1.3×", lambda x: x <= 1.3, targets))
    if tp.of("workers1") and tp.of("workers2"):
        ratio_rows.append(_ratio_row(tp, "workers-2 speedup over workers 1", "workers1",
                                     "workers2", "—", None, None))
    if tp.of("nbgrader") and tp.of("bare"):
        ratio_rows.append(_ratio_row(tp, "serial nbgrader cost per notebook over bare",
                                     "nbgrader", "bare", "—", None, None))
    if tp.of("workers1") and tp.of("nbgrader"):
        ratio_rows.append(_ratio_row(tp, "pipeline (workers 1) over serial nbgrader",
                                     "workers1", "nbgrader", "—", None, None))
    if ratio_rows:
        out += [table(["ratio", "end to end", "steady (start-up excluded)", "target", "verdict"],
                      ratio_rows), ""]
    elif smoke:
        out += ["(smoke run: only some modes ran, so no ratios.)", ""]
    if prof is not None:
        out += profile_section(prof, whatif)
    return out


def profile_section(prof: dict[str, Any], whatif: dict[str, list[float]] | None) -> list[str]:
    jobs = prof["jobs"]
    heads = [f"{j['when']}: {j['student']}/{j['assignment']}" for j in jobs]
    names = [p for p, _s in jobs[0]["phases"]]
    rows = []
    for i, name in enumerate(names):
        rows.append((name, *(f"{j['phases'][i][1]:.2f}" for j in jobs)))
    rows.append(("**total (run_job)**", *(f"**{j['total']:.2f}**" for j in jobs)))
    for i, (name, _s) in enumerate(jobs[0].get("background", [])):
        rows.append((f"*in the background: {name}*",
                     *(f"*{j['background'][i][1]:.2f}*" for j in jobs)))
    imports = sum(s for _l, s in prof["imports"])
    out = [
        "### Where the time goes: one grading job", "",
        "`python -m bench.jobprofile` grades with `grader.runner.run_job` (the worker's own code) "
        "in a fresh process, with time stamps around nbgrader's autograde, every preprocessor, "
        "nbclient's kernel start / ready / each cell / shutdown, and the checks (warm-up, and "
        "the forked, time-limited judging of all of a notebook's answers in one process). "
        "*cold* = the first job in a process after its imports; "
        "*warm* = a later job in the same process (caches filled: check warm-ups, the "
        "reference kernel's timing). " + (
            "The grader now runs **every job in a fresh process** forked from a forkserver that "
            "preloaded the imports, so every job pays the *cold* column; *warm* is what a "
            "long-lived worker would pay. " if prof.get("runner") == "per-job process" else "")
        + "Seconds; the phases add up to the total. Rows in italics ran in grader threads "
        "*while* the student's cells ran (a forked check process, the timing box): they "
        "overlap the phases above and are not part of the total; only what was left when "
        "the notebook had finished counts above.", "",
        table(["phase (s)", *heads], rows), "",
        "Slowest cells and other nbgrader preprocessors per job: " + "; ".join(
            f"*{j['when']} {j['assignment']}*: "
            + ", ".join(f"{lab} {s:.2f} s" for s, lab in j["slow_cells"][:3])
            + " — " + ", ".join(f"{lab} {s:.2f} s" for s, lab in j["slow_preprocessors"][:3])
            for j in jobs if j["student"] == "ada_model" and "," not in j["when"]) + ".", "",
        f"Start-up a worker pays once (imports, {imports:.1f} s in all): " + ", ".join(
            f"{label} {s:.2f} s" for label, s in prof["imports"]) + ".", "",
        f"Course preparation (`runner.prepare`: sandbox install and two `nbgrader "
        f"generate_assignment` subprocesses, each importing everything again): "
        f"{prof['prepare']:.1f} s.", "",
    ]
    if prof.get("kernel_imports"):
        out += ["Kernel-side imports (student environment, cold, outside the sandbox): "
                + ", ".join(f"{label} {s:.2f} s" for label, s in prof["kernel_imports"]) + ".",
                ""]
    if whatif:
        a, b = whatif["as installed"], whatif["rfc3987_syntax blocked"]
        r = Summary.of(x / y for x, y in zip(a, b))
        out += [f"What-if, fresh `python -c 'import nbformat'` ({len(a)} interleaved runs): "
                f"{Summary.of(a).fmt(2, ' s')} as installed vs {Summary.of(b).fmt(2, ' s')} with "
                f"`rfc3987_syntax` blocked: {r.fmt()} slower as installed. Every grader process "
                "that imports nbformat pays this (the main process, each worker, each "
                "`nbgrader` subprocess).", ""]
    return out


def latency_section(lat: Latency, check_seconds: float, targets: Targets) -> list[str]:
    tables = ("symbolic table", "numeric/choice table")
    kinds = sorted({r["kind"] for r in lat.rows} - set(tables))
    groups = [("symbolic table answers", ("symbolic table",)),
              ("numeric/choice table answers", ("numeric/choice table",)),
              ("all table answers", tables), ("pathological inputs", tuple(kinds)),
              ("everything", (*tables, *kinds))]
    floor = Summary.of(lat.floor).median
    rows = []
    for label, ks in groups:
        s = lat.stats(ks)
        if s["n"]:
            rows.append((label, s["n"], ms(s["median"]), ms(s["p99"]), ms(s["max"]),
                         f"{s['median'] / floor:.1f}×"))
    t = lat.stats(tables)
    allv = lat.stats((*tables, *kinds))
    beyond = [r for r in lat.rows if r["seconds"] > check_seconds + HARD_LIMIT_SLACK]
    if t["n"]:
        targets.add("3 latency", "median check ≤ 50 ms (table answers)", ms(t["median"]),
                    t["median"] <= 0.05)
        targets.add("3 latency", "p99 check ≤ 500 ms (table answers)", ms(t["p99"]),
                    t["p99"] <= 0.5)
    targets.add("3 latency", f"nothing beyond the hard limit ({check_seconds:g} s)",
                f"max {ms(allv['max'])}, {len(beyond)} beyond", not beyond)
    wrong = [r for r in lat.rows if r["expected"] is False]
    timeouts = [r for r in lat.rows if r["verdict"] == "timeout"]
    patho = [(r["kind"], r["item"], f"`{r['label']}`", ms(r["seconds"]),
              f"{r['verdict']} / {r['tag']}") for r in lat.rows if r["kind"] in kinds]
    slow = sorted((r for r in lat.rows if r["kind"] in tables), key=lambda r: -r["seconds"])[:5]
    return [
        "## 3. Symbolic checker latency", "",
        "`grader.scoring.judge(item, answer)` end to end as in grading (parse, check in a forked "
        f"child under the hard limit `CHECK_SECONDS` = {check_seconds:g} s). Workload: every "
        "accepted and rejected answer of the tables in `tests/test_symbolic_items.py` (median of "
        "the repetitions kept per answer), then pathological inputs (once each). The floor is the "
        f"same fork around a function that does nothing: {ms(floor)}. Every item's check was "
        f"warmed first ({lat.warm_seconds:.2f} s, once per worker).", "",
        table(["answers", "n", "median", "p99", "max", "median / fork floor"], rows), "",
        f"Table answers graded differently from the table: {len(wrong)}"
        + (" (" + ", ".join(f"{r['item']}: {r['label']} → {r['tag']}" for r in wrong) + ")"
           if wrong else "") + f". Checks stopped by the hard limit: {len(timeouts)}. "
        f"Beyond the hard limit (+{HARD_LIMIT_SLACK:g} s to kill and reap): {len(beyond)}.", "",
        "Slowest table answers: " + ", ".join(
            f"{r['item']} `{r['label']}` {ms(r['seconds'])}" for r in slow) + ".", "",
        table(["pathological kind", "item", "input", "time", "verdict / tag"], patho), "",
    ]


def memory_section(tp: Throughput, targets: Targets) -> list[str]:
    roles = ("grader main", "forkserver", "grading worker", "check child", "student kernel",
             "other")
    modes = [m for m in MODES if tp.of(m)]
    rows = []
    for role in roles:
        vals = [max((r.peaks.get(role, 0) for r in tp.of(m)), default=0) for m in modes]
        if any(vals):
            rows.append((role, *(mib(v) if v else "—" for v in vals)))
    totals = ("whole tree, at once", *(mib(max(r.peak_total for r in tp.of(m))) if m != "bare"
                                       else "—" for m in modes))
    main = max((r.peaks.get("grader main", 0) for m in ("workers1", "workers2")
                for r in tp.of(m)), default=0)
    if main:
        targets.add("4 memory", "grader's own process < 500 MB", mib(main), main < 500e6)
    cmds = {role: cmd for m in modes for r in tp.of(m) for role, cmd in r.peak_cmd.items()}
    return [
        "## 4. Memory", "",
        "Peak resident set per process role on the throughput workload: the largest `VmHWM` (the "
        "kernel's own high-water mark) of any process of that role, polled every 0.25 s with "
        "psutil while the run lasts. *grading worker* = the process that grades a job (one per "
        "job, forked from the preloaded *forkserver*, or a pool worker). "
        "*check child* = the forked, time-limited check (its RSS "
        "counts pages shared with its parent). *other* = bwrap, sandbox launcher, alembic, "
        "multiprocessing's resource tracker" + (f" (largest: `{cmds['other']}`)" if "other" in cmds
                                                 else "") + ".", "",
        table(["role", *modes], [*rows, totals]), "",
    ]


def render(res: dict[str, Any]) -> str:
    meta = res["meta"]
    targets = Targets(meta["smoke"])
    out = [
        "# Benchmarks", "",
        f"Generated by `{meta['command']}` ("
        + ("SMOKE run: toy sizes, numbers meaningless" if meta["smoke"] else "full run")
        + f") in {meta['seconds'] / 60:.1f} min. Every figure is a ratio measured side by side "
        "in this run; targets are reported, never asserted.", "",
        f"Load average (1/5/15 min) at start: {fmt_load(meta['load_start'])}; at end: "
        f"{fmt_load(meta['load_end'])}. " + meta["wait_note"], "",
        f"Code measured: {meta['code']} (content digest {meta['digest']}"
        + (")." if meta["digest_end"] == meta["digest"] else
           f", **changed to {meta['digest_end']} during the run**: sections may have measured "
           "different code)."), "",
        "Per section (1-minute load before → after): " + ", ".join(
            f"{k} {a:.2f}→{b:.2f}" for k, (a, b) in meta["section_load"].items()) + ".", "",
        "## Machine", "", table(["", ""], res["machine"]), "",
    ]
    body: list[str] = []
    if "kernel" in res:
        body += kernel_section(res["kernel"], targets)
    if "throughput" in res:
        body += throughput_section(res["throughput"], res.get("profile"), res.get("whatif"),
                                   targets, meta["smoke"])
    elif "profile" in res:
        body += profile_section(res["profile"], res.get("whatif"))
    if "latency" in res:
        body += latency_section(res["latency"], res["check_seconds"], targets)
    if "throughput" in res:
        body += memory_section(res["throughput"], targets)
    for section, err in res.get("errors", {}).items():
        body += [f"## FAILED: {section}", "", "```", err.strip()[-3000:], "```", ""]
    summary = ["## Targets", "", table(["benchmark", "target", "measured", "verdict"],
                                       targets.rows), ""]
    return "\n".join(out + summary + body).rstrip() + "\n"

