"""Sample submissions for the demo: the model answer, the untouched release, and typical
mistakes drawn from the misconception catalogues.

A mistake is written as a few lines appended to the student's answer cell that defines the
name, exactly as a student would overwrite a value, so the samples follow the notebooks
without any copy of them being kept.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from grader.pipeline import COURSE

LOOP_ROPE = '''
def apply_rope(x, positions, base=10000.0):  # a per-position, per-pair Python loop
    out = np.array(x, copy=True)
    d = x.shape[-1]
    for s, p in enumerate(positions):
        for k in range(d // 2):
            t = p * base ** (-2 * k / d)
            c, sn = np.cos(t), np.sin(t)
            a, b_ = x[..., s, 2 * k], x[..., s, 2 * k + 1]
            out[..., s, 2 * k], out[..., s, 2 * k + 1] = a * c - b_ * sn, a * sn + b_ * c
    return out
'''

HALF_ROPE = '''
def apply_rope(x, positions, base=10000.0):  # pairs (i, i + d/2): the other layout
    d = x.shape[-1]
    h = d // 2
    ang = np.asarray(positions, dtype=float)[:, None] * base ** (-2.0 * np.arange(h) / d)
    c, s_ = np.cos(ang), np.sin(ang)
    a, b_ = x[..., :h], x[..., h:]
    return np.concatenate([a * c - b_ * s_, a * s_ + b_ * c], axis=-1).astype(x.dtype)
'''

SLIPS: dict[str, dict[str, dict[str, str]]] = {
    "cy_pi_factor": {
        "derive_lambda": {"lam_solution": "lam_solution = m / m_l"},
        "numeric_rope": {"ntk_scaled_base": "def ntk_scaled_base(base, m, m_l, d):\n"
                                            "    return base * m / m_l",
                         "find_lambda": "def find_lambda(m, m_l, d):  # the closed form\n"
                                        "    return float((m / m_l) ** (d / (d - 2)))"},
    },
    "dee_inverted_and_sign": {
        "derive_lambda": {"lam_solution": "lam_solution = (m / m_l) ** ((d - 2) / d)"},
        "numeric_rope": {"apply_rope": "_rope_ok = apply_rope\n"
                                       "def apply_rope(x, positions, base=10000.0):\n"
                                       "    return _rope_ok(x, -np.asarray(positions), base)"},
    },
    "eve_highest_freq_and_layout": {
        "derive_lambda": {"i_star": "i_star = sp.Integer(0)"},
        "numeric_rope": {"apply_rope": HALF_ROPE},
    },
    "fay_one_based": {
        "derive_lambda": {"theta_i": "theta_i = b ** (-2 * (i - 1) / d)"},
        "numeric_rope": {"rope_frequencies": "def rope_frequencies(d, base=10000.0):\n"
                                             "    return base ** (-2.0 * np.arange(1, d // 2 + 1)"
                                             " / d)"},
    },
    "gus_slow_loop": {
        "derive_lambda": {"rel_error": "rel_error = (m / m_l) ** (2 / (d - 2))"},
        "numeric_rope": {"apply_rope": LOOP_ROPE},
    },
    "hal_pi_inverted": {
        "derive_lambda": {"pi_stretch": "pi_stretch = m_l / m"},
        "numeric_rope": {"position_interpolation":
                         "def position_interpolation(positions, m, m_l):\n"
                         "    return np.asarray(positions, dtype=float) * m / m_l"},
    },
}
"""Per sample student: per assignment, name -> code appended after the cell defining it."""


def _defines(source: str, name: str) -> bool:
    return re.search(rf"^(def\s+{re.escape(name)}\s*\(|{re.escape(name)}\s*=)", source,
                     re.M) is not None


def with_slips(source_nb: Path, slips: dict[str, str]) -> nbformat.NotebookNode:
    """The model notebook with each named answer overwritten by the slip's code."""
    nb = nbformat.read(source_nb, as_version=4)
    for name, code in slips.items():
        cells = [c for c in nb.cells if c.cell_type == "code"
                 and c.metadata.get("nbgrader", {}).get("solution") and _defines(c.source, name)]
        if not cells:
            raise LookupError(f"{source_nb.name}: no answer cell defines {name!r}")
        cells[-1].source += "\n" + code.strip("\n") + "\n"
    return nb


def write_samples(dest: Path, course: Path = COURSE) -> Path:
    """Write a ``submitted/``-style folder of sample submissions into ``dest``."""
    assignments = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    for assignment in assignments:
        source = course / "source" / assignment / f"{assignment}.ipynb"
        release = course / "release" / assignment / f"{assignment}.ipynb"
        for student, nb in [("ada_model", nbformat.read(source, as_version=4)),
                            ("ben_untouched", nbformat.read(release, as_version=4))] + [
                (s, with_slips(source, slips.get(assignment, {}))) for s, slips in SLIPS.items()]:
            out = dest / student / assignment / f"{assignment}.ipynb"
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
    broken = dest / "ivy_broken_file" / assignments[0] / f"{assignments[0]}.ipynb"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text('{"cells": [', encoding="utf-8")  # a truncated upload
    return dest
