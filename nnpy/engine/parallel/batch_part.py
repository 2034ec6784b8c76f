"""One process's part of a global batch, and the random draws it sees.

Data-parallel training (``mpiexec -n N nnpy train``) splits every global batch of ``total``
samples into ``N`` contiguous parts; process ``r`` trains on rows ``lo:hi``::

    global batch   | 0 1 2 3 4 | 5 6 7 8 9 |        total = 10, N = 2
    process          0 (lo=0, hi=5)   1 (lo=5, hi=10)

For the result not to depend on ``N``, each row must see the random numbers it sees in one
process: an augmentation's shift, a dropout mask. ``PartGenerator`` makes that so — every
per-sample draw is made for the whole global batch and sliced to the part.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import DataError


@dataclass(frozen=True)
class BatchPart:
    """Rows ``lo:hi`` of a global batch of ``total`` samples."""
    lo: int
    hi: int
    total: int

    @classmethod
    def of(cls, total: int, rank: int, size: int) -> "BatchPart":
        """Process ``rank`` of ``size``'s contiguous part: ``⌊rank·total/size⌋`` to
        ``⌊(rank+1)·total/size⌋`` (the parts differ in length by one at most)."""
        return cls(rank * total // size, (rank + 1) * total // size, total)

    @property
    def n(self) -> int:
        """Samples in the part."""
        return self.hi - self.lo

    @property
    def rows(self) -> slice:
        return slice(self.lo, self.hi)


class PartGenerator:
    """A ``numpy.random.Generator`` as seen by rows ``part.lo:part.hi`` of a global batch.

    A draw whose first axis is the part's length (``size=(n, …)``: one value per sample) is
    made for all ``part.total`` samples from ``generator`` and sliced, so the part gets exactly
    the numbers its rows get in one process and ``generator`` advances as it does there. A
    draw without a size (one number for the whole batch) passes through. ``part`` may be
    changed between batches (the dropout generator follows the training steps).
    """

    def __init__(self, generator: np.random.Generator, part: BatchPart):
        self.generator, self.part = generator, part

    @property
    def bit_generator(self):
        """The wrapped generator's state (what checkpoints save)."""
        return self.generator.bit_generator

    def _whole(self, size):
        """``size`` for the whole global batch (``(total, …)``), or None for one number."""
        if size is None:
            return None
        shape = (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)
        if not shape or shape[0] != self.part.n:
            raise DataError(f"a random draw of size {shape} is not one value per sample of this process's "
                            f"{self.part.n} samples: under several processes, augmentations and dropout must "
                            f"draw per sample (first axis = the batch)")
        return (self.part.total, *shape[1:])

    def _slice(self, values):
        return values if np.ndim(values) == 0 else values[self.part.rows]

    def random(self, size=None, dtype=np.float64):
        return self._slice(self.generator.random(self._whole(size), dtype=dtype))

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._slice(self.generator.uniform(low, high, self._whole(size)))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return self._slice(self.generator.integers(low, high, self._whole(size), dtype=dtype, endpoint=endpoint))

    def normal(self, loc=0.0, scale=1.0, size=None):
        return self._slice(self.generator.normal(loc, scale, self._whole(size)))

    def standard_normal(self, size=None, dtype=np.float64):
        return self._slice(self.generator.standard_normal(self._whole(size), dtype=dtype))

    def __getattr__(self, name):
        raise AttributeError(f"PartGenerator has no '{name}': under several processes a transform or layer can "
                             f"draw with random, uniform, integers, normal and standard_normal")
