"""From the grey levels of a photo or drawing to an MNIST digit, in stages one can look at.

    grey ─reduce, median─▶ work ─paper estimate─▶ background ─divide─▶ ink (paper = 0)
         ─Otsu + noise floor─▶ mask ─components─▶ kept (the digit's pieces)
         ─crop, 20 px, centre of mass─▶ digit (28×28)

* **Background flattening.** Uneven light (a brightness gradient, a shadow, grey or
  tinted paper) is estimated as a grey *closing* of the image (a max filter, then a
  min filter, of a window a few stroke widths wide: dark strokes narrower than the
  window vanish, larger dark areas such as shadows stay), computed at low resolution
  and smoothly enlarged. Dark ink is then ``1 − work / background``: the ink's
  reflectance relative to the paper under it, the same in the shadow as in the light.
  Light ink on dark paper uses an *opening* and a difference instead.
* **Ink detection.** Otsu's threshold on the flattened ink, but never below the
  paper's noise: ``median + max(NOISE_FLOOR, 5 σ)`` (σ the robust spread).
* **Cropping.** 8-connected components of the mask (``components.label``); the digit
  is the heaviest component not touching the image border (or the heaviest, when all
  do), plus the components of at least ``PIECE_MASS`` of its ink that lie next to it
  (a broken stroke, a 5's hat) and off the border; specks, paper edges and far-away
  marks are left out.
* **The MNIST convention.** The kept ink (soft, antialiased edges kept) is cropped,
  its longer side scaled to 20 px, and placed in 28×28 with its centre of mass at
  the centre, as MNIST's digits were made.

``digit_stages`` returns every stage (``DigitStages``); when it cannot find a digit it
raises ``NoInkError``, a ``DataError`` that carries the stages computed so far, so that
``nnpy demo --explain`` can show *why* ("no ink found" next to the flattened image
and its threshold). ``to_mnist`` keeps only the digit; ``load_digit`` reads an image file first.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter

from ..data.images import read_grey
from ..errors import DataError
from .components import boxes, label

#: Ink must differ from the paper by this much (of the paper's brightness) to count as ink.
MIN_CONTRAST = 0.08
#: Ink weaker than this (or than 5 sigma of the paper's noise) is paper texture.
NOISE_FLOOR = 0.04
#: Larger images are first reduced (antialiased) to this longer side: it averages out noise.
WORK_SIZE = 512
#: Images at least this big on both sides get a 3×3 median filter against speckle.
MEDIAN_MIN_SIDE = 56
#: The background is estimated on a copy reduced to this longer side …
BACKGROUND_SIZE = 96
#: … and the polarity (dark or light ink) on one reduced to this.
POLARITY_SIZE = 48
#: A component joins the digit when it has at least this fraction of the main one's ink …
PIECE_MASS = 0.03
#: … and its box is within this fraction of the digit's size from the digit's box.
PIECE_REACH = 0.3


class NoInkError(DataError):
    """No digit found in an image; ``stages`` holds what was computed up to the failure."""

    def __init__(self, message: str, stages: "DigitStages"):
        super().__init__(message)
        self.stages = stages


@dataclass
class DigitStages:
    """What each step made of one image. Arrays are ``(h, w)`` in work pixels (the
    input reduced by ``scale``) unless said otherwise; ``None`` where a step was not reached."""

    work: np.ndarray                       # grey levels in [0, 1] after reduction / median
    scale: float = 1.0                     # work pixels per input pixel
    dark_ink: bool | None = None           # dark ink on light paper?
    background: np.ndarray | None = None   # the paper's estimated grey level
    ink: np.ndarray | None = None          # ink strength, 0 = paper
    threshold: float | None = None         # ink above it is in ``mask``
    floor: float | None = None             # the paper's noise level: soft ink is 0 below it
    mask: np.ndarray | None = None         # bool: ink pixels
    kept: np.ndarray | None = None         # bool: pixels of the components making the digit
    box: tuple | None = None               # (x0, y0, x1, y1) of ``kept``, exclusive ends
    digit: np.ndarray | None = None        # (28, 28) float32 in [0, 1]: what the model sees
    notes: list = field(default_factory=list)

    def box_in_input(self) -> list | None:
        """``box`` in the input image's pixels, ``[x0, y0, x1, y1]``."""
        if self.box is None:
            return None
        return [int(round(v / self.scale)) for v in self.box]


# --------------------------------------------------------------------------- small tools
def _odd(k: float) -> int:
    k = max(1, int(round(k)))
    return k if k % 2 else k + 1


def _resize(a: np.ndarray, size: tuple, method=Image.Resampling.BILINEAR) -> np.ndarray:
    """``a`` ``(h, w)`` float32 resized to ``size = (w, h)`` by Pillow."""
    img = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32))
    return np.asarray(img.resize(size, method), dtype=np.float32)


def _rank(a: np.ndarray, size: int, op) -> np.ndarray:
    """Max or min filter (``op`` = ``np.max`` / ``np.min``) over a ``size``×``size`` square,
    the border replicated (the image edge is neither ink nor paper). Separable: the
    square's extreme is the extreme over columns of the extremes over rows."""
    r = size // 2
    out = np.pad(a, r, mode="edge").astype(np.float32)
    for axis in (0, 1):
        out = op(np.lib.stride_tricks.sliding_window_view(out, size, axis=axis), axis=-1)
    return out


def _median(a: np.ndarray, size: int) -> np.ndarray:
    """Median over a ``size``×``size`` square (edge replicated); for small ``a`` only."""
    r = size // 2
    p = np.pad(a, r, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(p, (size, size)), axis=(-2, -1))


def _box_blur(a: np.ndarray, size: int) -> np.ndarray:
    """Mean over a ``size``×``size`` window (edge replicated), by cumulative sums."""
    r = size // 2
    p = np.pad(a, r, mode="edge").astype(np.float64)
    c = np.cumsum(np.cumsum(p, 0), 1)
    c = np.pad(c, ((1, 0), (1, 0)))
    s = c[size:, size:] - c[:-size, size:] - c[size:, :-size] + c[:-size, :-size]
    return (s / (size * size)).astype(np.float32)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """3×3 binary dilation."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    rows = out.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


# --------------------------------------------------------------------------- stages
def work_image(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """``grey`` reduced to ``WORK_SIZE`` (box filter) and median-filtered (3×3) when big
    enough that strokes are several pixels wide; ``(work, scale)``."""
    h, w = grey.shape
    img = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32))
    scale = 1.0
    if max(h, w) > WORK_SIZE:
        scale = WORK_SIZE / max(h, w)
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    if min(img.size) >= MEDIAN_MIN_SIDE:
        img = img.filter(ImageFilter.MedianFilter(3))
    return np.asarray(img, dtype=np.float32), scale


def estimate_background(work: np.ndarray, dark_ink: bool, window: float) -> np.ndarray:
    """The paper's grey level under every pixel ``(h, w)``: a grey closing (dark ink) or
    opening (light ink) with a ``window``-pixel square, on a copy reduced to
    ``BACKGROUND_SIZE``, smoothed and enlarged back (bilinear)."""
    h, w = work.shape
    k = min(1.0, BACKGROUND_SIZE / max(h, w))
    small = _resize(work, (max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX)
    size = _odd(max(3, window * k))
    first, second = (np.max, np.min) if dark_ink else (np.min, np.max)
    paper = _rank(_rank(small, size, first), size, second)
    paper = _box_blur(paper, _odd(size / 2))
    return paper if k == 1.0 else _resize(paper, (w, h))


def flatten(work: np.ndarray, background: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Ink strength ``(h, w)`` >= 0: ``1 − work / background`` for dark ink (the ink's
    darkness relative to the paper under it), ``work − background`` for light ink."""
    if dark_ink:
        ink = 1 - work / np.maximum(background, 0.02)
    else:
        ink = work - background
    return np.clip(ink, 0, None).astype(np.float32)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the level that maximises the between-class variance
    ``w0 w1 (μ0 − μ1)²`` of the histogram of ``values`` (on ``[0, max]``)."""
    top = float(values.max())
    if top <= 0:
        return 0.0
    hist, edges = np.histogram(values, bins=bins, range=(0, top))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist).astype(np.float64)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mu0 = m0 / np.maximum(w0, 1)
    mu1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[1:][np.argmax(between)])


def ink_threshold(ink: np.ndarray) -> tuple[float, float]:
    """``(threshold, floor)``: Otsu's level, raised to the paper's noise floor
    ``median + max(NOISE_FLOOR, 5 σ)`` (σ = 1.4826 · median absolute deviation)."""
    med = float(np.median(ink))
    sigma = 1.4826 * float(np.median(np.abs(ink - med)))
    floor = med + max(NOISE_FLOOR, 5 * sigma)
    return max(otsu_threshold(ink), floor), floor


def stroke_width(mask: np.ndarray, ink: np.ndarray | None = None) -> float:
    """Typical stroke width in px of the ink ``mask``: ``2 · area / boundary``, the
    boundary being the ink pixels with a paper pixel among their 4 neighbours (a
    stroke of length ``L`` and width ``w`` has ``≈ 2 L`` of them and ``L w`` pixels).
    With ``ink`` (``(h, w)`` soft ink in [0, 1]) the area is its sum over ``mask``: the
    ink one crosses going through a stroke, faint antialiased edges counted as faint."""
    area = int(mask.sum())
    if area == 0:
        return 0.0
    p = np.pad(mask, 1)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    boundary = area - int(inner.sum())
    if ink is not None:
        area = float(ink[mask].sum())
    return 2 * area / max(boundary, 1)


def select_digit(mask: np.ndarray, ink: np.ndarray) -> tuple[np.ndarray, tuple] | None:
    """The pixels ``(h, w)`` bool and box ``(x0, y0, x1, y1)`` of the digit in ``mask``,
    or ``None`` when there is no component. See the module docstring for the rule."""
    labels, n = label(mask)
    if n == 0:
        return None
    st = boxes(labels, n, weights=ink)
    h, w = mask.shape
    touches = (st["y0"] == 0) | (st["x0"] == 0) | (st["y1"] == h) | (st["x1"] == w)
    mass = st["mass"]
    inside = np.flatnonzero(~touches)
    main = int(np.argmax(mass))
    if len(inside) and mass[inside].max() >= 0.25 * mass[main]:
        main = int(inside[np.argmax(mass[inside])])
    keep = {main}
    y0, x0, y1, x1 = (int(st[k][main]) for k in ("y0", "x0", "y1", "x1"))
    # Pieces: heavy enough, and off the border unless the digit itself touches it
    # (a paper edge or the table beside the sheet is no part of a digit).
    pieces = [i for i in np.flatnonzero(mass >= PIECE_MASS * mass[main])
              if i != main and (touches[main] or not touches[i])]
    grown = True
    while grown:                      # a loop over components, never over pixels
        grown = False
        reach = PIECE_REACH * max(y1 - y0, x1 - x0)
        for i in pieces:
            if i in keep:
                continue
            if st["y0"][i] < y1 + reach and st["y1"][i] > y0 - reach and \
                    st["x0"][i] < x1 + reach and st["x1"][i] > x0 - reach:
                keep.add(i)
                y0, x0 = min(y0, int(st["y0"][i])), min(x0, int(st["x0"][i]))
                y1, x1 = max(y1, int(st["y1"][i])), max(x1, int(st["x1"][i]))
                grown = True
    kept = np.isin(labels, np.array(sorted(keep)) + 1)
    return kept, (x0, y0, x1, y1)


def soft_ink(ink: np.ndarray, kept: np.ndarray, floor: float) -> np.ndarray:
    """The digit's ink in [0, 1] ``(h, w)``: from ``floor`` (0) to the 98th percentile of
    the kept ink (1), only on the kept pixels and two pixels around them (the
    antialiased edges MNIST's digits have too)."""
    near = _dilate(_dilate(kept))
    top = float(np.percentile(ink[kept], 98)) if kept.any() else 1.0
    soft = np.clip((ink - floor) / max(top - floor, 1e-6), 0, 1)
    return np.where(near, soft, 0).astype(np.float32)


def centre_mnist(ink: np.ndarray, name: str = "image") -> np.ndarray:
    """``ink`` ``(h, w)`` (bright on 0, already cropped) → ``(28, 28)`` float32 the MNIST
    way: longer side scaled to 20 px (Lanczos, aspect kept, peak restretched to 1),
    centre of mass on pixel (14, 14), rounded to whole pixels, the box kept inside."""
    h, w = ink.shape
    k = 20 / max(h, w)
    box = _resize(ink, (max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.LANCZOS)
    box = np.clip(box, 0, None)
    peak = box.max()
    if peak <= 0:                                         # ink vanished in the resize
        raise DataError(f"{name}: no ink found (strokes too faint after scaling to 20 px)")
    box /= peak                                           # thin strokes thin out: restretch
    bh, bw = box.shape
    total = box.sum()
    cy = (box.sum(axis=1) @ np.arange(bh)) / total
    cx = (box.sum(axis=0) @ np.arange(bw)) / total
    top = int(np.clip(round(14 - cy), 0, 28 - bh))
    left = int(np.clip(round(14 - cx), 0, 28 - bw))
    out = np.zeros((28, 28), dtype=np.float32)
    out[top:top + bh, left:left + bw] = box
    return out


def _polarity(work: np.ndarray, invert, name: str) -> bool:
    """Dark ink on light paper? ``invert="auto"``: dark unless two tests both say light —

    * globally, the darkest pixel lies farther below the median (the paper) than the
      brightest lies above it;
    * locally, against a large median filter (the paper's level near each pixel, what
      ever the polarity, as paper is most of any window): the darkest 0.5 % of the
      residual lie farther below it than the brightest 0.5 % lie above it.

    A shadow fools the first (half the paper is darker than the median), a thick stroke
    the second; dark ink on paper, by far the most common input, is the default."""
    if invert == "auto":
        med = float(np.median(work))
        if (med - float(work.min())) >= (float(work.max()) - med):
            return True
        h, w = work.shape
        if min(h, w) < 3:
            return False
        k = min(1.0, POLARITY_SIZE / max(h, w))
        small = _resize(work, (max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX)
        level = _median(small, _odd(max(3, k * max(h, w) / 4)))
        lo, hi = np.percentile(small - level, [0.5, 99.5])
        return bool(-lo >= hi)
    if not isinstance(invert, bool):
        raise DataError(f"{name}: invert must be 'auto', True or False, not {invert!r}")
    return invert


def ink_stages(grey: np.ndarray, invert="auto", name: str = "image") -> DigitStages:
    """Stages up to the ink mask (``work`` … ``mask``): what ``digit_stages`` and the row
    segmentation share. Raises ``NoInkError`` on a blank image."""
    work, scale = work_image(np.asarray(grey, dtype=np.float32))
    st = DigitStages(work=work, scale=scale)
    st.dark_ink = _polarity(work, invert, name)
    h, w = work.shape
    if min(h, w) < 3:                        # too small to have paper around the ink
        paper = 1.0 if st.dark_ink else 0.0
        st.background = np.full_like(work, paper)
    else:
        st.background = estimate_background(work, st.dark_ink, max(h, w) / 5)
    st.ink = flatten(work, st.background, st.dark_ink)
    st.threshold, st.floor = ink_threshold(st.ink)
    if min(h, w) >= 3:                       # the window: 4 stroke widths, at least 1/8 of the image
        width = stroke_width(st.ink > st.threshold)
        window = float(np.clip(4 * width + 1, max(h, w) / 8, max(h, w) / 2))
        if abs(window - max(h, w) / 5) > 0.25 * window:
            st.background = estimate_background(work, st.dark_ink, window)
            st.ink = flatten(work, st.background, st.dark_ink)
            st.threshold, st.floor = ink_threshold(st.ink)
            st.notes.append(f"window {window:.0f} px (stroke width {width:.1f} px)")
    peak = float(st.ink.max())
    if peak < MIN_CONTRAST:
        raise NoInkError(f"{name}: no ink found (the image is blank: contrast {peak:.3f} "
                         f"< {MIN_CONTRAST})", st)
    # Ink is on the ink side of the typical (median) grey level too: told the wrong
    # polarity, the paper between strokes is no ink.
    if min(h, w) < 3:
        st.threshold = st.floor = NOISE_FLOOR
        st.mask = st.ink > st.threshold
    else:
        med = float(np.median(work))
        st.mask = (st.ink > st.threshold) & ((work < med) if st.dark_ink else (work > med))
    if not st.mask.any():
        raise NoInkError(f"{name}: no ink found (nothing stands out of the paper's noise: "
                         f"contrast {peak:.3f} <= threshold {st.threshold:.3f})", st)
    return st


def digit_stages(grey: np.ndarray, invert="auto", name: str = "image") -> DigitStages:
    """Every stage of turning grey levels ``(H, W)`` in [0, 1] into an MNIST digit;
    ``.digit`` is the ``(28, 28)`` result. Raises ``NoInkError`` (with the stages so
    far) when there is no ink, ``DataError`` on a bad ``invert``."""
    st = ink_stages(grey, invert, name)
    picked = select_digit(st.mask, st.ink)
    if picked is None:
        raise NoInkError(f"{name}: no ink found (no connected stroke)", st)
    st.kept, st.box = picked
    soft = soft_ink(st.ink, st.kept, st.floor)
    rows, cols = np.flatnonzero(soft.any(1)), np.flatnonzero(soft.any(0))
    crop = soft[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    try:
        st.digit = centre_mnist(crop, name)
    except DataError as exc:
        raise NoInkError(str(exc), st) from None
    return st


def to_mnist(grey: np.ndarray, invert="auto", name: str = "image") -> np.ndarray:
    """Preprocess grey levels ``(H, W)`` in [0, 1] into an MNIST digit ``(28, 28)``
    float32 (``digit_stages(...).digit``)."""
    return digit_stages(grey, invert, name).digit


def load_digit(path, invert="auto") -> np.ndarray:
    """Read an image file of a handwritten digit as MNIST would show it: ``(28, 28)``
    float32 in [0, 1], bright ink on black, centred by centre of mass.

    ``invert``: ``"auto"`` (detect dark-on-light), ``True`` (dark ink on light paper)
    or ``False`` (light ink on dark). Raises ``DataError`` naming the file on
    unreadable or blank images. The steps are the ones above (``to_mnist``).
    """
    return to_mnist(read_grey(path), invert=invert, name=str(path))
