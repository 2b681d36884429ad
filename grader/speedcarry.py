"""Speed points for a kernel that is right for the student's own wrong frequencies.

A speed item checks every timed result against the answer key's, so a fast ``apply_rope``
built right on a slipped ``rope_frequencies`` (credited by follow-through, :mod:`grader.carry`)
would lose its speed points for the same slip.  The timing box keeps the student's checksum
of each timed round when they disagree with the key's (:mod:`grader.sidebyside`); here each
is checked against the checksum of the key's rotation built on the frequencies the student's
``rope_frequencies`` returned for that ``d`` and base (captured by its probes,
:mod:`grader.replay`), recomputed from the round's seed and positions.  Only when every round
agrees is the kernel timed as right.
"""

from __future__ import annotations

import numpy as np

from grader import probes, replay
from grader.mutants import rotate
from grader.payload import Answer, TimingAnswer

LAYOUT = {"apply_rope_speed": "interleaved"}
"""The layout of the kernel each speed item times."""


def right_for_own_frequencies(item_id: str, record: TimingAnswer, frequencies: Answer) -> bool:
    """Does every timed round of ``record`` (a speed item's, refused for its values) return
    the key's rotation on the student's own frequencies (``frequencies``: the captured calls
    of their rope_frequencies)?"""
    spec = probes.TIMINGS.get(item_id)
    if spec is None or item_id not in LAYOUT or record.seed < 0 or not record.rounds:
        return False
    if tuple(record.shape) != spec.shape:
        return False
    theta = replay.captured_frequencies(frequencies).get((spec.shape[-1], replay.DEFAULT_BASE))
    if theta is None or theta.shape != (spec.shape[-1] // 2,) or not np.all(np.isfinite(theta)):
        return False
    x, weights, scale = probes.timed_inputs(record.seed, spec.shape, spec.dtype)
    heads = x.reshape(-1, *spec.shape[-2:])
    if heads[0].size % weights.size:  # the checksum's weights do not restart at each head
        heads = x.reshape(1, *x.shape)
    for offset, got in record.rounds:
        angles = probes.stopwatch_positions(spec.shape[-2], offset)[:, None] * theta[None, :]
        # head by head (the checksum is a sum over whole blocks of weights): little memory
        total = sum(probes.checksum(rotate(head, angles, LAYOUT[item_id]), weights)
                    for head in heads)
        if not probes.checksums_agree(got, total, scale):
            return False
    return True
