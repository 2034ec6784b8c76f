"""Mini-batches of numpy arrays, reproducible and resumable without saved state.

The order of epoch ``e`` is ``default_rng([seed, e]).permutation(n)`` and the
transform of batch ``b`` of epoch ``e`` draws from ``default_rng([seed, e, b])``:
both are pure functions of ``(seed, e, b)``, so resuming at batch ``b`` of epoch
``e`` needs only those three numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from ..errors import ConfigError
from .transforms import Normalize

if TYPE_CHECKING:       # a part of a batch is data-parallel training's (nnpy.engine.parallel)
    from ..engine.parallel.batch_part import BatchPart

__all__ = ["DataLoader", "Normalize", "RandomBatchLoader", "split_train_val"]


def _as_batch(a: np.ndarray) -> np.ndarray:
    """Float data as float32; integer data (token ids, class labels) unchanged."""
    if np.issubdtype(a.dtype, np.integer):
        return a
    return a.astype(np.float32, copy=False)


class DataLoader:
    """Batches ``(xb, yb)`` of ``x`` ``(N, ...)`` and ``y`` ``(N, ...)``.

    ``xb`` is float32 unless ``x`` is integer; float ``yb`` is float32 and
    integer ``yb`` keeps its dtype. ``transform(xb, rng)`` is applied to ``xb`` (with
    ``transform(xb, rng, yb)`` when the transform's ``uses_labels`` is true).
    ``len(loader)`` is the number of batches per epoch; the last one is smaller
    unless ``drop_last``. ``iter(loader)`` runs epoch ``loader.epoch`` and
    advances it, so successive ``for`` loops see epochs 0, 1, 2, …
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                 drop_last: bool = False, seed: int = 0,
                 transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None):
        if len(x) != len(y):
            raise ConfigError(f"DataLoader: x has {len(x)} samples but y has {len(y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, not {batch_size!r}")
        self.x, self.y = np.asarray(x), np.asarray(y)
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.seed, self.transform = int(seed), transform
        self.epoch = 0          # the epoch the next ``iter(loader)`` runs

    @property
    def num_samples(self) -> int:
        return len(self.x)

    def __len__(self) -> int:
        n, b = self.num_samples, self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of ``epoch`` in visiting order, ``(N,)``."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_samples)

    def batches(self, epoch: int, start: int = 0,
                part_of: Callable[[int], BatchPart] | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches ``start, start+1, …, len(self)-1`` of ``epoch``, one at a time (``part_of(b)``:
        only those rows of batch ``b``, one process's part under data-parallel training). A batch
        that does not exist is a ValueError at once, before the first batch is asked for."""
        if epoch < 0 or not 0 <= start <= len(self):
            raise ValueError(f"DataLoader: no batch {start} of epoch {epoch} "
                             f"({len(self)} batches per epoch)")
        rows = self.batch_rows(epoch)
        return (self.batch_of(rows(b), epoch, b, None if part_of is None else part_of(b))
                for b in range(start, len(self)))

    def batch_rows(self, epoch: int) -> Callable[[int], np.ndarray]:
        """``rows(b)``: the sample indices of batch ``b`` of ``epoch``, ``order(epoch)`` cut into
        batches of ``batch_size``."""
        order = self.order(epoch)
        return lambda b: order[b * self.batch_size:(b + 1) * self.batch_size]

    def batch_of(self, idx: np.ndarray, epoch: int, b: int, part: BatchPart | None = None):
        """The samples ``idx`` as batch ``b`` of ``epoch`` (its transform draws from
        ``default_rng([seed, epoch, b])``), or only its rows ``part.lo:part.hi`` (one process's
        part under data-parallel training): the transform's per-sample draws are then made for
        the whole batch and sliced (``PartGenerator``), so each row comes out exactly as it does
        in the whole batch."""
        uses_labels = getattr(self.transform, "uses_labels", False)
        if part is not None and uses_labels:
            # a transform that looks at the labels draws for some samples only: transform the
            # whole batch (a few ms), then keep this process's rows
            xb, yb = self.batch_of(idx, epoch, b)
            return xb[part.rows], yb[part.rows]
        if part is not None:
            from ..engine.parallel.batch_part import PartGenerator   # loaded by the one who made part
            idx = idx[part.rows]
        xb, yb = _as_batch(self.x[idx]), _as_batch(self.y[idx])
        if self.transform is not None:
            rng = np.random.default_rng([self.seed, epoch, b])
            rng = rng if part is None else PartGenerator(rng, part)
            xb = self.transform(xb, rng, yb) if uses_labels else self.transform(xb, rng)
        return xb, yb

    def batch_size_of(self, b: int) -> int:
        """The number of samples in batch ``b`` (the last one may be smaller)."""
        return min(self.batch_size, self.num_samples - b * self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        return self.batches(epoch)

    def __repr__(self) -> str:
        return (f"DataLoader(n={self.num_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")


class RandomBatchLoader(DataLoader):
    """``steps`` batches per round, each of ``batch_size`` samples drawn with replacement: batch ``b``
    of round ``e`` is rows ``default_rng([seed, e, b]).integers(0, N, batch_size)`` — nanoGPT's
    ``get_batch`` (random windows of a text, when the samples are its windows), and resumable
    from ``(e, b)`` alone. A run in steps (``train.steps``) is rounds of ``train.eval_every`` steps.
    """

    def __init__(self, x, y, batch_size: int, steps: int, seed: int = 0, transform=None):
        super().__init__(x, y, batch_size, shuffle=True, drop_last=True, seed=seed, transform=transform)
        self.steps = int(steps)

    def __len__(self) -> int:
        return self.steps

    def batch_rows(self, epoch: int) -> Callable[[int], np.ndarray]:
        """``rows(b)``: ``batch_size`` sample indices drawn with replacement by
        ``default_rng([seed, epoch, b])``."""
        return lambda b: np.random.default_rng([self.seed, epoch, b]).integers(0, self.num_samples, self.batch_size)

    def batch_size_of(self, b: int) -> int:
        return self.batch_size

    def __repr__(self) -> str:
        return (f"RandomBatchLoader(n={self.num_samples}, batch_size={self.batch_size}, steps={self.steps}, "
                f"seed={self.seed})")


def split_train_val(x: np.ndarray, y: np.ndarray, val, seed: int = 0):
    """Hold out ``val`` samples (a count, or a fraction in (0, 1)) chosen by ``seed``.

    Returns ``(x_train, y_train, x_val, y_val)``; both parts keep the original order.
    """
    n = len(x)
    if len(y) != n:
        raise ConfigError(f"split_train_val: x has {n} samples but y has {len(y)}")
    if isinstance(val, bool) or not isinstance(val, (int, float, np.integer, np.floating)):
        raise ConfigError(f"val must be a count or a fraction in (0, 1), not {val!r}")
    if isinstance(val, (float, np.floating)):
        if not 0 < val < 1:
            raise ConfigError(f"val fraction must be in (0, 1), not {val}")
        n_val = min(max(int(round(n * val)), 1), n - 1)
    else:
        n_val = int(val)
    if not 1 <= n_val < n:
        raise ConfigError(f"val must leave at least one sample on each side of {n}, not {val}")
    perm = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]
