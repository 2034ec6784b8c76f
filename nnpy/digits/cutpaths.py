"""Cut paths between touching digits: from the valleys of the ink's outline, along the least ink.

Where two hand-written digits touch, no straight line separates them: the cut has to start
where the outline dips between them (a *valley* of the upper contour, seen from above, or
of the lower one, seen from below), follow the paper between their strokes, and cross the
ink only where they meet. A cut is a path from the top row to the bottom row, one column
``x(y)`` per row, moving at most one column from row to row; its cost is the ink it
crosses (along its length: a diagonal step is √2 long) plus a little for every bend,

    C(x) = Σ_y ink[y, x(y)] · ℓ(d_y) + bend · Σ_y |d_y|,   d_y = x(y) − x(y − 1), ℓ(d) = √(1 + d²),

which dynamic programming over the rows minimises exactly (as seam carving does): from a
start column ``s``,

    D[0, x] = ink[0, s] if x = s else ∞,
    D[y, x] = min_{d ∈ {−1, 0, 1}} (D[y − 1, x − d] + ink[y, x] · ℓ(d) + bend · |d|),

and the cheapest path to any end column ``e`` costs ``D[h − 1, e]``, read back from the
steps taken. All starts are run at once (``D`` is ``(K, w)`` per row): the loops run over
rows, never over pixels.
"""
from __future__ import annotations

import numpy as np


def contour_valleys(mask: np.ndarray, depth: float) -> np.ndarray:
    """Columns where the upper contour of ``mask`` ``(h, w)`` dips at least ``depth`` rows
    below the highest ink on *both* sides of it (flip the mask for the lower contour).

    With ``top(x)`` the first ink row of column ``x`` (``h`` when the column is empty), a
    valley is a local maximum of ``top`` whose depth ``top(x) − max(min_{x' < x} top(x'),
    min_{x' > x} top(x'))`` is at least ``depth``; of a flat valley floor, the middle."""
    h, w = mask.shape
    top = np.where(mask.any(axis=0), np.argmax(mask, axis=0), h).astype(np.float64)
    high_left = np.minimum.accumulate(top)
    high_right = np.minimum.accumulate(top[::-1])[::-1]
    deep = top - np.maximum(high_left, high_right) >= depth
    padded = np.concatenate([[-1.0], top, [-1.0]])
    peak = (top >= padded[:-2]) & (top >= padded[2:]) & deep & (top < h)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], peak.astype(np.int8), [0]])))
    return ((runs[0::2] + runs[1::2] - 1) // 2).astype(np.int64)      # middle of each run


def descend(ink: np.ndarray, starts: np.ndarray, bend: float,
            allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least-ink paths down ``ink`` ``(h, w)`` (≥ 0, paper 0), one from each row of
    ``starts`` ``(K, w)`` bool (the top-row columns it may start from), kept to the columns
    ``allowed`` ``(K, w)`` bool (default: all): ``(cost, steps)``, ``cost`` ``(K, w)`` the
    ``D[h − 1]`` of each (the cost of its best path to every bottom column) and ``steps``
    ``(h, K, w)`` int8, the ``e`` of the best path into each pixel (it came from
    ``(y − 1, x + e)``, ``e = −d``)."""
    ink = np.asarray(ink, dtype=np.float64)
    h, w = ink.shape
    barred = np.zeros(starts.shape, bool) if allowed is None else ~allowed
    cost = np.where(starts & ~barred, ink[0][None, :], np.inf)
    steps = np.zeros((h, len(starts), w), dtype=np.int8)
    for y in range(1, h):
        slant = np.sqrt(2) * ink[y][None, :] + bend                         # a diagonal step
        from_left = np.pad(cost[:, :-1], ((0, 0), (1, 0)), constant_values=np.inf) + slant
        from_right = np.pad(cost[:, 1:], ((0, 0), (0, 1)), constant_values=np.inf) + slant
        options = np.stack([from_left, cost + ink[y][None, :], from_right])   # e = −1, 0, +1
        step = np.argmin(options, axis=0)
        cost = np.where(barred, np.inf, np.take_along_axis(options, step[None], axis=0)[0])
        steps[y] = step - 1
    return cost, steps


def read_paths(steps: np.ndarray, which: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The paths ``(n, h)`` (a column per row) of starts ``which`` ``(n,)`` that end in the
    bottom-row columns ``ends`` ``(n,)``, read back up from the ``steps`` of ``descend``."""
    h = steps.shape[0]
    paths = np.empty((len(which), h), dtype=np.int64)
    x = np.asarray(ends, dtype=np.int64).copy()
    paths[:, -1] = x
    for y in range(h - 1, 0, -1):
        x = x + steps[y, which, x]
        paths[:, y - 1] = x
    return paths


def ink_between(ink: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The ink ``(Ka, Kb)`` that lies between each path of ``a`` ``(Ka, h)`` and each of
    ``b`` ``(Kb, h)`` (columns per row of ``ink`` ``(h, w)``, either side): how differently
    two cuts share out the strokes; 0 when they cut the ink alike."""
    h, w = ink.shape
    before = np.concatenate([np.zeros((h, 1)), np.cumsum(ink, axis=1)], axis=1)   # Σ ink[y, :x]
    rows = np.arange(h)
    left_a, left_b = before[rows, np.clip(a, 0, w)], before[rows, np.clip(b, 0, w)]
    return np.abs(left_a[:, None, :] - left_b[None, :, :]).sum(axis=2)
