"""Benchmarks for the RoPE course and its autograder (GitHub issue 8).

``make bench`` (``python -m bench.run``) runs every benchmark and writes ``bench/results.md``;
``python -m bench.run --smoke`` runs them all at toy sizes (``tests/test_bench_smoke.py``).
Every figure is a ratio measured side by side in one run; nothing here asserts a timing.

Modules: :mod:`bench.common` (statistics, machine facts, markdown), :mod:`bench.kernel` (the
RoPE kernel), :mod:`bench.latency` (the symbolic checker), :mod:`bench.throughput` (grading a
class, with :mod:`bench.memory` watching RSS), :mod:`bench.jobprofile` (where one grading job
spends its time) and :mod:`bench.run` (the driver).
"""
