"""Turn an image a person supplies into an MNIST-style digit.

MNIST digits were made by scaling each digit's bounding box so the longer side
is 20 px (keeping the aspect ratio, antialiased), then placing it in a 28×28
field so that its centre of mass is at the centre. ``load_digit`` does the same
to a photo or drawing of any size, mode and polarity.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from ..errors import DataError

#: Refuse images with more pixels than this (decompression bombs); tests lower it.
MAX_PIXELS = 40_000_000
#: Ink must differ from the paper by this much (of full scale) to count as ink.
MIN_CONTRAST = 0.08
#: Ink fainter than this (of full scale), or than 5 sigma of the border's noise, is paper.
NOISE_FLOOR = 0.04
#: Larger images are first reduced (antialiased) to this longer side: it averages out noise.
WORK_SIZE = 512
#: Images at least this big on both sides get a 3×3 median filter against speckle.
MEDIAN_MIN_SIDE = 56
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)   # ITU-R 601, as Pillow's "L"


def iter_image_files(paths: Iterable) -> Iterator[Path]:
    """Each path in turn; a folder expands to its PNG/JPEG/GIF/BMP/WEBP files, sorted."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.iterdir()
                              if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            yield path
        else:
            raise DataError(f"{path}: no such file or folder")


def _to_grey(img: Image.Image) -> np.ndarray:
    """Grey levels in [0, 1], ``(H, W)`` float32; transparency composited on white."""
    mode = img.mode
    if mode.startswith("I;16"):
        return np.asarray(img).astype(np.float32) / 65535
    if mode in ("I", "F"):
        a = np.nan_to_num(np.asarray(img).astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if mode == "F" and 0 <= lo and hi <= 1:
            scale = 1.0
        elif 0 <= lo and hi <= 255:
            scale = 255.0
        elif 0 <= lo and hi <= 65535:
            scale = 65535.0
        else:                                             # unknown range: its own extremes
            a, scale = a - lo, max(hi - lo, 1e-12)
        return (a / scale).astype(np.float32)
    if "A" in img.getbands() or "a" in img.getbands() or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255
        alpha = rgba[..., 3:]
        rgb = rgba[..., :3] * alpha + (1 - alpha)         # over white paper
        return rgb @ _LUMA
    return np.asarray(img.convert("L"), dtype=np.float32) / 255


def read_grey(path) -> np.ndarray:
    """Read the first frame of an image file as grey levels ``(H, W)`` float32 in [0, 1].

    Every failure is a one-line ``DataError`` naming the file: missing, empty, not
    an image, truncated, corrupt or of an unsupported mode, or more than ``MAX_PIXELS`` pixels.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file (0 bytes)")
    with warnings.catch_warnings():
        # Pillow only warns about a decompression bomb below twice its limit: refuse it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise DataError(f"{path}: {w}×{h} pixels is over the limit of {MAX_PIXELS} "
                                    f"(decompression bomb?)")
                img.seek(0)                               # first frame of GIF / APNG
                img.load()
                try:
                    img = ImageOps.exif_transpose(img)    # phone photos: honour the rotation
                except Exception:                         # a broken EXIF block is no reason to fail
                    pass
                return _to_grey(img)
        except DataError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DataError(f"{path}: refused as a decompression bomb ({exc})") from None
        except UnidentifiedImageError:
            raise DataError(f"{path}: not an image (Pillow cannot identify it)") from None
        except Exception as exc:                          # Pillow's decoders raise many kinds
            raise DataError(f"{path}: truncated, corrupt or unsupported image ({exc})") from None


def _border(a: np.ndarray) -> np.ndarray:
    """The outermost ring of pixels of ``a`` ``(H, W)``."""
    return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])


def _denoise(grey: np.ndarray) -> np.ndarray:
    """Reduce a large image to ``WORK_SIZE`` and median-filter it (3×3) when it is big
    enough that strokes are several pixels wide; small images pass unchanged."""
    h, w = grey.shape
    img = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32))
    if max(h, w) > WORK_SIZE:
        k = WORK_SIZE / max(h, w)
        img = img.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX)
    if min(img.size) >= MEDIAN_MIN_SIDE:
        img = img.filter(ImageFilter.MedianFilter(3))
    return np.asarray(img, dtype=np.float32)


def _ink(grey: np.ndarray, invert, name: str) -> np.ndarray:
    """Ink bright on a zero background, stretched to [0, 1], paper noise removed.

    The paper level is the median of the border (assumed white when the image
    is too small to have one). ``invert="auto"``: dark ink on light paper when
    the darkest pixel is farther below the paper than the brightest is above it.
    Ink up to ``max(NOISE_FLOOR, 5 σ)`` above the paper, σ the border's robust
    spread, is paper texture or noise and becomes 0.
    """
    small = min(grey.shape) < 3
    border = None if small else _border(grey)
    paper = 1.0 if small else float(np.median(border))
    if invert == "auto":
        invert = (paper - grey.min()) >= (grey.max() - paper)
    elif not isinstance(invert, bool):
        raise DataError(f"{name}: invert must be 'auto', True or False, not {invert!r}")
    if small and not invert:
        paper = 0.0
    ink = paper - grey if invert else grey - paper
    peak = float(ink.max())
    if peak < MIN_CONTRAST:
        raise DataError(f"{name}: no ink found (the image is blank: contrast {max(peak, 0):.3f} "
                        f"< {MIN_CONTRAST})")
    sigma = 0.0 if small else 1.4826 * float(np.median(np.abs(border - paper)))
    floor = max(NOISE_FLOOR, 5 * sigma)
    if peak <= floor:
        raise DataError(f"{name}: no ink found (nothing stands out of the paper's noise)")
    ink = (ink - floor) / (peak - floor)
    return np.clip(ink, 0, 1, out=ink)


def to_mnist(grey: np.ndarray, invert="auto", name: str = "image") -> np.ndarray:
    """Preprocess grey levels ``(H, W)`` in [0, 1] into an MNIST digit ``(28, 28)`` float32.

    Large images reduced and median-filtered (``_denoise``); ink made bright on
    dark with the paper at 0 (``_ink``); cropped to its bounding box; the longer
    side scaled to 20 px (antialiased Lanczos, aspect kept, peak restretched to
    1 as in MNIST); pasted into 28×28 with its centre of mass on pixel (14, 14),
    rounded to whole pixels as MNIST did, as far as the box stays inside.
    """
    ink = _ink(_denoise(np.asarray(grey, dtype=np.float32)), invert, name)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    k = 20 / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    box = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32)).resize(
        size, Image.Resampling.LANCZOS)
    box = np.clip(np.asarray(box, dtype=np.float32), 0, None)
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


def load_digit(path, invert="auto") -> np.ndarray:
    """Read an image file of a handwritten digit as MNIST would show it: ``(28, 28)``
    float32 in [0, 1], bright ink on black, centred by centre of mass.

    ``invert``: ``"auto"`` (detect dark-on-light from the border), ``True``
    (dark ink on light paper) or ``False`` (light ink on dark). Raises
    ``DataError`` naming the file on unreadable or blank images.
    """
    return to_mnist(read_grey(path), invert=invert, name=str(path))
