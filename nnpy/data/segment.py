"""Cut a photographed row of digits ("1234567890" on a strip of paper) into MNIST digits.

    ink stages (as for one digit: flattening, Otsu) ─▶ components ─▶ drop specks
        ─▶ merge pieces that share columns (a broken stroke, a 5's hat)
        ─▶ split groups that hold touching digits
        ─▶ each digit: crop, 20 px, centre of mass ─▶ (n, 28, 28), left to right

Splitting: a group wider than ``SPLIT_WIDTH`` row heights holds ``round(width /
(PAIR_WIDTH · height))`` digits and is cut at the columns of least ink. Given the model
(``read``), a single component wider than ``TRY_SPLIT_WIDTH`` is also tried as two: cut
along upright or right-leaning lines (``SLANTS``) through the valleys of its ink profile
that cross about one stroke (``CUT_INK``), each piece a plausible digit; the reading
the model is surest of wins (mean log-probability, a cut costing ``SPLIT_MARGIN`` and
earning ``SPLIT_PRIOR`` per typical width the group is wider than the row's others) —
a touching pair with a 1 in it is hardly wider than one digit, so width alone cannot say.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .components import boxes, label
from .digits import DigitStages, NoInkError, centre_mnist, ink_stages, soft_ink, stroke_width

#: Components with less than this fraction of the heaviest one's ink are specks.
SPECK_MASS = 0.04
#: Two pieces are one digit when their columns overlap by this fraction of the narrower …
MERGE_OVERLAP = 0.5
#: … and one is shorter than this many row heights (a broken stroke, a 5's hat).
PIECE_HEIGHT = 0.7
#: A group wider than this many row heights holds more than one digit …
SPLIT_WIDTH = 1.1
#: … each about this many row heights wide.
PAIR_WIDTH = 0.72
#: With a reader, groups wider than this many row heights are also tried as two digits …
TRY_SPLIT_WIDTH = 0.6
#: … and the cut must raise the mean log-probability by this much, less this much per
#: row's typical width the group is wider than that (a pair is wider than one digit).
SPLIT_MARGIN = 0.05
SPLIT_PRIOR = 0.25
#: How many cut positions (the deepest valleys of the ink profile) are tried …
CUTS_TRIED = 5
#: … where a cut crosses at most this many pen widths of ink …
CUT_INK = 1.6
#: … upright or leaning right (the shear: columns per row above the middle) …
SLANTS = (0.0, 0.15, 0.3)
#: … and every piece at least this many row heights tall, with this much of the ink.
PIECE_MIN_HEIGHT = 0.55
PIECE_MIN_MASS = 0.15


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


def _sheared_columns(mine: np.ndarray, slant: float) -> np.ndarray:
    """Column of every pixel ``(h, w)`` after shearing by ``slant`` (``x + slant · (y − yc)``,
    ``yc`` the middle of the ink's rows): with the slant of the hand-writing, strokes that
    lean right stand upright, and a straight cut can pass between two leaning digits."""
    rows = np.flatnonzero(mine.any(axis=1))
    yc = (rows[0] + rows[-1]) / 2
    yy, xx = np.indices(mine.shape, dtype=np.float32)
    return xx + slant * (yy - yc)


def _cuts(ink, mine, pen: float, parts: int, forced: bool) -> list[tuple[float, list]]:
    """Ways ``[(slant, [cut column, …]), …]`` to cut a group ``mine`` into ``parts`` digits.

    Two parts: for each slant in ``SLANTS``, the ``CUTS_TRIED`` lowest local minima of
    the (sheared) ink profile in its middle 76 %, where the cut crosses at most
    ``CUT_INK`` pen widths of ink pixels (one stroke: where two digits touch; a cut
    through a 0 or an 8 crosses two or three). More parts, or a forced cut without such
    a minimum: upright cuts near the equal split points, at the least ink."""
    options = []
    for slant in (SLANTS if parts == 2 else (0.0,)):
        cols = _sheared_columns(mine, slant)[mine]
        lo = int(np.floor(cols.min()))
        count = np.bincount((cols - lo).astype(int))
        width = len(count)
        smooth = np.convolve(count, np.ones(3) / 3, mode="same")
        if parts == 2:
            inner = np.arange(max(int(0.12 * width), 1), min(int(0.88 * width), width - 1))
            minima = [c for c in inner if smooth[c] <= smooth[c - 1] and smooth[c] <= smooth[c + 1]
                      and smooth[c] <= CUT_INK * pen]
            minima = sorted(minima, key=lambda c: smooth[c])[:CUTS_TRIED]
            options += [(slant, [lo + int(c) + 0.5]) for c in minima]
        if parts > 2 or (forced and not options):
            cuts = []
            for j in range(1, parts):
                centre = j * width / parts
                a = max(int(centre - 0.25 * width / parts), 1)
                b = min(int(centre + 0.25 * width / parts) + 1, width - 1)
                cuts.append(lo + (a + int(np.argmin(smooth[a:b])) if b > a else int(centre)) + 0.5)
            cuts = [float(c) for c in cuts]
            options.append((slant, cuts))
    return options


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


def _pieces(ink, mine, slant: float, cuts: list, height: float, name: str) -> list | None:
    """The digits of group ``mine`` cut at the sheared columns ``cuts``, left to right;
    ``None`` when a piece is no digit: shorter than ``PIECE_MIN_HEIGHT`` row heights or
    with less than ``PIECE_MIN_MASS`` of the group's ink (a sliver cut off a stroke)."""
    if not cuts:
        return [p for p in [_digit(ink, mine, np.ones_like(mine), name)] if p is not None]
    cols = _sheared_columns(mine, slant)
    total = float((ink.ink * mine).sum())
    edges = [-np.inf, *cuts, np.inf]
    pieces = []
    for a, b in zip(edges[:-1], edges[1:]):
        side = (cols >= a) & (cols < b)
        part = mine & side
        rows = np.flatnonzero(part.any(axis=1))
        if len(rows) == 0 or rows[-1] + 1 - rows[0] < PIECE_MIN_HEIGHT * height \
                or float((ink.ink * part).sum()) < PIECE_MIN_MASS * total:
            return None
        pieces.append(_digit(ink, part, side, name))
    return pieces


def _split_group(ink, mine, width: int, height: float, typical: float, pieces: int,
                 read, name) -> list:
    """The digits ``[(digit, box), …]`` of one group of ``pieces`` components (see
    ``segment_row``); ``typical``: the row's median group width. Only a single component
    is tried as a touching pair: pieces were merged because they make one digit."""
    forced = width > SPLIT_WIDTH * height
    parts = max(2, int(round(width / (PAIR_WIDTH * height)))) if forced else 2
    options = [] if forced else [(0.0, [])]
    if forced or (read is not None and pieces == 1 and width > TRY_SPLIT_WIDTH * height):
        options += _cuts(ink, mine, stroke_width(mine), parts, forced)
    if not options:
        options = [(0.0, [])]
    options = list(dict.fromkeys((slant, tuple(cuts)) for slant, cuts in options))   # no repeats
    readings = [(cuts, _pieces(ink, mine, slant, list(cuts), height, name))
                for slant, cuts in options]
    readings = [(cuts, pieces) for cuts, pieces in readings if pieces] or \
        [([], _pieces(ink, mine, 0.0, [], height, name))]
    if read is None or len(readings) == 1:
        return readings[0][1]
    # One call of the model for every piece of every option. Score: the mean
    # log-probability of each piece's most probable class; a cut costs SPLIT_MARGIN
    # and earns SPLIT_PRIOR per typical width the group is wider than usual.
    surest = read(np.stack([d for _, pieces in readings for d, _ in pieces])).max(axis=1)
    logp = np.log(np.maximum(surest, 1e-12))
    scores, start = [], 0
    bonus = SPLIT_PRIOR * (width / typical - 1) - SPLIT_MARGIN    # wider than usual: two?
    for cuts, pieces in readings:
        scores.append(logp[start:start + len(pieces)].mean() + (bonus if cuts else 0.0))
        start += len(pieces)
    return readings[int(np.argmax(scores))][1]


def segment_row(grey: np.ndarray, invert="auto", name: str = "image",
                read: Callable[[np.ndarray], np.ndarray] | None = None) -> RowStages:
    """Digits of a row in the grey image ``(H, W)``: ``RowStages`` with ``digits``
    ``(n, 28, 28)`` and their ``boxes``, left to right. ``NoInkError`` when blank.

    A group of strokes wider than ``SPLIT_WIDTH`` row heights is cut into as many
    digits as its width says. With ``read`` (``(n, 28, 28)`` images → ``(n, C)`` class
    probabilities, the model), a group wider than ``TRY_SPLIT_WIDTH`` is also tried
    cut in two at the deepest valleys of its ink profile — a touching pair with a
    narrow 1 is hardly wider than one digit — and the reading wins whose pieces the
    model is surer of (mean log-probability, a cut costing ``SPLIT_MARGIN``).
    """
    ink = ink_stages(grey, invert, name)
    labels, n = label(ink.mask)
    st = boxes(labels, n, weights=ink.ink)
    keep = np.flatnonzero((st["mass"] >= SPECK_MASS * st["mass"].max()) & (st["area"] >= 4))
    tall = st["y1"][keep] - st["y0"][keep]
    height = float(np.median(tall[tall >= 0.5 * tall.max()]))     # the row's digit height
    groups = _groups(st, keep, height)
    row = RowStages(ink=ink)
    digits = []
    spans = [(min(st["x0"][j] for j in g), max(st["x1"][j] for j in g)) for g in groups]
    typical = float(np.median([x1 - x0 for x0, x1 in spans]))
    for g, (x0, x1) in zip(groups, spans):
        mine = np.isin(labels, np.array(g) + 1)
        for digit, box in _split_group(ink, mine, int(x1 - x0), height, typical, len(g), read,
                                       name):
            digits.append(digit)
            row.boxes.append(box)
    if not digits:
        raise NoInkError(f"{name}: no ink found (no digit-sized stroke)", ink)
    row.digits = np.stack(digits).astype(np.float32)
    return row
