"""One image file into the array a model reads: ``(C, H, W)`` uint8, Pillow only.

``preprocess: resize`` (the default) honours the EXIF rotation of phone photos, puts
transparency over white, converts to grey (``channels: 1``, ITU-R 601 luma as Pillow's
``L``) or RGB (``channels: 3``) and resizes to ``H × W`` (bilinear, antialiased when reducing;
the aspect ratio is not kept). ``preprocess: digits`` is the demo's MNIST-style pipeline (see
``digit_pixels``): 28 × 28 grey, the digit centred by its centre of mass.

Training (``nnpy.data.image_folder``), ``nnpy demo`` and ``nnpy serve`` (an upload: the
file's bytes) all read images through ``decode_image``, so a model sees at prediction what
it saw in training.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..errors import DataError
from .images import decode_grey, over_the_limit, read_grey

PREPROCESSING = ("resize", "digits")
DIGIT_SHAPE = (1, 28, 28)
#: Modes holding one grey channel: ``channels`` defaults to 1 when the first image has one.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_ROTATED = (5, 6, 7, 8)       # EXIF orientations that swap width and height


class BadImage(DataError):
    """An image file that cannot be used; ``reason`` says why without the file's name."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def digit_pixels(path, data: bytes | None = None, max_pixels: int | None = None) -> np.ndarray:
    """``preprocess: digits``: the file (or its bytes ``data``) as MNIST would show it,
    ``(28, 28)`` float32 in [0, 1] (``nnpy.digits.preprocess.to_mnist``, the demo's preprocessing)."""
    from ..digits.preprocess import to_mnist   # on use: nnpy.digits builds on nnpy.data

    grey = read_grey(path) if data is None else decode_grey(data, str(path), max_pixels)
    return to_mnist(grey, name=str(path))


def peek_image(path) -> tuple[tuple[int, int], int]:
    """``((height, width), channels)`` of an image file from its header alone (nothing is
    decoded): the size after the EXIF rotation, and 1 channel for grey modes, else 3."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(ExifTags.Base.Orientation) in _ROTATED:
                width, height = height, width
            return (height, width), 1 if img.mode in GREY_MODES else 3
    except UnidentifiedImageError:
        raise BadImage(path, "not an image (Pillow cannot identify it)") from None
    except Exception as exc:                             # Pillow's decoders raise many kinds
        raise BadImage(path, f"unreadable image ({exc})") from None


def decode_image(path, shape: tuple, preprocess: str = "resize", data: bytes | None = None,
                 max_pixels: int | None = None) -> np.ndarray:
    """The image file at ``path`` as ``shape = (C, H, W)`` uint8 (C 1 or 3), as the module
    docstring says; with ``data``, the image is those bytes (an upload) and ``path`` only
    names it. ``max_pixels``: refuse larger images (a server's limit). Every failure is a
    ``BadImage`` naming the file and the reason."""
    path = Path(path)
    if preprocess == "digits":
        return _digit_array(path, data, max_pixels)
    channels, height, width = shape
    source = _opened(path, data)
    with warnings.catch_warnings():
        # Pillow only warns about a decompression bomb below twice its limit: refuse it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source) as img:
                if (reason := over_the_limit(img, max_pixels)) is not None:
                    raise BadImage(path, reason)
                side = max(height, width)
                img.draft("L" if channels == 1 else "RGB", (side, side))  # JPEG: decode at 1/2…1/8 scale
                img.load()
                img = _upright(img)
                img = _eight_bit(img, "L" if channels == 1 else "RGB")
                if img.size != (width, height):
                    img = img.resize((width, height), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, dtype=np.uint8)
        except BadImage:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadImage(path, f"refused as a decompression bomb ({exc})") from None
        except UnidentifiedImageError:
            raise BadImage(path, "not an image (Pillow cannot identify it)") from None
        except Exception as exc:
            raise BadImage(path, f"truncated, corrupt or unsupported image ({exc})") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)     # HW(C) -> CHW


def _opened(path: Path, data: bytes | None):
    """What ``Image.open`` reads: the file at ``path``, or ``data``; an empty or unreadable
    one is a ``BadImage``."""
    if data is not None:
        if not data:
            raise BadImage(path, "empty file (0 bytes)")
        return io.BytesIO(data)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadImage(path, f"cannot read it ({exc.strerror or exc})") from None
    if size == 0:
        raise BadImage(path, "empty file (0 bytes)")
    return path


def _digit_array(path: Path, data: bytes | None, max_pixels: int | None) -> np.ndarray:
    try:
        digit = digit_pixels(path, data, max_pixels)
    except DataError as exc:
        reason = str(exc)
        raise BadImage(path, reason[len(f"{path}: "):] if reason.startswith(f"{path}: ") else reason) from None
    return np.round(digit * 255).astype(np.uint8)[None]


def _upright(img: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (phone photos); a broken EXIF block is no
    reason to fail."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:
        return img


def _eight_bit(img: Image.Image, mode: str) -> Image.Image:
    """``img`` in ``mode`` (``L`` or ``RGB``): transparency composited over white paper;
    16- and 32-bit grey scaled to 8 bits."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _high_bit_grey(img)
    if "A" in img.getbands() or "a" in img.getbands() or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    return img.convert(mode)


def _high_bit_grey(img: Image.Image) -> Image.Image:
    """A grey image of more than 8 bits as ``L``: 16-bit full scale for ``I;16``; for ``I`` and
    ``F`` the first range the values fit of [0, 1] (``F`` only), [0, 255], [0, 65535], else
    their own minimum and maximum."""
    a = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if img.mode.startswith("I;16"):
        lo, scale = 0.0, 65535.0
    elif img.mode == "F" and 0 <= lo and hi <= 1:
        lo, scale = 0.0, 1.0
    elif 0 <= lo and hi <= 255:
        lo, scale = 0.0, 255.0
    elif 0 <= lo and hi <= 65535:
        lo, scale = 0.0, 65535.0
    else:
        scale = max(hi - lo, 1e-12)
    return Image.fromarray(np.round((a - lo) / scale * 255).astype(np.uint8))
