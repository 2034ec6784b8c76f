"""Connected components of a binary image, in numpy alone.

``label(mask)`` numbers the 8-connected regions of a boolean image; ``boxes``
measures them. The labelling is a vectorised union-find: every pair of
neighbouring ink pixels is an edge, and the loop runs over *rounds* of the
algorithm (each joins every edge's two trees at once, then compresses paths by
pointer jumping), never over pixels. A round at least halves the number of trees
an edge still separates, so the rounds are few (``O(log n)`` in practice).
"""
from __future__ import annotations

import numpy as np

# Neighbour offsets (dy, dx) that, with their mirror images, make 8-connectivity.
_OFFSETS_8 = ((0, 1), (1, -1), (1, 0), (1, 1))
_OFFSETS_4 = ((0, 1), (1, 0))


def _edges(index: np.ndarray, offsets) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(u, v)`` of compact indices of foreground pixels that are neighbours.

    ``index`` ``(H, W)``: ``-1`` on background, ``0..n-1`` on foreground.
    """
    h, w = index.shape
    us, vs = [], []
    for dy, dx in offsets:                       # dy >= 0: pixel (y, x) and (y + dy, x + dx)
        xa = slice(0, w - dx) if dx >= 0 else slice(-dx, w)
        xb = slice(dx, w) if dx >= 0 else slice(0, w + dx)
        a, b = index[0:h - dy, xa], index[dy:h, xb]
        both = (a >= 0) & (b >= 0)
        us.append(a[both])
        vs.append(b[both])
    return np.concatenate(us), np.concatenate(vs)


def _roots(parent: np.ndarray) -> np.ndarray:
    """Pointer jumping: ``parent[i]`` becomes the root of ``i``'s tree."""
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def label(mask: np.ndarray, connectivity: int = 8) -> tuple[np.ndarray, int]:
    """Number the connected regions of ``mask`` ``(H, W)`` bool.

    Returns ``(labels, n)``: ``labels`` ``(H, W)`` int32, 0 on background and
    ``1..n`` on the regions, numbered in raster order of their first pixel.
    """
    mask = np.asarray(mask, dtype=bool)
    flat = np.flatnonzero(mask)
    index = np.full(mask.shape, -1, dtype=np.int64)
    index.flat[flat] = np.arange(len(flat))
    u, v = _edges(index, _OFFSETS_8 if connectivity == 8 else _OFFSETS_4)
    parent = np.arange(len(flat))
    while len(u):
        pu, pv = parent[u], parent[v]
        lo, hi = np.minimum(pu, pv), np.maximum(pu, pv)
        apart = lo != hi
        if not apart.any():
            break
        u, v = u[apart], v[apart]                 # edges inside one tree are done
        np.minimum.at(parent, hi[apart], lo[apart])   # hook the larger root under the smaller
        parent = _roots(parent)
    # Roots are the smallest compact index of their region: raster order of first pixels.
    roots, compact = np.unique(parent, return_inverse=True)
    labels = np.zeros(mask.shape, dtype=np.int32)
    labels.flat[flat] = compact.reshape(-1) + 1
    return labels, len(roots)


def boxes(labels: np.ndarray, n: int, weights: np.ndarray | None = None) -> dict:
    """Per region ``1..n`` (arrays of length ``n``): ``area`` (pixels), ``mass`` (sum of
    ``weights``, default the area) and the box ``y0, x0, y1, x1`` (exclusive ends)."""
    h, w = labels.shape
    lab = labels.ravel()
    keep = lab > 0
    lab = lab[keep] - 1
    ys, xs = np.divmod(np.flatnonzero(keep), w)
    area = np.bincount(lab, minlength=n).astype(np.int64)
    wts = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()[keep]
    mass = area.astype(np.float64) if wts is None else np.bincount(lab, wts, minlength=n)
    y0, x0 = np.full(n, h, np.int64), np.full(n, w, np.int64)
    y1, x1 = np.zeros(n, np.int64), np.zeros(n, np.int64)
    np.minimum.at(y0, lab, ys)
    np.minimum.at(x0, lab, xs)
    np.maximum.at(y1, lab, ys + 1)
    np.maximum.at(x1, lab, xs + 1)
    return {"area": area, "mass": mass, "y0": y0, "x0": x0, "y1": y1, "x1": x1}
