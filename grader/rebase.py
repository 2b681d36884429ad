"""A call of a student's function with some of the notebook's own functions rebased.

``find_lambda`` must find lam from the notebook's ``wavelengths`` (the closed form is not
allowed).  Values cannot show that, so the grader calls it once more with ``wavelengths`` and
``rope_frequencies`` swapped, for that call, for stand-ins that raise their ``base`` argument
to :data:`POWER`: a lam found from them is the root of another period law (lam**(1/POWER));
a closed form returns lam unchanged (:class:`grader.kernels.KernelCheck`).

The swap covers every namespace the function may look the names up in: its globals (also of
a ``functools.wraps``/``lru_cache`` wrapper's ``__wrapped__``, a ``functools.partial``'s
``func`` and a callable object's ``__call__``) and the notebook's own (``__main__``).  The call
has a time limit: a root finder that does not converge on the other law is stopped (an
:class:`Overrun`, which proves nothing).  Everything is put back, whatever happens.

Runs in the student's kernel: standard library only.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

POWER = 2.0
"""A stand-in calls the student's function with ``base**POWER``."""
LIMIT_S = 5.0
"""Time limit of a rebased call."""
_REPEAT_S = 0.1
"""After the limit the alarm repeats this often, should the student's code catch one ..."""
_MAX_ALARMS = 100
"""... at most this many times."""


class Overrun(BaseException):
    """Raised in a rebased call past :data:`LIMIT_S` (not an ``Exception``, so that an
    ``except Exception`` in the student's code does not swallow it)."""


def stand_ins(originals: dict[str, Any]) -> dict[str, Any]:
    """Stand-ins for the notebook's functions ``f(d, base, ...)``, keyed as ``originals``.
    Only the outermost stand-in raises the base: when ``wavelengths`` calls
    ``rope_frequencies``, the base is raised once, as for a function that calls either one."""
    depth = [0]

    def swap(original: Any) -> Any:
        @functools.wraps(original)
        def stand_in(d: Any, base: Any = 10000.0, *args: Any, **kwargs: Any) -> Any:
            new_base = float(base) ** POWER if depth[0] == 0 else base
            depth[0] += 1
            try:
                return original(d, new_base, *args, **kwargs)
            finally:
                depth[0] -= 1
        return stand_in

    return {key: swap(fn) for key, fn in originals.items()}


def _namespaces(fn: Any) -> list[dict[str, Any]]:
    """Every dict ``fn`` may look global names up in, each once."""
    found: list[dict[str, Any]] = []
    call = type(fn).__dict__.get("__call__")  # a callable object's method
    for obj in (fn, getattr(fn, "__wrapped__", None), getattr(fn, "func", None), call,
                sys.modules.get("__main__")):
        space = obj.__dict__ if isinstance(obj, types.ModuleType) else getattr(
            obj, "__globals__", None)
        if isinstance(space, dict) and all(space is not s for s in found):
            found.append(space)
    return found


@contextlib.contextmanager
def rebased(fn: Any, names: tuple[str, ...]) -> Iterator[None]:
    """For one call of ``fn``: the notebook's functions ``names`` swapped for stand-ins, and
    the time limit.  Without ``names``, nothing."""
    if not names:
        yield
        return
    spaces = _namespaces(fn)
    originals = {(k, n): space[n] for k, space in enumerate(spaces) for n in names
                 if callable(space.get(n))}
    try:
        for (k, n), stand_in in stand_ins(originals).items():
            spaces[k][n] = stand_in
        with _time_limit():
            yield
    finally:  # the alarm is off by now: nothing interrupts this
        for (k, n), original in originals.items():
            spaces[k][n] = original


@contextlib.contextmanager
def _time_limit() -> Iterator[None]:
    """Raise :class:`Overrun` in the block after :data:`LIMIT_S` (main thread only, where a
    signal can be handled); a timer someone else had set is put back afterwards."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return
    alarms = [0]

    def overrun(signum: int, frame: Any) -> None:
        alarms[0] += 1
        if alarms[0] >= _MAX_ALARMS:
            signal.setitimer(signal.ITIMER_REAL, 0)
        raise Overrun(f"stopped after {LIMIT_S:g} s")

    previous = signal.signal(signal.SIGALRM, overrun)
    start = time.monotonic()
    timer = signal.setitimer(signal.ITIMER_REAL, LIMIT_S, _REPEAT_S)
    try:
        yield
    finally:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if signal.SIGALRM in signal.sigpending():
                signal.sigwait({signal.SIGALRM})  # consumed here, not by the old handler
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            if timer[0] > 0:  # someone else's alarm (a test runner's timeout): put it back
                left = max(timer[0] - (time.monotonic() - start), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, timer[1])
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
