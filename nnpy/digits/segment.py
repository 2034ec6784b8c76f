"""Cut a photographed row of digits ("1234567890" on a strip of paper) into MNIST digits.

    ink stages (as for one digit: flattening, Otsu) ─▶ components ─▶ drop specks
        ─▶ merge pieces that share columns (a broken stroke, a 5's hat)
        ─▶ split groups that hold touching digits
        ─▶ each digit: crop, 20 px, centre of mass ─▶ (n, 28, 28), left to right

Splitting. Touching digits are cut along *least-ink paths* (``cutpaths``): from the top of
a group to its bottom, following the valley between strokes and crossing ink only where
they meet — straight lines cannot pass between a slanted 1 and the loop of the 2 it
touches. Paths are sought near every few columns of a group; those that cross at most
``CUT_INK`` pen widths of ink and share out the strokes differently are the candidate
cuts ``c_1 < … < c_K``. A reading of the group is a choice among them; it is scored as a
whole, the sum over its pieces of

    log p(piece) − WIDTH_WEIGHT · width_cost(piece)       (p: the model's top probability)

less ``CUT_COST + INK_COST · ink crossed / pen width`` per cut, and the best reading is
found by dynamic programming over the cut points (``best[j] = max_i best[i] + score(i, j)``,
one call of the model for every admissible piece). The row's score is the sum of its
groups', so choosing per group is choosing the best segmentation of the row. The width
cost is 0 for a width in the usual range of a digit of the model's reading — a 1 is
narrow (``ONE_WIDTH``), the others ``DIGIT_WIDTH`` row heights — and grows as the square
of the log-ratio beyond it: two touching digits read as one are too wide, one digit
split in two leaves pieces too narrow. Without the model, only the width speaks (every
piece a digit of ``DIGIT_WIDTH``), and only groups wider than ``SPLIT_WIDTH`` are cut.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .components import boxes, label
from .cutpaths import contour_valleys, descend, ink_between, read_paths
from .preprocess import DigitStages, NoInkError, centre_mnist, ink_stages, soft_ink, stroke_width

#: Components with less than this fraction of the heaviest one's ink are specks.
SPECK_MASS = 0.04
#: Two pieces are one digit when their columns overlap by this fraction of the narrower …
MERGE_OVERLAP = 0.5
#: … and one is shorter than this many row heights (a broken stroke, a 5's hat).
PIECE_HEIGHT = 0.7
#: Without a reader, groups wider than this many row heights are cut; with one, groups
#: wider than ``TRY_SPLIT_WIDTH`` are tried (a pair with a 1 is hardly wider than a digit).
SPLIT_WIDTH = 1.1
TRY_SPLIT_WIDTH = 0.6
#: Cuts start in valleys of the outline at least this many row heights deep, or are the
#: least-ink cut within ``CUT_REACH`` of every ``CUT_STEP`` row heights' column …
VALLEY_DEPTH = 0.1
CUT_STEP = 0.05
CUT_REACH = 0.2
#: … through the soft ink cubed: a faint antialiased edge costs next to nothing, a stroke 1 …
INK_POWER = 3.0
#: … costing this much ink (of the soft, 0-1 scale) per column they bend …
CUT_BEND = 0.1
#: … and at most the ``CUTS_KEPT`` cheapest distinct ones are tried.
CUTS_KEPT = 8
#: … and a cut crosses at most this many pen widths of ink (``FORCED_CUT_INK`` in a group
#: wider than ``SPLIT_WIDTH``: it holds several digits, however they overlap).
CUT_INK = 2.2
FORCED_CUT_INK = 4.0
#: Every piece is at least this many row heights tall and wide, with this much ink (row
#: heights of pen-wide stroke).
PIECE_MIN_HEIGHT = 0.7
PIECE_MIN_WIDTH = 0.06
PIECE_MIN_INK = 0.5
#: The usual widths (row heights) of a 1 and of the other digits, and how fast the
#: width cost grows beyond them (its unit: a log-ratio of ``WIDTH_SCALE``).
ONE_WIDTH = (0.0, 0.5)
DIGIT_WIDTH = (0.45, 1.0)
WIDTH_SCALE = 0.15
#: The score: weight of the width cost, and the cost of a cut and of the ink it crosses.
WIDTH_WEIGHT = 1.0
CUT_COST = -0.2
INK_COST = 0.15
#: The class of the digit one in the model's output (MNIST's order).
ONE = 1


@dataclass
class RowStages:
    """The ink stages of the whole image plus one entry per digit, left to right."""

    ink: DigitStages
    boxes: list = field(default_factory=list)     # (x0, y0, x1, y1) per digit, work pixels
    digits: np.ndarray | None = None              # (n, 28, 28) float32

    def boxes_in_input(self) -> list:
        """The boxes in the input image's pixels, ``[x0, y0, x1, y1]`` each."""
        return [[int(round(v / self.ink.scale)) for v in b] for b in self.boxes]


def _groups(st: dict, keep: np.ndarray, height: float) -> list[list[int]]:
    """Components ``keep`` grouped into digits, left to right: a piece joins a group when
    their columns overlap by ``MERGE_OVERLAP`` of the narrower and one of the two is
    shorter than ``PIECE_HEIGHT`` row heights (two full-height strokes side by side are
    two digits, however slanted)."""
    order = sorted(keep, key=lambda i: st["x0"][i])
    groups: list[list[int]] = []
    for i in order:
        x0, x1 = st["x0"][i], st["x1"][i]
        h_i = st["y1"][i] - st["y0"][i]
        for g in groups:
            gx0, gx1 = min(st["x0"][j] for j in g), max(st["x1"][j] for j in g)
            h_g = max(st["y1"][j] for j in g) - min(st["y0"][j] for j in g)
            overlap = min(x1, gx1) - max(x0, gx0)
            if overlap >= MERGE_OVERLAP * min(x1 - x0, gx1 - gx0) and \
                    min(h_i, h_g) < PIECE_HEIGHT * height:
                g.append(i)
                break
        else:
            groups.append([i])
    return sorted(groups, key=lambda g: min(st["x0"][j] for j in g))


def _window(mine: np.ndarray, margin: int) -> tuple[slice, slice]:
    """The rows and columns of ``mine``'s ink, ``margin`` pixels wider on every side."""
    rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
    h, w = mine.shape
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, h)),
            slice(max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, w)))


def _candidate_cuts(soft: np.ndarray, mine: np.ndarray, height: float, pen: float,
                    limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Cuts of the group ``mine`` ``(h, w)`` (its soft ink ``soft``): ``(paths, ink)``,
    ``paths`` ``(K, h)`` columns per row, left to right, and the ink each crosses in pen
    widths (at most ``limit``). Candidates: from each valley of the upper contour to each
    of the lower one, or from either to wherever the least ink leads (valleys at least
    ``VALLEY_DEPTH`` row heights deep), and the least-ink cut within ``CUT_REACH`` of every
    ``CUT_STEP`` row heights' column. Each leaves at least ``PIECE_MIN_INK`` on either
    side; of cuts that share out the ink alike (less than a pen-wide dot apart) the
    cheapest is kept, ``CUTS_KEPT`` at most."""
    h, w = mine.shape
    cols = np.flatnonzero(mine.any(axis=0))
    lo, hi = cols[0] + PIECE_MIN_WIDTH * height, cols[-1] + 1 - PIECE_MIN_WIDTH * height
    xx = np.arange(w)
    tops = contour_valleys(mine, VALLEY_DEPTH * height)
    bottoms = contour_valleys(mine[::-1], VALLEY_DEPTH * height)
    tops, bottoms = tops[(tops >= lo) & (tops < hi)], bottoms[(bottoms >= lo) & (bottoms < hi)]
    down, down_steps = descend(soft, xx[None, :] == tops[:, None], CUT_BEND)
    up, up_steps = descend(soft[::-1], xx[None, :] == bottoms[:, None], CUT_BEND)
    t = np.repeat(np.arange(len(tops)), len(bottoms))
    b = np.tile(np.arange(len(bottoms)), len(tops))
    free_t, free_b = np.argmin(down, axis=1), np.argmin(up, axis=1)
    found = [(read_paths(down_steps, t, bottoms[b]), down[t, bottoms[b]]),
             (read_paths(down_steps, np.arange(len(tops)), free_t), down.min(axis=1)),
             (read_paths(up_steps, np.arange(len(bottoms)), free_b)[:, ::-1], up.min(axis=1))]
    if hi > lo:
        centres = np.arange(lo, hi, max(CUT_STEP * height, 1.0))
        band = np.abs(xx[None, :] - centres[:, None]) <= CUT_REACH * height
        cost, steps = descend(soft, band, CUT_BEND, band)
        found.append((read_paths(steps, np.arange(len(centres)), np.argmin(cost, axis=1)),
                      cost.min(axis=1)))
    paths = np.concatenate([p for p, _ in found] + [np.zeros((0, h), np.int64)])
    ink = np.concatenate([c for _, c in found] + [np.zeros(0)]) / pen
    total, least = float(soft.sum()), PIECE_MIN_INK * height * pen
    left = ink_between(soft, paths, np.zeros((1, h), np.int64))[:, 0]
    ok = (ink <= limit) & (left >= least) & (total - left >= least)
    paths, ink = paths[ok], ink[ok]
    kept: list[int] = []
    apart = ink_between(soft, paths, paths) >= pen * pen
    for k in np.argsort(ink, kind="stable"):
        if all(apart[k, j] for j in kept):
            kept.append(int(k))
    kept = sorted(kept[:CUTS_KEPT], key=lambda k: float(paths[k].mean()))
    return paths[kept], ink[kept]


def _digit(ink: DigitStages, part: np.ndarray, side: np.ndarray, name: str):
    """The MNIST digit and box ``(x0, y0, x1, y1)`` of the pixels ``part`` (bool), its soft
    edges kept only on its ``side`` of the cut; ``None`` when ``part`` is empty."""
    if not part.any():
        return None
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    soft = soft_ink(ink.ink, part, ink.floor) * side      # the neighbour's edge is not ours
    rr, cc = np.flatnonzero(soft.any(axis=1)), np.flatnonzero(soft.any(axis=0))
    digit = centre_mnist(soft[rr[0]:rr[-1] + 1, cc[0]:cc[-1] + 1], name)
    return digit, (int(cols[0]), int(rows[0]), int(cols[-1] + 1), int(rows[-1] + 1))


def _piece(ink: DigitStages, mine: np.ndarray, left: np.ndarray, right: np.ndarray,
           height: float, pen: float, name: str, whole: bool = False):
    """``(digit, box, width)`` of the part of group ``mine`` between the cut paths ``left``
    and ``right`` (columns per row, ``x ≥ left`` and ``x < right``); ``None`` when it is no
    digit: shorter than ``PIECE_MIN_HEIGHT`` row heights, narrower than ``PIECE_MIN_WIDTH``,
    or with less than ``PIECE_MIN_INK`` (a sliver cut off a stroke). The ``whole`` group
    is always a digit."""
    xx = np.arange(mine.shape[1])[None, :]
    side = (xx >= left[:, None]) & (xx < right[:, None])
    part = mine & side
    rows, cols = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    if len(rows) == 0:
        return None
    if not whole and (rows[-1] + 1 - rows[0] < PIECE_MIN_HEIGHT * height \
            or cols[-1] + 1 - cols[0] < PIECE_MIN_WIDTH * height \
            or float(soft_ink(ink.ink, part, ink.floor)[part].sum()) < PIECE_MIN_INK * height * pen):
        return None
    digit, box = _digit(ink, part, side, name)
    return digit, box, (cols[-1] + 1 - cols[0]) / height


def width_cost(width: np.ndarray, one: np.ndarray) -> np.ndarray:
    """The width cost of pieces ``width`` row heights wide, read as 1s where ``one``:
    ``(log(w / clip(w, lo, hi)) / WIDTH_SCALE)²`` with ``(lo, hi)`` the usual width of
    that digit (``ONE_WIDTH`` or ``DIGIT_WIDTH``): 0 inside it."""
    lo = np.where(one, ONE_WIDTH[0], DIGIT_WIDTH[0])
    hi = np.where(one, ONE_WIDTH[1], DIGIT_WIDTH[1])
    w = np.asarray(width, dtype=np.float64)
    return (np.log(w / np.clip(w, lo, hi)) / WIDTH_SCALE) ** 2


def _best_reading(n: int, scores: dict, cut_costs: np.ndarray) -> list[tuple[int, int]]:
    """The pieces ``[(i, j), …]`` (between boundaries ``i < j`` of ``0 … n − 1``, boundary 0
    and ``n − 1`` the group's ends) of the reading with the highest total: ``scores[(i, j)]``
    per piece, less ``cut_costs[i]`` per inner boundary ``i`` used. Dynamic programming:
    ``best[j] = max_i best[i] − cut_costs[i] + scores[(i, j)]``."""
    best = np.full(n, -np.inf)
    best[0] = 0.0
    back = np.zeros(n, dtype=np.int64)
    for j in range(1, n):
        for i in range(j):
            if (i, j) in scores and np.isfinite(best[i]):
                total = best[i] - (cut_costs[i] if i else 0.0) + scores[(i, j)]
                if total > best[j]:
                    best[j], back[j] = total, i
    pieces, j = [], n - 1
    while j > 0:
        pieces.append((int(back[j]), j))
        j = int(back[j])
    return pieces[::-1]


def _split_group(ink: DigitStages, mine: np.ndarray, height: float, read, name: str) -> list:
    """The digits ``[(digit, box), …]`` of one group ``mine`` (bool, whole image), left to
    right: the best reading over its candidate cuts (see the module docstring)."""
    rows, cols = _window(mine, 3)
    group, h = mine[rows, cols], rows.stop - rows.start
    width = (np.flatnonzero(group.any(axis=0))[[0, -1]] @ [-1, 1] + 1) / height
    soft = soft_ink(ink.ink[rows, cols], group, ink.floor) ** INK_POWER
    pen = max(stroke_width(group, soft), 1.0)              # the ink a cut pays per stroke
    paths, crossed = np.zeros((0, h), np.int64), np.zeros(0)
    if width > (TRY_SPLIT_WIDTH if read is not None else SPLIT_WIDTH):
        limit = FORCED_CUT_INK if width > SPLIT_WIDTH else CUT_INK
        paths, crossed = _candidate_cuts(soft, group, height, pen, limit)
    ends = np.vstack([np.zeros((1, h), np.int64), paths, np.full((1, h), group.shape[1])])
    sub = DigitStages(work=ink.work[rows, cols], ink=ink.ink[rows, cols], floor=ink.floor)
    found = {}
    for i in range(len(ends)):
        for j in range(i + 1, len(ends)):
            whole = (i, j) == (0, len(ends) - 1)
            piece = _piece(sub, group, ends[i], ends[j], height, pen, name, whole)
            if piece is not None and (whole or piece[2] <= 2 * DIGIT_WIDTH[1]):
                found[(i, j)] = piece
    if not found:
        return []
    keys = list(found)
    widths = np.array([found[key][2] for key in keys])
    if read is None or len(keys) == 1:
        scores = -WIDTH_WEIGHT * width_cost(widths, np.zeros(len(keys), bool))
    else:
        probs = read(np.stack([found[key][0] for key in keys]))
        scores = np.log(np.maximum(probs.max(axis=1), 1e-12)) \
            - WIDTH_WEIGHT * width_cost(widths, probs.argmax(axis=1) == ONE)
    cut_costs = np.concatenate([[0.0], CUT_COST + INK_COST * crossed, [0.0]])
    chosen = _best_reading(len(ends), dict(zip(keys, scores)), cut_costs)
    x0, y0 = cols.start, rows.start
    return [(found[key][0], (b[0] + x0, b[1] + y0, b[2] + x0, b[3] + y0))
            for key in chosen for b in [found[key][1]]]


def _components(ink: DigitStages, off_border: bool = False) -> tuple[np.ndarray, dict, np.ndarray, float]:
    """``(labels, stats, keep, height)``: the components of the ink mask (``label``, ``boxes``),
    the indices of those that are no specks (and, with ``off_border``, touch no image edge),
    and the row's digit height in pixels (the median height of the taller ones)."""
    labels, n = label(ink.mask)
    st = boxes(labels, n, weights=ink.ink)
    keep = (st["mass"] >= SPECK_MASS * st["mass"].max()) & (st["area"] >= 4)
    if off_border:
        h, w = ink.mask.shape
        keep &= (st["y0"] > 0) & (st["x0"] > 0) & (st["y1"] < h) & (st["x1"] < w)
    keep = np.flatnonzero(keep)
    tall = st["y1"][keep] - st["y0"][keep]
    height = float(np.median(tall[tall >= 0.5 * tall.max()])) if len(keep) else 0.0
    return labels, st, keep, height


def looks_like_a_row(ink: DigitStages) -> bool:
    """Does the ink of an image read as one digit (``ink_stages``, ``digit_stages``) hold
    several digits side by side? By shape alone: two or more separate groups of ink
    (``_groups``, specks and components on the image's edge left out) at least
    ``PIECE_MIN_HEIGHT`` of the digit height tall, or one group wider than ``SPLIT_WIDTH``
    digit heights (touching digits). A hint for a closer look (``segment_row``), not a count."""
    _, st, keep, height = _components(ink, off_border=True)
    if len(keep) == 0:
        return False
    groups = _groups(st, keep, height)
    tall = wide = 0
    for g in groups:
        x0, x1 = min(st["x0"][j] for j in g), max(st["x1"][j] for j in g)
        y0, y1 = min(st["y0"][j] for j in g), max(st["y1"][j] for j in g)
        tall += y1 - y0 >= PIECE_MIN_HEIGHT * height
        wide += x1 - x0 > SPLIT_WIDTH * height
    return tall >= 2 or wide >= 1


def segment_row(grey: np.ndarray, invert="auto", name: str = "image",
                read: Callable[[np.ndarray], np.ndarray] | None = None) -> RowStages:
    """Digits of a row in the grey image ``(H, W)``: ``RowStages`` with ``digits``
    ``(n, 28, 28)`` and their ``boxes``, left to right. ``NoInkError`` when blank.

    Touching digits are cut along least-ink paths, the reading of each group chosen as
    a whole (see the module docstring). With ``read`` (``(n, 28, 28)`` images → ``(n, C)``
    class probabilities, the model), the model's confidence and the pieces' widths
    decide; without it, groups wider than ``SPLIT_WIDTH`` row heights are cut where
    their width says.
    """
    ink = ink_stages(grey, invert, name)
    labels, st, keep, height = _components(ink)
    groups = _groups(st, keep, height)
    row = RowStages(ink=ink)
    digits = []
    for g in groups:
        mine = np.isin(labels, np.array(g) + 1)
        for digit, box in _split_group(ink, mine, height, read, name):
            digits.append(digit)
            row.boxes.append(box)
    if not digits:
        raise NoInkError(f"{name}: no ink found (no digit-sized stroke)", ink)
    row.digits = np.stack(digits).astype(np.float32)
    return row
