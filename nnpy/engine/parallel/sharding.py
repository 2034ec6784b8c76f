"""``ShardedLoader``: one process's part of every global batch of a ``DataLoader``.

All processes draw the same seeded global batches (an epoch's order, or a run in steps' random
rows); process ``r`` of ``N`` takes the contiguous rows ``BatchPart.of(m, r, N)`` of each
global batch of ``m`` samples. Across the processes every sample of a batch is trained on
exactly once, in the batches one process would make, with the augmentation one process would
draw (``DataLoader.batches(…, part_of)``).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ...data.loader import DataLoader
from ...errors import ConfigError
from .batch_part import BatchPart


class ShardedLoader:
    """The batches of ``loader`` that process ``rank`` of ``size`` trains on; ``len()`` and the
    numbering of batches are the global loader's."""

    def __init__(self, loader: DataLoader, rank: int, size: int):
        self.loader, self.rank, self.size = loader, int(rank), int(size)
        check_batches(loader, size)

    @property
    def num_samples(self) -> int:
        return self.loader.num_samples

    def __len__(self) -> int:
        return len(self.loader)

    def part(self, b: int) -> BatchPart:
        """This process's rows of global batch ``b``."""
        return BatchPart.of(self.loader.batch_size_of(b), self.rank, self.size)

    def batches(self, epoch: int, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """This process's part of global batches ``start, …, len(self) - 1`` of ``epoch``."""
        if epoch < 0 or not 0 <= start <= len(self):
            raise ValueError(f"ShardedLoader: no batch {start} of epoch {epoch} ({len(self)} batches per epoch)")
        return self.loader.batches(epoch, start, part_of=self.part)


def check_batches(loader: DataLoader, processes: int) -> None:
    """Every process needs at least one sample of every global batch."""
    if loader.batch_size < processes:
        raise ConfigError(f"data.batch_size: {loader.batch_size} is smaller than the {processes} processes: "
                          f"the global batch is split between them; use a batch of at least {processes}")
    last = loader.batch_size_of(len(loader) - 1) if len(loader) else loader.batch_size
    if last < processes:
        raise ConfigError(f"data.batch_size: the last batch of each epoch has {last} sample(s) "
                          f"({loader.num_samples} training samples), fewer than the {processes} processes; "
                          f"set data.drop_last: true or change data.batch_size")
