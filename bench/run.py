"""Run every benchmark and write ``bench/results.md``: ``python -m bench.run [--smoke]``.

Full mode (``make bench``) waits for a quiet machine first (1-minute load ≤ 1.5, polled every
minute for up to 20 minutes), then runs: the RoPE kernel, the symbolic checker's latency, the
grading throughput of a 20-student class in four modes with memory watched, and the profile of
one grading job.  ``--smoke`` runs the same code at toy sizes in well under a minute (the
throughput part then executes one notebook bare, and the job profile grades one notebook while
the others run) and writes to ``bench/results-smoke.md.tmp`` unless ``--out`` is given.
Nothing is asserted about timings; a benchmark that fails is reported in the file and makes
the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import common

SECTIONS = ("kernel", "latency", "throughput", "profile")
DEFAULT_OUT = common.ROOT / "bench" / "results.md"
SMOKE_OUT = common.ROOT / "bench" / "results-smoke.md.tmp"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="toy sizes, 1-2 repetitions (< 60 s)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"results file (default {DEFAULT_OUT.relative_to(common.ROOT)}, "
                   f"or {SMOKE_OUT.relative_to(common.ROOT)} with --smoke)")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--repeats", type=int, default=None,
                   help="interleaved repetitions of the kernel benchmark (default 9; smoke 2)")
    p.add_argument("--throughput-repeats", type=int, default=7,
                   help="interleaved repetitions of every grading mode (default 7; each "
                   "repetition grades the class in all four modes: about 20 min for 20 "
                   "students on 2 cores)")
    p.add_argument("--students", type=int, default=20, help="class size (default 20)")
    p.add_argument("--no-wait", action="store_true",
                   help="do not wait for a quiet machine before a full run")
    return p


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _section(res: dict[str, Any], name: str, fn: Callable[[], Any]) -> Any:
    """Run one benchmark, recording its load before and after, and any failure."""
    before = common.loadavg()[0]
    _log(f"{name}: starting (load {before:.2f})")
    t0 = time.perf_counter()
    try:
        return fn()
    except Exception:
        res["errors"][name] = traceback.format_exc()
        _log(f"{name}: FAILED\n{res['errors'][name]}")
        return None
    finally:
        res["meta"]["section_load"][name] = (before, common.loadavg()[0])
        _log(f"{name}: done in {time.perf_counter() - t0:.0f} s")


class _Profile:
    """The job profile, in a fresh interpreter so that its imports are cold.  A smoke run
    starts it first and lets it overlap the other benchmarks (their numbers mean nothing
    there); a full run starts it only when its turn comes, on a machine otherwise idle."""

    def __init__(self, smoke: bool) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-profile-")
        self.out = Path(self.tmp.name) / "profile.json"
        self.log = open(Path(self.tmp.name) / "profile.log", "w+", encoding="utf-8")  # noqa: SIM115
        argv = [sys.executable, "-m", "bench.jobprofile", str(self.out)]
        self.proc = subprocess.Popen(argv + (["--smoke"] if smoke else []), cwd=common.ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def result(self) -> dict[str, Any]:
        try:
            code = self.proc.wait(timeout=1800)
            if code != 0:
                self.log.seek(0)
                raise RuntimeError(f"bench.jobprofile exited with {code}:\n"
                                   f"{self.log.read()[-3000:]}")
            return json.loads(self.out.read_text(encoding="utf-8"))
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            self.tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    smoke = args.smoke
    out_path = args.out or (SMOKE_OUT if smoke else DEFAULT_OUT)
    t_start = time.perf_counter()
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    load_start = common.loadavg()
    wait_note = ""
    if not smoke and not args.no_wait and load_start[0] > 1.5:
        seen = common.wait_for_quiet(1.5, 60, 20 * 60, _log)
        wait_note = (f"The 1-minute load was {load_start[0]:.2f} at launch; waited "
                     f"{seen[-1][0] / 60:.0f} min polling every minute (loads seen: "
                     + ", ".join(f"{load:.2f}" for _t, load in seen) + ")"
                     + ("; started anyway after the 20-minute budget." if seen[-1][1] > 1.5
                        else "; started when it fell to ≤ 1.5."))
        load_start = common.loadavg()
    elif not smoke:
        wait_note = ("No wait needed (1-minute load ≤ 1.5 at launch)." if load_start[0] <= 1.5
                     else "Started without waiting (--no-wait).")
    early = _Profile(smoke) if smoke and "profile" in only else None
    code, digest = common.code_state()
    res: dict[str, Any] = {"errors": {}, "machine": common.machine(), "meta": {
        "smoke": smoke, "command": command.strip(), "section_load": {},
        "load_start": load_start, "wait_note": wait_note, "code": code, "digest": digest}}

    if "kernel" in only:
        from bench import kernel

        reps = args.repeats or (2 if smoke else 9)
        got = _section(res, "kernel", lambda: kernel.run(smoke=smoke, repeats=reps))
        if got is not None:
            res["kernel"] = got
    if "latency" in only:
        from bench import latency
        from grader.scoring import CHECK_SECONDS

        res["check_seconds"] = CHECK_SECONDS
        got = _section(res, "latency", lambda: latency.run(smoke=smoke))
        if got is not None:
            res["latency"] = got
    if "throughput" in only:
        from bench import throughput

        def grade_class() -> Any:
            with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
                if smoke:
                    return throughput.run(Path(tmp), students=1, assignments=("derive_lambda",),
                                          repeats=1, modes=("bare",), log=_log)
                return throughput.run(Path(tmp), students=args.students,
                                      repeats=args.throughput_repeats, log=_log)

        got = _section(res, "throughput", grade_class)
        if got is not None:
            res["throughput"] = got
    if "profile" in only:
        from bench.jobprofile import import_whatif

        got = _section(res, "profile", lambda: (early or _Profile(smoke)).result())
        if got is not None:
            res["profile"] = got
        got = _section(res, "imports", lambda: import_whatif(1 if smoke else 7))
        if got is not None:
            res["whatif"] = got

    res["meta"]["load_end"] = common.loadavg()
    res["meta"]["digest_end"] = common.code_state()[1]
    res["meta"]["seconds"] = time.perf_counter() - t_start
    from bench.report import render

    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(render(res), encoding="utf-8")
    _log(f"wrote {out_path} in {res['meta']['seconds']:.0f} s")
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
