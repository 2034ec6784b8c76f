"""Inverted dropout: while training, each value is zeroed with probability ``rate`` and the rest
are scaled by 1/(1 − rate), so evaluation needs no change (the identity)."""
from __future__ import annotations


def dropout_mask(rng, shape, rate: float, dtype):
    """The mask to multiply by, of ``shape``: 0 with probability ``rate``, else 1/(1 − rate).
    ``rng``: a ``numpy.random.Generator`` (the run's seeded one)."""
    keep = rng.random(shape, dtype=dtype) >= rate
    return keep * dtype.type(1.0 / (1.0 - rate))
