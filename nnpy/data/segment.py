"""Cut a photographed row of digits ("1234567890" on a strip of paper) into MNIST digits.

    ink stages (as for one digit: flattening, Otsu) ─▶ components ─▶ drop specks
        ─▶ merge pieces that share columns (a broken stroke, a 5's hat)
        ─▶ split groups as wide as two or more digits at the column of least ink
        ─▶ each group: crop, 20 px, centre of mass ─▶ (n, 28, 28), left to right

A digit is rarely wider than ``SPLIT_WIDTH`` times the row's digit height, so a group
wider than that holds ``round(width / (PAIR_WIDTH · height))`` touching digits; given
the model (``read``), narrower groups are also tried as two and kept whole unless the
model reads the two pieces with more confidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .components import boxes, label
from .digits import DigitStages, NoInkError, centre_mnist, ink_stages, soft_ink

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
#: … and the cut must raise the mean log-probability by this much.
SPLIT_MARGIN = 0.15


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


def _cut_candidates(profile: np.ndarray, parts: int) -> list[list[int]]:
    """Ways to cut a group whose ink per column is ``profile`` into ``parts`` digits:
    for 2 parts, the few lowest local minima of the profile in its middle 70 %; for
    more, one cut near each equal split point at the column of least ink."""
    width = len(profile)
    if parts == 2:
        smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
        lo, hi = int(0.15 * width), int(0.85 * width)
        inner = np.arange(max(lo, 1), min(hi, width - 1))
        minima = [c for c in inner if smooth[c] <= smooth[c - 1] and smooth[c] <= smooth[c + 1]]
        minima = sorted(minima, key=lambda c: smooth[c])[:3]
        return [[int(c)] for c in minima] or [[width // 2]]
    cuts = []
    for j in range(1, parts):
        centre = j * width / parts
        lo, hi = int(centre - 0.25 * width / parts), int(centre + 0.25 * width / parts) + 1
        lo, hi = max(lo, 1), min(hi, width - 1)
        cuts.append(lo + int(np.argmin(profile[lo:hi])) if hi > lo else int(centre))
    return [cuts]


def _digit(ink: DigitStages, mine: np.ndarray, a: int, b: int, name: str):
    """The MNIST digit and box ``(x0, y0, x1, y1)`` of the group's pixels ``mine`` in
    columns ``a:b``, or ``None`` when they hold no ink."""
    part = np.zeros_like(mine)
    part[:, a:b] = mine[:, a:b]
    rows = np.flatnonzero(part.any(axis=1))
    if len(rows) == 0:
        return None
    soft = soft_ink(ink.ink, part, ink.floor)
    soft[:, :a] = 0                                    # the neighbour's edge is not ours
    soft[:, b:] = 0
    rr, cc = np.flatnonzero(soft.any(axis=1)), np.flatnonzero(soft.any(axis=0))
    digit = centre_mnist(soft[rr[0]:rr[-1] + 1, cc[0]:cc[-1] + 1], name)
    return digit, (int(a), int(rows[0]), int(b), int(rows[-1] + 1))


def _split_group(ink, mine, x0, x1, height, read, name) -> list:
    """The digits ``[(digit, box), …]`` of one group (see ``segment_row``)."""
    width = x1 - x0
    profile = (ink.ink * mine)[:, x0:x1].sum(axis=0)
    forced = width > SPLIT_WIDTH * height
    parts = max(2, int(round(width / (PAIR_WIDTH * height)))) if forced else 2
    options = [] if forced else [[]]
    if forced or (read is not None and width > TRY_SPLIT_WIDTH * height):
        options += _cut_candidates(profile, parts)
    readings = []
    for cuts in options:
        edges = [x0] + [x0 + c for c in cuts] + [x1]
        pieces = [p for p in (_digit(ink, mine, a, b, name) for a, b in zip(edges[:-1], edges[1:]))
                  if p is not None]
        readings.append((cuts, pieces))
    if read is None or len(readings) == 1:
        return readings[0][1]
    # One call of the model for every piece of every option; score = the mean
    # log-probability of each piece's most probable class, a cut costing SPLIT_MARGIN.
    surest = read(np.stack([d for _, pieces in readings for d, _ in pieces])).max(axis=1)
    logp = np.log(np.maximum(surest, 1e-12))
    scores, start = [], 0
    for cuts, pieces in readings:
        scores.append(logp[start:start + len(pieces)].mean() - (SPLIT_MARGIN if cuts else 0.0))
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
    for g in groups:
        x0, x1 = min(st["x0"][j] for j in g), max(st["x1"][j] for j in g)
        mine = np.isin(labels, np.array(g) + 1)
        for digit, box in _split_group(ink, mine, int(x0), int(x1), height, read, name):
            digits.append(digit)
            row.boxes.append(box)
    if not digits:
        raise NoInkError(f"{name}: no ink found (no digit-sized stroke)", ink)
    row.digits = np.stack(digits).astype(np.float32)
    return row
