"""Batch transforms: ``transform(xb, rng) -> xb``, vectorized over the batch.

``xb`` is a float batch; the image augmentations take ``(N, C, H, W)`` and draw
one set of random parameters per sample from ``rng`` (a ``numpy.random.Generator``),
so the same ``rng`` state gives the same output. A transform whose ``uses_labels``
is true is called ``transform(xb, rng, labels)`` with the batch's labels.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError
from ..registry import did_you_mean


def _probability(name: str, p) -> float:
    """``p`` as a float, or ``ConfigError`` naming ``name`` when it is outside [0, 1]."""
    if not 0 <= float(p) <= 1:
        raise ConfigError(f"{name}: p must be in [0, 1], got {p}")
    return float(p)


def _check_images(name: str, xb: np.ndarray) -> None:
    if xb.ndim != 4:
        raise DataError(f"{name} expects an image batch (N, C, H, W), got shape {xb.shape}")


class Compose:
    """Apply ``transforms`` in order, each with the same (advancing) ``rng``; those whose
    ``uses_labels`` is true also get the batch's ``labels``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        self.uses_labels = any(getattr(t, "uses_labels", False) for t in self.transforms)

    def __call__(self, xb: np.ndarray, rng: np.random.Generator, labels=None) -> np.ndarray:
        for transform in self.transforms:
            if getattr(transform, "uses_labels", False):
                xb = transform(xb, rng, labels)
            else:
                xb = transform(xb, rng)
        return xb

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize:
    """``(xb - mean) / std`` in float32.

    ``mean`` and ``std`` are scalars or arrays that broadcast against one
    sample, e.g. ``(C, 1, 1)`` per channel of an image or ``(F,)`` per feature.
    """

    def __init__(self, mean=0.0, std=1.0):
        self.mean, self.std = self.check(mean, std)

    @staticmethod
    def check(mean=0.0, std=1.0) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` as float32 arrays; a ``ConfigError`` unless std > 0 and mean is finite."""
        mean_array, std_array = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
        if not np.all(np.isfinite(mean_array)) or not np.all(std_array > 0):
            raise ConfigError(f"normalize: std must be > 0 and mean finite, "
                              f"got mean={mean!r} std={std!r}")
        return mean_array, std_array

    def __call__(self, xb: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return ((np.asarray(xb, dtype=np.float32) - self.mean) / self.std).astype(np.float32,
                                                                                   copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomAffine:
    """Random shift, rotation and scaling about the image centre, one per sample.

    Per sample: shift ``t = (dy, dx) ~ U[-shift, shift]`` pixels, angle
    ``θ ~ U[-rotate, rotate]`` degrees, zoom ``s ~ U[1 - scale, 1 + scale]``. The
    output pixel ``p`` samples the input at ``c + R(-θ) (p - c - t) / s``
    (inverse mapping, ``c`` the centre) by bilinear interpolation; outside the
    image reads ``fill``. The source coordinates of the whole batch are one
    matrix product, the four neighbours four gathers: no per-sample loop.
    Input and output ``(N, C, H, W)`` float32; all channels of a sample move together.
    """

    def __init__(self, shift: float = 2.0, rotate: float = 10.0, scale: float = 0.1,
                 fill: float = 0.0):
        self.shift, self.rotate = float(shift), float(rotate)
        self.scale, self.fill = float(scale), float(fill)
        if self.shift < 0 or self.rotate < 0 or not 0 <= self.scale < 1:
            raise ConfigError(f"RandomAffine: shift and rotate must be >= 0 and scale in [0, 1), "
                              f"got shift={shift} rotate={rotate} scale={scale}")
        self._grids: dict = {}

    def _grid(self, h: int, w: int) -> np.ndarray:
        """``(3, H*W)`` rows: output y and x relative to the centre, and ones."""
        if (h, w) not in self._grids:
            gy, gx = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2,
                                 indexing="ij")
            grid = np.stack([gy.ravel(), gx.ravel(), np.ones(h * w)])
            self._grids[(h, w)] = grid.astype(np.float32)
        return self._grids[(h, w)]

    def _source(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """Source coordinates ``(N, 2, H*W)`` (y then x) of every output pixel.

        ``src = M q + c - M t`` with ``M = R(-θ) / s`` and ``q = p - c``: one row
        ``[M00, M01, off]`` per sample and axis, times the grid ``[qy, qx, 1]``.
        """
        t = rng.uniform(-self.shift, self.shift, size=(n, 2))
        theta = np.deg2rad(rng.uniform(-self.rotate, self.rotate, size=n))
        inv_s = 1.0 / rng.uniform(1.0 - self.scale, 1.0 + self.scale, size=n)
        cos, sin = np.cos(theta) * inv_s, np.sin(theta) * inv_s
        m = np.empty((n, 2, 3))
        m[:, 0, 0], m[:, 0, 1] = cos, -sin
        m[:, 1, 0], m[:, 1, 1] = sin, cos
        m[:, :, 2] = np.array([(h - 1) / 2, (w - 1) / 2]) - np.einsum("nij,nj->ni", m[:, :, :2], t)
        # (2N, 3) @ (3, HW) written as broadcast multiply-adds: a GEMM with an inner
        # dimension of 3 is far slower in BLAS than three element-wise passes.
        m = m.astype(np.float32).reshape(2 * n, 3, 1)
        gy, gx, _ = self._grid(h, w)
        src = m[:, 0] * gy
        src += m[:, 1] * gx
        src += m[:, 2]
        return src.reshape(n, 2, h * w)

    def __call__(self, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images("RandomAffine", xb)
        n, c, h, w = xb.shape
        src = self._source(n, h, w, rng)
        # The input sits at offset 1 in a fill border (1 before, 2 after): beyond one
        # pixel outside, all four neighbours are fill, so clamping there is exact.
        src += np.float32(1)
        np.clip(src[:, 0], 0, h + 1, out=src[:, 0])
        np.clip(src[:, 1], 0, w + 1, out=src[:, 1])
        corner = src.astype(np.int32)                      # floor, as src >= 0
        frac = src - corner                                # (N, 2, HW) weights wy, wx
        hp, wp = h + 3, w + 3
        padded = np.full((n, c, hp, wp), self.fill, dtype=np.float32)
        padded[:, :, 1:h + 1, 1:w + 1] = xb
        flat = padded.ravel()
        itype = np.int32 if flat.size < 2 ** 31 else np.intp    # int32 gathers are faster
        base = (np.arange(n * c, dtype=itype) * (hp * wp)).reshape(n, c, 1)
        idx = (corner[:, 0] * wp + corner[:, 1])[:, None, :] + base   # (N, C, HW)
        v00, v01 = np.take(flat, idx), np.take(flat, idx + 1)
        idx += wp
        v10, v11 = np.take(flat, idx), np.take(flat, idx + 1)
        wy, wx = frac[:, None, 0], frac[:, None, 1]
        v01 -= v00
        v01 *= wx
        v00 += v01                                         # top row, interpolated in x
        v11 -= v10
        v11 *= wx
        v10 += v11                                         # bottom row
        v10 -= v00
        v10 *= wy
        v00 += v10
        return v00.reshape(n, c, h, w)

    def __repr__(self) -> str:
        return f"RandomAffine(shift={self.shift}, rotate={self.rotate}, scale={self.scale})"


def _morph_last(a: np.ndarray, size: int, op) -> np.ndarray:
    """``op`` (``np.maximum`` or ``np.minimum``) over a window of ``size`` along the last
    axis: 2 covers ``(i, i+1)``, 3 covers ``(i-1, i, i+1)``; cells outside are ignored."""
    out = a.copy()
    for o in ((1,) if size == 2 else (-1, 1)):
        if o > 0:
            op(out[..., :-o], a[..., o:], out=out[..., :-o])
        else:
            op(out[..., -o:], a[..., :o], out=out[..., -o:])
    return out


def _morph(xb: np.ndarray, size: int, op) -> np.ndarray:
    """Grey dilation (``op=np.maximum``) or erosion (``np.minimum``) of ``(N, C, H, W)``
    with a ``size``×``size`` square (separable: rows, then columns)."""
    rows = _morph_last(xb.swapaxes(-1, -2), size, op).swapaxes(-1, -2)
    return _morph_last(rows, size, op)


class RandomThickness:
    """Randomly thicken or thin the strokes of a sample with probability ``p``.

    A chosen sample is, with equal chance, thickened by a grey dilation (max over
    a 2×2 or 3×3 square, equal chance) or thinned by a 2×2 grey erosion (a 3×3
    erosion would erase MNIST's 2–3 px strokes). ``(N, C, H, W)`` float32.
    """

    #: (operation, square size) of each choice; picked uniformly.
    CHOICES = ((np.maximum, 2), (np.maximum, 3), (np.minimum, 2))

    def __init__(self, p: float = 0.5):
        self.p = _probability("RandomThickness", p)

    def __call__(self, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images("RandomThickness", xb)
        n = len(xb)
        chosen = rng.random(n) < self.p
        # thicken (2x2 or 3x3) half the time, thin the other half
        kind = np.where(rng.random(n) < 0.5, rng.integers(0, 2, size=n), 2)
        out = np.array(xb, dtype=np.float32, copy=True)
        for k, (op, size) in enumerate(self.CHOICES):
            sel = np.flatnonzero(chosen & (kind == k))
            if len(sel):
                out[sel] = _morph(out[sel], size, op)
        return out

    def __repr__(self) -> str:
        return f"RandomThickness(p={self.p})"


class RandomHorizontalFlip:
    """Mirror a sample left-right with probability ``p`` (clothes, not digits:
    a mirrored 2 is not a 2). ``(N, C, H, W)`` in, a new array out."""

    def __init__(self, p: float = 0.5):
        self.p = _probability("RandomHorizontalFlip", p)

    def __call__(self, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images("RandomHorizontalFlip", xb)
        flipped = (rng.random(len(xb)) < self.p)[:, None, None, None]
        return np.where(flipped, xb[..., ::-1], xb).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomErasing:
    """Paint a random rectangle of a sample with ``fill``, with probability ``p`` (Zhong et
    al., "Random Erasing Data Augmentation", 2017; torchvision's ``RandomErasing``).

    Per chosen sample: area ``a ~ U[scale] · H·W`` and aspect ``r`` with ``log r ~
    U[log ratio]``; the rectangle is ``h = √(a·r)`` by ``w = √(a/r)`` (rounded, at most the
    image), placed uniformly inside the image, on every channel. torchvision redraws a
    rectangle that does not fit; here it is clipped to the image, so every chosen sample
    is erased. One boolean mask for the batch from row and column comparisons, no loop.
    ``(N, C, H, W)`` in, a new float32 array out.
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), fill: float = 0.0):
        self.p = _probability("RandomErasing", p)
        self.scale, self.ratio, self.fill = tuple(map(float, scale)), tuple(map(float, ratio)), float(fill)
        if not 0 < self.scale[0] <= self.scale[1] <= 1 or not 0 < self.ratio[0] <= self.ratio[1]:
            raise ConfigError(f"RandomErasing: need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= "
                              f"ratio[1], got scale={scale} ratio={ratio}")

    def __call__(self, xb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _check_images("RandomErasing", xb)
        n, _, h, w = xb.shape
        chosen = rng.random(n) < self.p
        area = rng.uniform(*self.scale, size=n) * h * w
        aspect = np.exp(rng.uniform(*np.log(self.ratio), size=n))
        eh = np.clip(np.rint(np.sqrt(area * aspect)), 1, h).astype(np.int64)
        ew = np.clip(np.rint(np.sqrt(area / aspect)), 1, w).astype(np.int64)
        top, left = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)      # every place it fits
        in_rows, in_cols = _span(h, top, eh), _span(w, left, ew)                  # (N, H), (N, W)
        erased = (in_rows[:, :, None] & in_cols[:, None, :]) & chosen[:, None, None]
        return np.where(erased[:, None], np.float32(self.fill), xb).astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, fill={self.fill})"


def _span(size: int, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(N, size) booleans: start[n] <= i < start[n] + length[n]."""
    i = np.arange(size)
    return (i >= start[:, None]) & (i < (start + length)[:, None])


def _segment_ink(n: int, h: int, w: int, p0: np.ndarray, p1: np.ndarray,
                 width: np.ndarray) -> np.ndarray:
    """Antialiased ink ``(n, h, w)`` in [0, 1] of one straight stroke per sample.

    ``p0``, ``p1``: ``(n, 2)`` end points (y, x) in pixels; ``width`` ``(n,)`` px.
    A pixel's ink is ``clip(width/2 + 1/2 - d, 0, 1)`` with ``d`` its distance to the
    segment ``p0 p1`` (round caps): one distance field per sample, no loop over pixels.
    """
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([gy.ravel(), gx.ravel()], 1)                    # (HW, 2)
    d = (p1 - p0).astype(np.float32)                                # (n, 2)
    rel = grid[None] - p0[:, None].astype(np.float32)               # (n, HW, 2)
    t = np.einsum("npk,nk->np", rel, d) / np.maximum((d * d).sum(1), 1e-6)[:, None]
    np.clip(t, 0, 1, out=t)
    dist = np.linalg.norm(rel - t[..., None] * d[:, None], axis=2)  # (n, HW)
    ink = np.clip(width[:, None] / 2 + 0.5 - dist, 0, 1)
    return ink.reshape(n, h, w).astype(np.float32)


class RandomContinentalStrokes:
    """Write some 1s and 7s the continental way: a 1 gets a flag (and often a foot),
    a 7 gets a crossbar. Each sample of class ``one`` (``seven``) is changed with
    probability ``p``.

    The strokes are placed from the sample's own ink ``(N, C, H, W)`` (channel 0):
    ``top``/``bottom`` are the first and last inked rows, ``h`` the digit's height,
    the pen width the median ink per inked row (the width of a vertical stroke).

    - flag: from the top of the 1 down to the left, ``Δx ∈ [0.15, 0.45] h``,
      ``Δy ∈ [0.08, 0.35] h`` (a short serif up to a continental 1's long up-stroke);
    - foot (half of the flagged 1s): horizontal through the bottom of the stem,
      half-length ``∈ [0.15, 0.3] h``;
    - crossbar: horizontal through the stem at ``∈ [0.45, 0.6] h`` below the top,
      centred on the ink of that row, half-length ``∈ [0.15, 0.28] h``.

    New ink is ``max(old, stroke)``: the result stays in [0, 1]. The transform needs
    the batch's class labels: ``transform(xb, rng, labels)``.
    """

    uses_labels = True

    def __init__(self, p: float = 0.3, one: int = 1, seven: int = 7):
        self.p = _probability("RandomContinentalStrokes", p)
        self.one, self.seven = int(one), int(seven)

    @staticmethod
    def _geometry(ink: np.ndarray):
        """Per sample ``(n, H, W)``: top row, bottom row, height, pen width, and the
        ink's mean column in each row ``(n, H)`` (NaN where a row is empty)."""
        n, h, w = ink.shape
        rows = ink.sum(axis=2)                                      # (n, H)
        inked = rows > 0.5
        top = np.argmax(inked, axis=1).astype(np.float32)
        bottom = (h - 1 - np.argmax(inked[:, ::-1], axis=1)).astype(np.float32)
        height = np.maximum(bottom - top + 1, 1)
        pen = np.nanmedian(np.where(inked, rows, np.nan), axis=1)
        pen = np.clip(np.nan_to_num(pen, nan=2.0), 1.2, 4.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = (ink @ np.arange(w, dtype=np.float32)) / rows
        centre[~inked] = np.nan
        return top, bottom, height, pen, centre

    @staticmethod
    def _column_at(centre: np.ndarray, row: np.ndarray) -> np.ndarray:
        """The ink's mean column in row ``row`` (n,), from the nearest inked row."""
        n, h = centre.shape
        dist = np.abs(np.arange(h)[None] - row[:, None]) + np.where(np.isnan(centre), 1e6, 0)
        near = np.argmin(dist, axis=1)
        return np.nan_to_num(centre[np.arange(n), near], nan=h / 2)

    def _flags(self, ink, rng):
        n = len(ink)
        top, bottom, height, pen, centre = self._geometry(ink)
        x_top = self._column_at(centre, top + 1)
        p0 = np.stack([top + pen / 2, x_top], 1)
        p1 = p0 + np.stack([rng.uniform(0.08, 0.35, n), -rng.uniform(0.15, 0.45, n)], 1) * height[:, None]
        strokes = _segment_ink(n, *ink.shape[1:], p0, p1, pen)
        foot = rng.random(n) < 0.5
        x_bottom = self._column_at(centre, bottom - 1)
        half = rng.uniform(0.15, 0.3, n) * height
        y = bottom - pen / 2
        f0, f1 = np.stack([y, x_bottom - half], 1), np.stack([y, x_bottom + half], 1)
        feet = _segment_ink(n, *ink.shape[1:], f0, f1, pen) * foot[:, None, None]
        return np.maximum(strokes, feet)

    def _crossbars(self, ink, rng):
        n = len(ink)
        top, _, height, pen, centre = self._geometry(ink)
        y = top + rng.uniform(0.45, 0.6, n) * height
        x = self._column_at(centre, np.round(y))
        half = rng.uniform(0.15, 0.28, n) * height
        tilt = rng.uniform(-0.04, 0.04, n) * height
        return _segment_ink(n, *ink.shape[1:], np.stack([y + tilt, x - half], 1),
                            np.stack([y - tilt, x + half], 1), pen)

    def __call__(self, xb: np.ndarray, rng: np.random.Generator, labels=None) -> np.ndarray:
        _check_images("RandomContinentalStrokes", xb)
        if labels is None:
            raise DataError("RandomContinentalStrokes needs the batch's class labels")
        labels = np.asarray(labels).reshape(len(xb))
        chosen = rng.random(len(xb)) < self.p
        out = np.array(xb, dtype=np.float32, copy=True)
        for cls, draw in ((self.one, self._flags), (self.seven, self._crossbars)):
            sel = np.flatnonzero(chosen & (labels == cls))
            if len(sel):
                strokes = draw(out[sel, 0], rng)
                out[sel] = np.maximum(out[sel], strokes[:, None])
        return out

    def __repr__(self) -> str:
        return f"RandomContinentalStrokes(p={self.p}, one={self.one}, seven={self.seven})"


AUGMENT_KEYS = ("shift", "rotate", "scale", "thickness", "hflip", "fill", "continental", "erase")
NORMALIZE_KEYS = ("mean", "std")


def _options(section: str, spec, valid) -> dict:
    """The ``section`` mapping of a config, checked for unknown keys and non-numbers."""
    if spec is None or spec is False:
        return {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{section}: expected a mapping of {', '.join(valid)}, "
                          f"not {type(spec).__name__} {spec!r}")
    for key, value in spec.items():
        if key not in valid:
            raise ConfigError(f"{section}: unknown key '{key}'{did_you_mean(key, valid)}; "
                              f"valid keys: {', '.join(valid)}")
        values = value if isinstance(value, (list, tuple)) and section == "normalize" else [value]
        numbers = [isinstance(v, (int, float)) and not isinstance(v, bool) for v in values]
        if not values or not all(numbers):
            raise ConfigError(f"{section}.{key}: expected a number, not {value!r}")
    return dict(spec)


def check_normalization(normalize: dict | None) -> dict:
    """``normalize`` checked as ``make_transforms`` checks it (its keys, numbers, std > 0)
    without making the transform; returns it (``{}`` for None)."""
    norm = _options("normalize", normalize, NORMALIZE_KEYS)
    if norm:
        Normalize.check(**norm)
    return norm


def make_transforms(augment: dict | None = None, normalize: dict | None = None) -> Compose:
    """Turn config sections into one ``Compose``: augmentation first, then normalization.

    ``augment``: ``{"shift": px, "rotate": degrees, "scale": fraction,
    "thickness": probability, "hflip": probability, "fill": value,
    "continental": probability, "erase": probability}`` (missing keys: no such change;
    ``continental`` adds flags and feet to digit 1s and crossbars to 7s,
    ``RandomContinentalStrokes``; ``erase`` paints a rectangle with ``fill``, last, so it
    is not moved by the affine, ``RandomErasing``);
    ``normalize``: ``{"mean": m, "std": s}`` (numbers or per-feature lists).
    An empty or ``None`` section adds nothing; unknown keys raise ``ConfigError``.
    """
    aug = _options("augment", augment, AUGMENT_KEYS)
    norm = _options("normalize", normalize, NORMALIZE_KEYS)
    steps = []
    if aug.get("hflip", 0):
        steps.append(RandomHorizontalFlip(p=aug["hflip"]))
    if aug.get("continental", 0):                 # before the affine: the new strokes move too
        steps.append(RandomContinentalStrokes(p=aug["continental"]))
    affine = {k: aug[k] for k in ("shift", "rotate", "scale", "fill") if k in aug}
    if any(affine.get(k, 0) for k in ("shift", "rotate", "scale")):
        steps.append(RandomAffine(**{"shift": 0, "rotate": 0, "scale": 0, **affine}))
    if aug.get("thickness", 0):
        steps.append(RandomThickness(p=aug["thickness"]))
    if aug.get("erase", 0):
        steps.append(RandomErasing(p=aug["erase"], fill=aug.get("fill", 0.0)))
    if norm:
        steps.append(Normalize(**norm))
    return Compose(steps)


build_transforms = make_transforms   # deprecated: the old name, kept for users
