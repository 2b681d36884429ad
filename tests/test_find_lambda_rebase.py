"""find_lambda must find lam from the notebook's wavelengths: the rebased call
(grader.rebase) swaps wavelengths and rope_frequencies for another base law, and a closed
form, a cache or a check against wavelengths shows itself there (half the points,
not_from_wavelengths)."""

from __future__ import annotations

import pytest
from test_kernel_checks import _roundtrip

from grader import capture, rebase
from grader.items import REGISTRY
from grader.scoring import judge

NOTEBOOK_FUNCTIONS = """
import numpy as np

def rope_frequencies(d, base=10000.0):
    return base ** (-2.0 * np.arange(d // 2) / d)

def wavelengths(d, base=10000.0):
    return 2 * np.pi / rope_frequencies(d, base)

def bisect(longer, lo=1.0, hi=1e6):
    for _ in range(200):
        mid = (lo * hi) ** 0.5
        lo, hi = (lo, mid) if longer(mid) else (mid, hi)
    return float((lo * hi) ** 0.5)
"""

FIND_LAMBDA = {
    "bisection on wavelengths": ("""
def find_lambda(m, m_l, d):
    target = m / m_l * wavelengths(d, 10000.0)[-1]
    return bisect(lambda lam: wavelengths(d, base=lam * 10000.0)[-1] >= target)
""", (1.0, "ok")),
    "bisection on rope_frequencies": ("""
def find_lambda(m, m_l, d):
    target = m / m_l * 2 * np.pi / rope_frequencies(d)[-1]
    return bisect(lambda lam: 2 * np.pi / rope_frequencies(d, lam * 10000.0)[-1] >= target)
""", (1.0, "ok")),
    "bisection on an inline period": ("""
def find_lambda(m, m_l, d):
    period = lambda base: 2 * np.pi * base ** ((d - 2) / d)
    return bisect(lambda lam: period(lam * 10000.0) >= m / m_l * period(10000.0))
""", (0.5, "not_from_wavelengths")),
    "closed form beside wavelengths": ("""
def find_lambda(m, m_l, d):
    wavelengths(d)
    return (m / m_l) ** (d / (d - 2))
""", (0.5, "not_from_wavelengths")),
    "closed form checked against wavelengths": ("""
def find_lambda(m, m_l, d):
    lam = (m / m_l) ** (d / (d - 2))
    assert np.isclose(wavelengths(d, lam * 1e4)[-1], m / m_l * wavelengths(d, 1e4)[-1])
    return lam
""", (0.5, "not_from_wavelengths")),
    "a cached bisection": ("""
import functools

@functools.lru_cache
def find_lambda(m, m_l, d):
    target = m / m_l * wavelengths(d)[-1]
    return bisect(lambda lam: wavelengths(d, lam * 1e4)[-1] >= target)
""", (1.0, "ok")),
    "a callable object": ("""
class Finder:
    def __call__(self, m, m_l, d):
        target = m / m_l * wavelengths(d)[-1]
        return bisect(lambda lam: wavelengths(d, lam * 1e4)[-1] >= target)

find_lambda = Finder()
""", (1.0, "ok")),
    "a partial": ("""
import functools

def _find(m, m_l, d, start):
    target = m / m_l * wavelengths(d)[-1]
    return bisect(lambda lam: wavelengths(d, lam * 1e4)[-1] >= target, lo=start)

find_lambda = functools.partial(_find, start=1.0)
""", (1.0, "ok")),
    # the period law inverted in closed form, fed the last period: rebased it returns lam*b
    "closed form through the last period": ("""
def find_lambda(m, m_l, d, b=10000.0):
    new_base = (m / m_l * wavelengths(d, b)[-1] / (2 * np.pi)) ** (d / (d - 2))
    return float(new_base / b)
""", (0.5, "not_from_wavelengths")),
    # a bracket from m/m_l up (lam > m/m_l): rebased, the root is below it, so the search
    # ends at its lower edge, which a search can do
    "a bracket starting at m/m_l": ("""
def find_lambda(m, m_l, d):
    target = m / m_l * wavelengths(d)[-1]
    return bisect(lambda lam: wavelengths(d, lam * 1e4)[-1] >= target, lo=m / m_l, hi=1e3)
""", (1.0, "ok_edge")),
    "Newton's method on log lam": ("""
def find_lambda(m, m_l, d):
    target = np.log(m / m_l * wavelengths(d)[-1])
    g = lambda t: np.log(wavelengths(d, np.exp(t) * 1e4)[-1]) - target
    t = 0.0
    for _ in range(60):
        t -= g(t) / ((g(t + 1e-6) - g(t - 1e-6)) / 2e-6)
    return float(np.exp(t))
""", (1.0, "ok")),
}


@pytest.mark.parametrize("case", FIND_LAMBDA)
def test_find_lambda_must_be_found_from_wavelengths(case: str) -> None:
    """The notebook asks for lam by bisection on wavelengths, without the closed form: one
    more call with wavelengths and rope_frequencies rebased (base**2) must change lam (to
    its square root); right values that do not change earn half.  The notebook's functions
    are put back afterwards."""
    source, expected = FIND_LAMBDA[case]
    space: dict = {}
    exec(NOTEBOOK_FUNCTIONS + source, space)  # a notebook's namespace
    originals = {n: space[n] for n in ("wavelengths", "rope_frequencies")}
    answer = capture._capture("find_lambda", space["find_lambda"])
    assert {n: space[n] for n in originals} == originals
    j = judge(REGISTRY["find_lambda"], _roundtrip(answer))
    assert (j.fraction, j.tag) == (expected[0], expected[1].removesuffix("_edge")), j.message
    rebased = answer.calls[-1].output
    plain = answer.calls[0].output
    assert float(plain) == pytest.approx(4.0 ** (128 / 126), rel=1e-10)
    if expected[1] == "ok":  # lam at d = 126 for the rebased law: the root of its square
        assert float(rebased) == pytest.approx(4.0 ** (63 / 124), rel=1e-6)
    if expected[1] == "ok_edge":  # the bracket's lower edge, m/m_l
        assert float(rebased) == pytest.approx(4.0, rel=1e-6)


def test_a_find_lambda_that_hangs_on_the_other_base_law_is_stopped() -> None:
    """A find_lambda that never returns once wavelengths is rebased (here it spins, catching
    every Exception: code that checks for the swap) is stopped after rebase.LIMIT_S; a
    bisection on the swapped law would have converged at once, so it earns half.  The
    notebook's functions and the alarm are put back."""
    import signal
    import time

    space: dict = {}
    exec(NOTEBOOK_FUNCTIONS + '''
def find_lambda(m, m_l, d):
    while wavelengths(4, 100.0)[-1] > 100.0:  # 2*pi*10 normally; 2*pi*100 rebased
        try:
            pass
        except Exception:
            pass
    return bisect(lambda lam: wavelengths(d, lam * 1e4)[-1] >= m / m_l * wavelengths(d)[-1])
''', space)
    original = space["wavelengths"]
    handler, (timer, _) = signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)
    t0 = time.perf_counter()
    answer = capture._capture("find_lambda", space["find_lambda"])
    took = time.perf_counter() - t0
    assert rebase.LIMIT_S <= took < rebase.LIMIT_S + 3
    assert space["wavelengths"] is original
    assert signal.getsignal(signal.SIGALRM) is handler  # pytest-timeout's, if it runs
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    assert (left > 0) == (timer > 0) and left <= max(timer - took, 1e-3) + 0.01
    assert answer.calls[-1].error.startswith("Overrun")
    j = judge(REGISTRY["find_lambda"], _roundtrip(answer))
    assert (j.fraction, j.tag) == (0.5, "not_from_wavelengths")
    assert "it did not return within the time limit" in j.message
