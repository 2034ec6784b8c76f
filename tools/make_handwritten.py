#!/usr/bin/env python3
"""Render hand-written-looking digits 0-9 as pen strokes on photographed/scanned paper.

A test set for ``nnpy demo`` that is *not* MNIST: every digit is a set of stroke
skeletons (straight runs, Catmull-Rom curves and elliptic arcs in a unit box, two
or three hand-writing variants per digit: 1 with/without flag and base, 7
with/without cross bar, open/closed 4, 9 with straight/curved tail, 2 with/without
loop, ...). Each image then gets its own hand and paper:

* the hand: an elastic distortion of the skeleton, a wobble along the stroke,
  slant and rotation (±15°), aspect and size, pen width from a 2-3 px fine liner
  to a marker 15 % of the digit height, placement off-centre;
* the pen: black, blue-black, blue, grainy pencil grey, now and then red or green;
* the paper: white, off-white, yellowish or grey, a lighting gradient, grain,
  sometimes faint ruled lines or a grid, a light blur;
* the file: canvases from 40×40 to 800×600 in many aspect ratios, mostly PNG and
  some JPEG (quality 70-95), RGB, greyscale or RGBA (opaque or transparent paper).

Strokes are drawn with ``ImageDraw.line(joint="curve")`` and round end caps at 2-4×
the canvas resolution, then reduced (box filter) for antialiasing.

Deterministic: image ``i`` uses ``numpy.random.default_rng([seed, i])``.

    python tools/make_handwritten.py                       # tests/data/handwritten
    python tools/make_handwritten.py --out /tmp/hw --per-digit 3 --per-kind 10 --seed 7
    python tools/make_handwritten.py --out data/samples/rows --row 1234567890

``tests/data/handwritten`` holds 16 images per digit of the "mixed" kind (every hand, pen,
paper and file type below) and 40 images of each photo kind (``PHOTO_KINDS``: a
brightness gradient, a shadow, grey paper, coloured paper, heavy JPEG artefacts, blur,
pencil, continental 1s and 7s); ``labels.csv`` gives each file's label and kind.
``render_row`` writes rows of digits (for ``nnpy demo --multi``; the tests make them on
the fly).

Only numpy and Pillow are needed.
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# --------------------------------------------------------------------------- skeletons
# Coordinates in a unit box, x to the right, y DOWN. Angles of arcs in degrees with
# y down: 0 = right, 90 = bottom, 180 = left, 270 (or -90) = top; increasing angles
# run clockwise on the page.


def L(*pts):
    """Straight runs through ``pts`` (sharp corners)."""
    return ("L", np.array(pts, dtype=float))


def S(*pts):
    """A smooth (Catmull-Rom) curve through ``pts``."""
    return ("S", np.array(pts, dtype=float))


def A(cx, cy, rx, ry, a0, a1):
    """An elliptic arc from angle ``a0`` to ``a1``."""
    return ("A", np.array([cx, cy, rx, ry, a0, a1], dtype=float))


# DIGITS[d] = list of variants; a variant = list of strokes; a stroke = list of pieces
# drawn in order without lifting the pen.
DIGITS = {
    0: [
        [[A(0.5, 0.5, 0.30, 0.47, 262, 262 - 372)]],                        # round, counter-clockwise
        [[S((0.56, 0.04), (0.33, 0.13), (0.21, 0.45), (0.28, 0.82), (0.5, 0.97),
            (0.73, 0.84), (0.8, 0.48), (0.72, 0.14), (0.53, 0.03), (0.4, 0.09))]],  # egg, overshoot
        [[A(0.5, 0.5, 0.22, 0.48, 280, 280 + 352)]],                        # narrow, clockwise, tiny gap
    ],
    1: [
        [[S((0.53, 0.02), (0.51, 0.5), (0.48, 0.98))]],                    # plain stick
        [[L((0.36, 0.17), (0.53, 0.02), (0.5, 0.98))]],                    # with a flag
        [[L((0.36, 0.15), (0.52, 0.02), (0.5, 0.96))], [L((0.33, 0.97), (0.69, 0.96))]],  # flag, base
        # continental: a long up-stroke, steep (about 50°: a flatter one is a 7's bar, which
        # is why those writers cross their 7s), with or without a foot
        [[L((0.26, 0.36), (0.55, 0.02), (0.5, 0.98))]],
        [[L((0.27, 0.34), (0.55, 0.02), (0.5, 0.96))], [L((0.3, 0.97), (0.72, 0.96))]],
    ],
    2: [
        [[S((0.2, 0.28), (0.3, 0.09), (0.5, 0.02), (0.7, 0.09), (0.77, 0.27), (0.7, 0.47),
            (0.5, 0.67), (0.2, 0.96)), L((0.2, 0.96), (0.85, 0.95))]],      # classic, sharp base
        [[S((0.2, 0.25), (0.35, 0.06), (0.58, 0.03), (0.75, 0.19), (0.72, 0.41), (0.52, 0.63),
            (0.32, 0.83), (0.22, 0.95), (0.14, 0.89), (0.2, 0.81), (0.32, 0.86), (0.45, 0.95),
            (0.65, 0.96), (0.86, 0.93))]],                                  # loop at the bottom
        [[S((0.17, 0.3), (0.3, 0.07), (0.52, 0.02), (0.74, 0.12), (0.76, 0.33), (0.6, 0.55),
            (0.35, 0.78), (0.18, 0.95)),
          S((0.18, 0.95), (0.42, 0.9), (0.64, 0.95), (0.86, 0.92))]],       # curvy neck, wavy base
    ],
    3: [
        [[S((0.2, 0.14), (0.4, 0.03), (0.65, 0.06), (0.75, 0.22), (0.66, 0.39), (0.42, 0.48)),
          S((0.42, 0.48), (0.66, 0.53), (0.8, 0.71), (0.71, 0.9), (0.46, 0.98), (0.2, 0.88))]],
        [[L((0.2, 0.04), (0.78, 0.04), (0.42, 0.42)),
          S((0.42, 0.42), (0.7, 0.5), (0.8, 0.7), (0.68, 0.9), (0.45, 0.97), (0.18, 0.85))]],  # flat top
        [[S((0.18, 0.2), (0.35, 0.04), (0.62, 0.04), (0.74, 0.2), (0.62, 0.41), (0.4, 0.47),
            (0.6, 0.51), (0.78, 0.67), (0.74, 0.88), (0.5, 0.98), (0.25, 0.93), (0.15, 0.8))]],
    ],
    4: [
        [[L((0.24, 0.03), (0.15, 0.62), (0.85, 0.61))], [L((0.66, 0.05), (0.64, 0.98))]],  # open
        [[L((0.62, 0.03), (0.12, 0.66), (0.88, 0.65))], [L((0.63, 0.01), (0.62, 0.98))]],  # closed
        [[L((0.3, 0.06), (0.17, 0.6), (0.83, 0.58))], [S((0.64, 0.0), (0.64, 0.5), (0.61, 0.98))]],
    ],
    5: [
        [[L((0.78, 0.04), (0.3, 0.04), (0.26, 0.45)),
          S((0.26, 0.45), (0.5, 0.38), (0.74, 0.5), (0.78, 0.72), (0.62, 0.92), (0.4, 0.97),
            (0.18, 0.88))]],                                                # one stroke
        [[L((0.3, 0.05), (0.26, 0.46)),
          S((0.26, 0.46), (0.5, 0.38), (0.75, 0.52), (0.78, 0.74), (0.62, 0.93), (0.38, 0.97),
            (0.18, 0.86))], [L((0.3, 0.05), (0.8, 0.02))]],                # hat drawn last
        [[S((0.32, 0.04), (0.28, 0.25), (0.24, 0.5)),
          S((0.24, 0.5), (0.45, 0.4), (0.7, 0.44), (0.8, 0.66), (0.7, 0.9), (0.45, 0.98),
            (0.22, 0.92))], [S((0.32, 0.05), (0.55, 0.03), (0.78, 0.06))]],  # rounder belly
    ],
    6: [
        [[S((0.72, 0.04), (0.5, 0.12), (0.32, 0.35), (0.22, 0.62), (0.28, 0.86), (0.48, 0.97),
            (0.7, 0.88), (0.76, 0.68), (0.6, 0.53), (0.4, 0.55), (0.26, 0.68))]],
        [[S((0.64, 0.02), (0.44, 0.28), (0.28, 0.58), (0.3, 0.85), (0.5, 0.97), (0.72, 0.86),
            (0.73, 0.65), (0.53, 0.54), (0.31, 0.64))]],                     # straighter stem
    ],
    7: [
        [[L((0.15, 0.06), (0.85, 0.06), (0.4, 0.98))]],                    # plain
        [[L((0.15, 0.06), (0.85, 0.06), (0.4, 0.98))], [L((0.44, 0.52), (0.82, 0.51))]],  # cross bar
        [[L((0.15, 0.17), (0.17, 0.05), (0.85, 0.07)),
          S((0.85, 0.07), (0.65, 0.4), (0.52, 0.7), (0.48, 0.98))]],        # tick, curved stem
        [[L((0.15, 0.17), (0.17, 0.05), (0.85, 0.07), (0.45, 0.98))],
         [L((0.38, 0.52), (0.85, 0.5))]],                                   # tick and cross bar
    ],
    8: [
        [[S((0.72, 0.14), (0.52, 0.03), (0.3, 0.12), (0.32, 0.32), (0.5, 0.47), (0.74, 0.64),
            (0.72, 0.88), (0.5, 0.98), (0.28, 0.88), (0.26, 0.64), (0.5, 0.47), (0.68, 0.32),
            (0.72, 0.14))]],                                                 # one stroke
        [[A(0.5, 0.245, 0.2, 0.225, 90, 90 + 365)], [A(0.5, 0.72, 0.26, 0.26, 270, 270 - 365)]],
    ],
    9: [
        [[A(0.45, 0.28, 0.26, 0.25, 0, -360), L((0.71, 0.28), (0.68, 0.98))]],  # straight tail
        [[A(0.45, 0.28, 0.26, 0.25, 0, -360),
          S((0.71, 0.28), (0.7, 0.6), (0.6, 0.88), (0.42, 0.98), (0.25, 0.9))]],  # curved tail
        [[A(0.45, 0.28, 0.25, 0.25, -30, -30 - 370)],
         [S((0.7, 0.08), (0.68, 0.55), (0.64, 0.98))]],                     # loop, then tail
    ],
}


#: How often each variant is written in the "mixed" kind (uniform where not listed).
VARIANT_WEIGHTS = {1: [0.45, 0.35, 0.2, 0, 0], 7: [1 / 3, 1 / 3, 1 / 3, 0]}
#: The continental writings: 1 with a flag (and a foot), 7 with a cross bar.
CONTINENTAL = {1: [1, 2, 3, 4], 7: [1, 3]}


def catmull_rom(p: np.ndarray, per_seg: int = 12) -> np.ndarray:
    """A smooth curve through the points ``p`` ``(n, 2)``."""
    if len(p) < 3:
        return p
    q = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, per_seg, endpoint=False)[:, None]
    out = []
    for i in range(1, len(q) - 2):
        p0, p1, p2, p3 = q[i - 1], q[i], q[i + 1], q[i + 2]
        out.append(0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(p[-1:])
    return np.vstack(out)


def densify(p: np.ndarray, step: float = 0.01) -> np.ndarray:
    """Points along the polyline ``p`` at most ``step`` apart (corners kept)."""
    out = [p[:1]]
    for a, b in zip(p[:-1], p[1:]):
        n = max(1, int(math.ceil(np.hypot(*(b - a)) / step)))
        out.append(a + (b - a) * np.linspace(0, 1, n + 1)[1:, None])
    return np.vstack(out)


def piece_points(kind: str, data: np.ndarray, warp) -> np.ndarray:
    """Dense points of one piece; ``warp`` distorts control points before the curve is drawn."""
    if kind == "A":
        cx, cy, rx, ry, a0, a1 = data
        n = max(8, int(abs(a1 - a0) / 8))
        t = np.radians(np.linspace(a0, a1, n))
        ctrl = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)
        return densify(catmull_rom(warp(ctrl), 4))
    ctrl = warp(data)
    return densify(catmull_rom(ctrl) if kind == "S" else ctrl)


# --------------------------------------------------------------------------- the hand
def hand_strokes(digit: int, rng: np.random.Generator, variants: list | None = None):
    """Strokes (list of ``(n, 2)`` arrays, unit-ish box, y down) of one writing of ``digit``;
    ``variants``: the indices into ``DIGITS[digit]`` to choose from (uniformly)."""
    if variants is None:
        weights = VARIANT_WEIGHTS.get(digit, [1 / len(DIGITS[digit])] * len(DIGITS[digit]))
    else:
        weights = np.isin(np.arange(len(DIGITS[digit])), variants) / len(variants)
    variant = DIGITS[digit][rng.choice(len(DIGITS[digit]), p=weights)]
    # Elastic distortion: a few random low-frequency sinusoids over the box.
    amp = rng.uniform(0.012, 0.035)
    waves = [(rng.normal(size=2) * rng.uniform(1.5, 4.0), rng.uniform(0, 2 * np.pi),
              rng.normal(size=2)) for _ in range(3)]

    def warp(p):
        d = np.zeros_like(p)
        for k, ph, v in waves:
            d += np.sin(p @ k + ph)[:, None] * v
        return p + amp / math.sqrt(len(waves)) * d

    strokes = []
    for stroke in variant:
        pts = np.vstack([piece_points(kind, data, warp) for kind, data in stroke])
        # Tremor: a smooth wobble along the stroke, perpendicular-ish (random 2-D walk, smoothed).
        n = len(pts)
        wob = rng.normal(size=(n + 16, 2)).cumsum(0)
        kern = np.hanning(15)
        kern /= kern.sum()
        wob = np.stack([np.convolve(wob[:, j], kern, "valid")[:n] for j in range(2)], 1)
        wob -= np.linspace(wob[0], wob[-1], n)                 # no drift: ends stay put
        wob *= rng.uniform(0.002, 0.008) / (np.abs(wob).max() + 1e-9)
        strokes.append(pts + wob)
    # Slant (shear), rotation, aspect.
    slant = math.radians(float(np.clip(rng.normal(6, 7), -15, 15)))     # people lean right
    rot = math.radians(float(np.clip(rng.normal(0, 4), -10, 10)))
    aspect = rng.uniform(0.75, 1.25)
    c, s = math.cos(rot), math.sin(rot)
    out = []
    for p in strokes:
        x, y = (p[:, 0] - 0.5) * aspect, p[:, 1] - 0.5
        x = x - math.tan(slant) * y                          # top leans right (y is down)
        out.append(np.stack([c * x - s * y, s * x + c * y], 1))
    return out


# --------------------------------------------------------------------------- the paper
PAPERS = [(253, 253, 251), (248, 246, 240), (250, 244, 222), (236, 236, 233),
          (242, 238, 228), (235, 238, 242), (255, 255, 255), (246, 240, 214)]
INKS = {  # name: (rgb, probability)
    "black": ((25, 25, 30), 0.30),
    "blue-black": ((22, 32, 95), 0.22),
    "blue": ((30, 60, 160), 0.13),
    "pencil": ((85, 85, 90), 0.17),
    "felt": ((40, 40, 45), 0.08),
    "red": ((185, 30, 35), 0.05),
    "green": ((25, 110, 55), 0.05),
}


def canvas_size(rng: np.random.Generator, i: int):
    """Canvas (w, h): mostly modest, a few large ones; many aspect ratios."""
    fixed = {0: (40, 40), 1: (800, 600), 2: (600, 800), 3: (44, 60)}
    if i in fixed:
        return fixed[i]
    r = rng.random()
    if r < 0.45:
        side, ar = rng.uniform(40, 100), rng.uniform(0.75, 1.35)
    elif r < 0.93:
        side, ar = rng.uniform(100, 240), rng.uniform(0.6, 1.8)
    else:
        side, ar = rng.uniform(320, 700), rng.uniform(0.7, 1.5)
    w, h = side * math.sqrt(ar), side / math.sqrt(ar)
    return int(np.clip(round(w), 40, 800)), int(np.clip(round(h), 40, 800))


def paper_image(rng, w, h, digit_h):
    """Float RGB paper ``(h, w, 3)`` in [0, 255] with lighting, rules/grid."""
    base = np.array(PAPERS[rng.integers(len(PAPERS))], dtype=np.float32)
    base += rng.normal(0, 2, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang)   # -0.7 .. 0.7
    light = 1.0 - rng.uniform(0.0, 0.05) * (ramp + 0.7)       # darker on one side, like a photo
    paper = base[None, None] * light[..., None]
    rule = rng.random()
    if rule < 0.3:                                             # faint ruled lines or a grid
        shade = np.array([rng.uniform(4, 9), rng.uniform(3, 7), rng.uniform(0, 2)], np.float32)
        if rng.random() < 0.3:
            shade = np.full(3, rng.uniform(3, 7), np.float32)  # grey rules
        grid = rule < 0.12
        pitch = digit_h * rng.uniform(0.35, 0.8) if grid else digit_h * rng.uniform(0.5, 1.1)
        pitch = max(pitch, 7.0)
        width = max(1.0, round(min(w, h) / 300))
        off = rng.uniform(0, pitch)
        mask = ((yy - off) % pitch) < width
        if grid:
            mask |= ((xx - rng.uniform(0, pitch)) % pitch) < width
        paper = paper - mask[..., None] * shade[None, None]
    return paper


def render_mask(strokes, w, h, rng, fill=(0.4, 0.82), pens=("fine", "pen", "felt", "marker")):
    """Ink coverage ``(h, w)`` in [0, 1] of ``strokes`` placed on a ``w``×``h`` canvas, and the
    digit height in px."""
    allp = np.vstack(strokes)
    lo, hi = allp.min(0), allp.max(0)
    ext = hi - lo
    # Pen width relative to the digit height: fine liner, ball point, felt tip, marker.
    weights = np.array([{"fine": 0.15, "pen": 0.4, "felt": 0.3, "marker": 0.15}[p] for p in pens])
    kind = rng.choice(list(pens), p=weights / weights.sum())
    rel = {"fine": 0.03, "pen": rng.uniform(0.055, 0.09), "felt": rng.uniform(0.09, 0.12),
           "marker": rng.uniform(0.12, 0.15)}[kind]
    # Digit height: a fair part of the canvas, leaving room for the pen and a margin.
    fill = rng.uniform(*fill)
    margin = 3 + 0.03 * min(w, h)
    scale = min(fill * h / ext[1], (w - 2 * margin) / (ext[0] + rel * 1.2))
    scale = min(scale, (h - 2 * margin) / (ext[1] * (1 + rel * 1.2)))
    digit_h = ext[1] * scale
    width = rel * digit_h
    if kind == "fine":
        width = rng.uniform(2.0, 3.0) if digit_h <= 110 else 0.025 * digit_h
    width = max(width, 2.0, 2.2 * max(w, h) / 512)    # survives nnpy's reduction to 512 px
    # Placement: anywhere the digit (with its pen) fits inside the margin.
    bw, bh = ext[0] * scale + width, ext[1] * scale + width
    x0 = rng.uniform(margin, max(margin, w - margin - bw)) + width / 2
    y0 = rng.uniform(margin, max(margin, h - margin - bh)) + width / 2
    ss = 4 if max(w, h) <= 200 else 3 if max(w, h) <= 400 else 2
    img = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(img)
    for p in strokes:
        q = ((p - lo) * scale + [x0, y0]) * ss
        wd = max(1, int(round(width * rng.uniform(0.9, 1.1) * ss)))
        pts = [tuple(map(float, v)) for v in q]
        draw.line(pts, fill=255, width=wd, joint="curve")
        # Round caps at the ends, and discs at every vertex too: they fill the hairline
        # seams Pillow leaves between the many short segments of a wide curved line.
        r = wd / 2 - 0.5
        for cx, cy in pts:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    img = img.reduce(ss)                                      # box filter: antialiased
    return np.asarray(img, dtype=np.float32) / 255, digit_h


def smooth_noise(rng, shape, lo, hi, radius=1.0):
    """Spatially smooth random factors in [lo, hi] (paper/pen texture that is not pixel noise)."""
    n = rng.uniform(0, 255, size=shape).astype(np.uint8)
    n = Image.fromarray(n).filter(ImageFilter.GaussianBlur(float(radius)))
    n = np.asarray(n, np.float32)
    n = (n - n.min()) / max(float(n.max() - n.min()), 1.0)
    return lo + (hi - lo) * n


def render(digit: int, rng: np.random.Generator, i: int):
    """One image (PIL) of ``digit`` and the suffix to save it with."""
    w, h = canvas_size(rng, i)
    strokes = hand_strokes(digit, rng)
    mask, digit_h = render_mask(strokes, w, h, rng)
    names = list(INKS)
    ink_name = names[rng.choice(len(names), p=[INKS[n][1] for n in names])]
    ink = np.array(INKS[ink_name][0], np.float32) + rng.normal(0, 6, 3)
    opacity = rng.uniform(0.88, 1.0)
    if ink_name == "pencil":                                  # grainy graphite, lighter
        mask = mask * smooth_noise(rng, mask.shape, 0.55, 1.0, 0.8)
        opacity = rng.uniform(0.7, 0.9)
    elif ink_name == "blue" or rng.random() < 0.3:            # ball point: slightly uneven
        mask = mask * smooth_noise(rng, mask.shape, 0.8, 1.0, max(1.0, digit_h / 40))
    a = (mask * opacity)[..., None]
    # File type and mode. Big canvases are photos: JPEG. PNGs get less grain (it would not
    # compress, and the folder has to stay small).
    big = w * h > 100_000
    r = rng.random()
    fmt = "jpg" if big or r < 0.3 else "rgba" if r < 0.36 else "png"
    transparent = fmt == "rgba" and rng.random() < 0.5          # a cut-out: no paper at all
    mode = "RGBA" if fmt == "rgba" else "L" if rng.random() < 0.35 else "RGB"
    paper = paper_image(rng, w, h, digit_h)
    rgb = paper * (1 - a) + ink[None, None] * a
    # Grain (luminance, a little chroma), then a light blur (camera/scanner optics).
    sigma = rng.uniform(0.5, 2.5) if fmt == "jpg" else rng.uniform(0.3, 1.2)
    rgb = rgb + rng.normal(0, sigma, size=(h, w, 1)).astype(np.float32)
    if mode != "L":
        rgb = rgb + rng.normal(0, sigma * 0.3, size=(h, w, 3)).astype(np.float32)
    out = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    radius = rng.uniform(0, 0.6) * max(1.0, min(w, h) / 200)
    if radius > 0.15:
        out = out.filter(ImageFilter.GaussianBlur(radius))
    if transparent:
        alpha = np.clip(a[..., 0] * 255, 0, 255).astype(np.uint8)
        col = np.broadcast_to(np.clip(ink, 0, 255).astype(np.uint8), (h, w, 3))
        return Image.fromarray(np.dstack([col, alpha]), "RGBA"), ".png"
    out = out.convert(mode)
    if fmt == "jpg":
        return out, (".jpg", int(rng.integers(70, 96)))
    return out, ".png"


# --------------------------------------------------------------------------- photo kinds
#: What photos of paper do, one kind at a time (each on otherwise ordinary paper, pen
#: and canvas): ``render_photo`` draws the digit, then applies its kind.
PHOTO_KINDS = ("gradient", "shadow", "grey-paper", "coloured-paper", "jpeg", "blur", "pencil",
               "continental")
COLOURED_PAPERS = [(250, 226, 140), (248, 196, 206), (176, 208, 238), (188, 228, 186),
                   (226, 180, 128), (255, 200, 120)]


def _shadow(rng, w, h, centre):
    """A multiplicative light field ``(h, w)``: a soft-edged shadow (a hand, a phone) whose
    edge runs near ``centre`` (x, y), darkening its side to 40-65 %."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    off = rng.uniform(-0.15, 0.15) * min(w, h)
    d = (xx - centre[0]) * math.cos(ang) + (yy - centre[1]) * math.sin(ang) - off
    soft = rng.uniform(0.03, 0.15) * min(w, h)
    side = 1 / (1 + np.exp(-d / max(soft / 4, 0.5)))
    return 1 - rng.uniform(0.35, 0.6) * side


def render_photo(digit: int, rng: np.random.Generator, kind: str):
    """One small photo-like image (PIL) of ``digit`` showing ``kind``, and its save options."""
    w, h = int(rng.integers(48, 112)), int(rng.integers(48, 112))
    strokes = hand_strokes(digit, rng, CONTINENTAL[digit] if kind == "continental" else None)
    mask, digit_h = render_mask(strokes, w, h, rng)
    ink_name = "pencil" if kind == "pencil" else str(rng.choice(["black", "blue-black", "blue"]))
    ink = np.array(INKS[ink_name][0], np.float32) + rng.normal(0, 6, 3)
    opacity = rng.uniform(0.85, 1.0)
    if kind == "pencil":                                      # light, grainy graphite
        mask = mask * smooth_noise(rng, mask.shape, 0.4, 1.0, 0.7)
        opacity = rng.uniform(0.5, 0.8)
    paper = paper_image(rng, w, h, digit_h)
    if kind == "grey-paper":                                  # a grey sheet, or paper in dim light
        paper *= rng.uniform(0.45, 0.7)
    elif kind == "coloured-paper":
        tint = np.array(COLOURED_PAPERS[rng.integers(len(COLOURED_PAPERS))], np.float32) / 255
        paper *= tint[None, None]
    a = (mask * opacity)[..., None]
    rgb = paper * (1 - a) + ink[None, None] * a
    if kind == "gradient":                                    # light falling off across the sheet
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ang = rng.uniform(0, 2 * np.pi)
        ramp = (xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang) + 0.5
        rgb *= (1 - rng.uniform(0.4, 0.6) * np.clip(ramp, 0, 1.2))[..., None]
    elif kind == "shadow":
        ys, xs = np.nonzero(mask > 0.5)
        centre = (xs.mean(), ys.mean()) if len(xs) else (w / 2, h / 2)
        rgb *= _shadow(rng, w, h, centre)[..., None]
    rgb = rgb + rng.normal(0, rng.uniform(0.5, 2.0), size=(h, w, 1)).astype(np.float32)
    out = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    if kind == "blur":                                        # out of focus / camera shake
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.02, 0.045) * digit_h)))
    if kind != "coloured-paper" and rng.random() < 0.5:
        out = out.convert("L")
    quality = int(rng.integers(12, 30)) if kind == "jpeg" else int(rng.integers(60, 82))
    return out, (".jpg", quality)


# --------------------------------------------------------------------------- rows of digits
def _closest_gap(left: np.ndarray, right: np.ndarray) -> float:
    """The smallest horizontal distance from the points ``left`` to the points ``right``
    at the same height (bands of 0.04), both ``(n, 2)``; large when no band is shared."""
    band_l, band_r = np.floor(left[:, 1] / 0.04), np.floor(right[:, 1] / 0.04)
    gaps = [right[band_r == b, 0].min() - left[band_l == b, 0].max()
            for b in np.intersect1d(band_l, band_r)]
    return min(gaps) if gaps else 1.0


def render_row(digits, rng: np.random.Generator, touching: int = 0):
    """A photo-like strip (PIL, RGB) of the digits ``digits`` written left to right.

    The closest approach of two neighbours' pen paths varies from 18 % to 50 % of the
    digit height; in ``touching`` of the pairs (chosen at random) it is 7-10 %, about the
    pen's width (5.5-9 % of the height), so that their strokes touch or all but touch.
    """
    pairs = set(rng.choice(len(digits) - 1, size=min(touching, len(digits) - 1),
                           replace=False).tolist()) if len(digits) > 1 else set()
    strokes, previous = [], None
    for k, d in enumerate(digits):
        size, dy = rng.uniform(0.9, 1.1), rng.normal(0, 0.03)      # one per digit
        ss = [p * size + [0, dy] for p in hand_strokes(int(d), rng)]
        if previous is not None:
            want = rng.uniform(0.07, 0.1) if k - 1 in pairs else rng.uniform(0.18, 0.5)
            shift = want - _closest_gap(previous, np.vstack(ss))
            ss = [p + [shift, 0] for p in ss]
        strokes += ss
        previous = np.vstack(ss)
    x = float(np.ptp(np.vstack(strokes)[:, 0]))
    h = int(rng.integers(70, 110))
    w = int(h * (0.75 * x + 0.4) * rng.uniform(0.95, 1.05))
    mask, digit_h = render_mask(strokes, w, h, rng, fill=(0.55, 0.75), pens=("fine", "pen"))
    ink = np.array(INKS[str(rng.choice(["black", "blue-black", "blue"]))][0], np.float32)
    paper = paper_image(rng, w, h, digit_h)
    a = (mask * rng.uniform(0.85, 1.0))[..., None]
    rgb = paper * (1 - a) + ink[None, None] * a
    rgb = rgb + rng.normal(0, 1.5, size=(h, w, 1)).astype(np.float32)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def _save(img, path: Path, suffix) -> None:
    if isinstance(suffix, tuple):
        img.save(path, quality=suffix[1], optimize=True)
    else:
        img.save(path, optimize=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data/handwritten", help="output folder")
    ap.add_argument("--per-digit", type=int, default=16, help="images of each digit (mixed kind)")
    ap.add_argument("--per-kind", type=int, default=40, help="images of each photo kind")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--row", metavar="DIGITS", help="instead: one photo-like row of these digits, "
                                                    "OUT/DIGITS.jpg")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.row:
        digits = [int(c) for c in args.row]
        img = render_row(digits, np.random.default_rng([args.seed, 99, *digits]))
        img.save(out / f"{args.row}.jpg", quality=85, optimize=True)
        print(out / f"{args.row}.jpg")
        return
    rows = []
    for k in range(args.per_digit):                      # the "mixed" kind: every hand and paper
        for digit in range(10):
            i = k * 10 + digit
            img, suffix = render(digit, np.random.default_rng([args.seed, i]), i)
            name = f"d{digit}_{k:03d}{suffix[0] if isinstance(suffix, tuple) else suffix}"
            _save(img, out / name, suffix)
            rows.append((name, digit, "mixed"))
    for j, kind in enumerate(PHOTO_KINDS):
        digits = [1, 7] if kind == "continental" else list(range(10))
        for k in range(args.per_kind):
            digit = digits[k % len(digits)]
            rng = np.random.default_rng([args.seed, 1000 + j, k])
            img, suffix = render_photo(digit, rng, kind)
            name = f"d{digit}_{kind}_{k:03d}{suffix[0]}"
            _save(img, out / name, suffix)
            rows.append((name, digit, kind))
    rows.sort()
    with open(out / "labels.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["file", "label", "kind"])
        wr.writerows(rows)
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"{len(rows)} images in {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
