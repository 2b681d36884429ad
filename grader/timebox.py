"""The timing box: one fresh process that times the answer key, then the student's kernel.

:mod:`grader.sidebyside` starts this module (``python -m grader.timebox``) inside the same
bubblewrap sandbox as a student kernel and sends it one JSON request per line on stdin; each
reply is one JSON line on a private copy of stdout.  The order of requests is what keeps the
answer key away from student code:

1. ``setup``: build the timed input from a seed drawn at grading time;
2. ``key``: the answer key's source text, executed into a private namespace (no file of it
   exists in the sandbox, no module of it is ever registered), called with the number of
   threads the grader allows it (one: students' numpy kernels run on one);
3. ``call`` rounds on the key, each at positions from an offset first revealed in its request;
4. ``forget``: drop the key and collect it, *before* any student code exists here;
5. ``load``: the student's function, pickled in their kernel by cloudpickle;
6. ``call`` rounds on the student's function.

Both are timed in this one process, on the same array, by the grader's clock around each
request.  Student code runs only after the key is gone, so it can neither call the key nor
slow it down.  Each call returns the checksum of its output, which the grader checks against
its own value, and how long computing it took: the grader takes the key's (measured before
any student code ran here, so to be trusted) off both sides' times.  Whatever student code
prints goes to /dev/null.
"""

from __future__ import annotations

import base64
import functools
import gc
import json
import os
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from grader import probes

Kernel = Callable[[np.ndarray, np.ndarray], Any]


class _Box:
    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.weights: np.ndarray | None = None
        self.fn: Kernel | None = None
        self.replaced: dict[str, types.ModuleType | None] = {}
        """the answer key's module names, each with what sys.modules held under it before"""

    def setup(self, seed: int, shape: list[int], dtype: str) -> dict[str, Any]:
        self.x, self.weights = probes.timed_arrays(seed, tuple(shape), dtype)
        return {"ok": True}

    def key(self, modules: list[list[str]], name: str, threads: int) -> dict[str, Any]:
        """Load the answer key from ``[module name, source]`` pairs, each module after those
        it imports (the grader's own code); ``name`` is a function of the last one."""
        module = None
        for module_name, source in modules:
            module = types.ModuleType(module_name)
            self.replaced.setdefault(module_name, sys.modules.get(module_name))
            sys.modules[module_name] = module  # found by the next module's import
            exec(compile(source, f"<answer key: {module_name}>", "exec"), module.__dict__)
        assert module is not None
        self.fn = functools.partial(getattr(module, name), threads=threads)
        return {"ok": True}

    def forget(self) -> dict[str, Any]:
        """Drop every reference to the answer key before a student's function is loaded."""
        self.fn = None
        for module_name, before in self.replaced.items():
            if before is None:
                sys.modules.pop(module_name, None)
            else:
                sys.modules[module_name] = before
        self.replaced.clear()
        gc.collect()
        return {"ok": True}

    def load(self, function: str) -> dict[str, Any]:
        import pickle

        import cloudpickle  # noqa: F401 -- the pickle refers to it
        try:
            fn = pickle.loads(base64.b64decode(function))
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}
        if not callable(fn):
            return {"error": f"TypeError: {type(fn).__name__} is not callable"}
        self.fn = fn
        return {"ok": True}

    def call(self, offset: int) -> dict[str, Any]:
        assert self.x is not None and self.weights is not None and self.fn is not None
        try:
            out = self.fn(self.x, probes.stopwatch_positions(self.x.shape[-2], offset))
            shape = getattr(out, "shape", None)
            if shape != self.x.shape:
                return {"wrong_output": f"returned shape {shape}, expected {self.x.shape}"}
            t0 = time.thread_time()  # CPU time: the grader charges requests the same way
            checksum = probes.checksum(out, self.weights)
            return {"checksum": checksum, "checksum_s": time.thread_time() - t0,
                    "dtype": str(getattr(out, "dtype", ""))}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def main() -> None:
    """Serve requests until stdin closes."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # student prints go nowhere, never into the replies
    os.dup2(quiet, 2)
    box = _Box()
    handlers: dict[str, Callable[..., dict[str, Any]]] = {
        "setup": box.setup, "key": box.key, "forget": box.forget, "load": box.load,
        "call": box.call}
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        reply = handlers[op](**request)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
