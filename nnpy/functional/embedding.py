"""Embedding: a table lookup, y = E[ids]; its gradient adds each row of dy onto its id's row."""
from __future__ import annotations

from ..backend import xp


def embedding(E, ids):
    """E (V, D), integer ids (…) -> y (…, D), a copy of the rows."""
    return E[ids]


def embedding_backward(ids, dy, dE) -> None:
    """dE[v] = Σ of the rows of dy (…, D) whose id is v, written into dE (V, D): the ids sorted,
    each run of equal ids summed at once (``np.add.reduceat``), never a loop over the rows."""
    ids = ids.reshape(-1)
    g = dy.reshape(ids.size, dE.shape[1])
    order = xp.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = xp.flatnonzero(xp.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dE.fill(0)
    if ids.size:
        dE[sorted_ids[starts]] = xp.add.reduceat(g[order], starts, axis=0)
