"""Read the images a person supplies: any mode, size, frame count; untrusted.

``read_grey`` gives grey levels in [0, 1] or a one-line ``DataError``; ``decode_grey`` the
same from bytes (an upload); ``iter_image_files`` lists the image files of paths and folders.
Turning grey levels into an MNIST-style digit is the digit reader's (``nnpy.digits``).
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError

#: Refuse images with more pixels than this (decompression bombs); tests lower it.
MAX_PIXELS = 40_000_000
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
    with open(path, "rb") as f:
        return decode_grey(f, str(path))


def decode_grey(data, name: str = "image", max_pixels: int | None = None) -> np.ndarray:
    """Grey levels ``(H, W)`` of the image in ``data`` (bytes or a binary file object);
    the failures of ``read_grey``, each a one-line ``DataError`` starting with ``name``.
    ``max_pixels``: a lower limit than ``MAX_PIXELS`` (a server's)."""
    limit = MAX_PIXELS if max_pixels is None else min(max_pixels, MAX_PIXELS)
    if isinstance(data, (bytes, bytearray)):
        if not data:
            raise DataError(f"{name}: empty file (0 bytes)")
        data = io.BytesIO(data)
    with warnings.catch_warnings():
        # Pillow only warns about a decompression bomb below twice its limit: refuse it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(data) as img:
                if (reason := over_the_limit(img, limit)) is not None:
                    raise DataError(f"{name}: {reason}")
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
            raise DataError(f"{name}: refused as a decompression bomb ({exc})") from None
        except UnidentifiedImageError:
            raise DataError(f"{name}: not an image (Pillow cannot identify it)") from None
        except Exception as exc:                          # Pillow's decoders raise many kinds
            raise DataError(f"{name}: truncated, corrupt or unsupported image ({exc})") from None


def over_the_limit(img: Image.Image, limit: int | None) -> str | None:
    """Why ``img`` is refused when it has more than ``limit`` pixels (a decompression bomb?),
    read from its header before it is decoded; None when it has no more (or no limit)."""
    w, h = img.size
    if limit is None or w * h <= limit:
        return None
    return f"{w}×{h} pixels is over the limit of {limit} (decompression bomb?)"


def __getattr__(name: str):
    """``load_digit``: its old path, kept so existing imports work; the code lives in
    ``nnpy.digits.preprocess`` (imported on first use: nnpy.digits builds on this module)."""
    if name == "load_digit":
        from ..digits.preprocess import load_digit
        return load_digit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
