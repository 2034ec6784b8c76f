"""Least-ink cut paths between touching digits (the "drop-fall" of touching-digit segmentation).

Where two hand-written digits touch, no straight line separates them: the cut has to follow
the valley between their strokes and cross the ink only where they meet. A cut is a path
from the top row of the ink to the bottom row, one column ``x(y)`` per row, moving at most
one column from row to row. Its cost is the ink it crosses plus a little for every bend,

    C(x) = Σ_y ink[y, x(y)] + bend · Σ_y |x(y) − x(y − 1)|,

which dynamic programming over the rows minimises exactly (as seam carving does):

    D[0, x] = ink[0, x],      D[y, x] = ink[y, x] + min_{d ∈ {−1, 0, 1}} (D[y − 1, x + d] + bend · |d|),

and the path is read back from the cheapest end ``argmin_x D[h − 1, x]``. Every candidate
``k`` keeps its path within ``reach`` columns of its own centre column, so that one pass
finds a cut near each place one may be: ``D`` is ``(K, w)`` for each row, and the loop runs
over the rows, never over pixels.
"""
from __future__ import annotations

import numpy as np


def least_ink_paths(ink: np.ndarray, centres: np.ndarray, reach: float,
                    bend: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The least-ink top-to-bottom path near each of ``centres`` through ``ink`` ``(h, w)``
    (≥ 0, paper 0): ``(paths, costs)``, ``paths`` ``(K, h)`` int64 (the column of path ``k``
    in row ``y``, always within ``reach`` of ``centres[k]``) and ``costs`` ``(K,)`` its ``C``."""
    ink = np.asarray(ink, dtype=np.float64)
    h, w = ink.shape
    centres = np.asarray(centres, dtype=np.float64)
    k = np.arange(len(centres))
    allowed = np.abs(np.arange(w)[None, :] - centres[:, None]) <= reach      # (K, w)
    cost = np.where(allowed, ink[0][None, :], np.inf)
    moves = np.zeros((h, len(centres), w), dtype=np.int8)                    # d of each step
    for y in range(1, h):
        from_left = np.pad(cost[:, :-1], ((0, 0), (1, 0)), constant_values=np.inf) + bend
        from_right = np.pad(cost[:, 1:], ((0, 0), (0, 1)), constant_values=np.inf) + bend
        options = np.stack([from_left, cost, from_right])                    # d = −1, 0, +1
        step = np.argmin(options, axis=0)
        best = np.take_along_axis(options, step[None], axis=0)[0]
        cost = np.where(allowed, best + ink[y][None, :], np.inf)
        moves[y] = step - 1
    x = np.argmin(cost, axis=1)
    costs = cost[k, x]
    paths = np.empty((len(centres), h), dtype=np.int64)
    paths[:, -1] = x
    for y in range(h - 1, 0, -1):                                           # read the path back
        x = x + moves[y, k, x]
        paths[:, y - 1] = x
    return paths, costs


def ink_between(ink: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The ink ``(Ka, Kb)`` that lies between each path of ``a`` ``(Ka, h)`` and each of
    ``b`` ``(Kb, h)`` (columns per row of ``ink`` ``(h, w)``, either side): how differently
    two cuts share out the strokes; 0 when they cut the ink alike."""
    h, w = ink.shape
    before = np.concatenate([np.zeros((h, 1)), np.cumsum(ink, axis=1)], axis=1)   # Σ ink[y, :x]
    rows = np.arange(h)
    left_a, left_b = before[rows, np.clip(a, 0, w)], before[rows, np.clip(b, 0, w)]
    return np.abs(left_a[:, None, :] - left_b[None, :, :]).sum(axis=2)
