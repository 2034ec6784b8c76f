"""The decode cache of an image folder: decoded once, loaded in a fraction of a second after.

One ``.npz`` file (no pickle) per folder and decoding settings, by default in
``<root>/.nnpy-cache/images-<settings>.npz``, holds::

    key         SHA-256 of every listed file's path (relative to the root), size and
                modification time: any file added, removed, replaced or touched changes it
    pixels      (M, C, H, W) uint8, the images that decoded, in listing order
    index       (M,) int64, their positions in the listing
    bad_index   (B,) int64, the positions of the files that did not decode
    bad_reason  (B,) str, why each did not

A cache whose key differs from the folder's is decoded again and replaced; a damaged or
unreadable one is too. Writing is atomic (a temporary file, then ``os.replace``), so an
interrupted run never leaves half a cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

CACHE_FOLDER = ".nnpy-cache"
#: Bump when decoding changes, so caches written by older code are decoded again.
FORMAT = 1


@dataclass
class DecodedImages:
    """The outcome of decoding a listing (see the module docstring for the fields)."""
    pixels: np.ndarray
    index: np.ndarray
    bad_index: np.ndarray
    bad_reason: list

    def bad_lines(self, files: list) -> list[str]:
        """``"<file>: <reason>"`` for every file that did not decode."""
        return [f"{files[i]}: {reason}" for i, reason in zip(self.bad_index.tolist(), self.bad_reason)]


def listing_key(files: list[Path], root: Path) -> str:
    """SHA-256 of each file's path relative to ``root``, size and modification time (ns)."""
    digest = hashlib.sha256()
    prefix = len(os.path.join(str(root), ""))          # the files' paths all start with root
    for path in map(str, files):
        try:
            st = os.stat(path)
        except OSError as exc:
            raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        entry = [path[prefix:].replace(os.sep, "/"), st.st_size, st.st_mtime_ns]
        digest.update(json.dumps(entry).encode() + b"\n")
    return digest.hexdigest()


def cache_file(root: Path, settings: dict, folder: Path | None = None) -> Path:
    """Where the cache of ``root`` decoded with ``settings`` lives: ``<root>/.nnpy-cache/`` or,
    given ``folder``, there (the root's absolute path then names the file too)."""
    named = {**settings, "format": FORMAT}
    if folder is not None:
        named["root"] = str(Path(root).resolve())
    else:
        folder = Path(root) / CACHE_FOLDER
    digest = hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:16]
    return Path(folder) / f"images-{digest}.npz"


def load_cache(path: Path, key: str) -> DecodedImages | None:
    """The cache at ``path`` when it exists, reads and matches ``key``; else None."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            return DecodedImages(f["pixels"], f["index"].astype(np.int64), f["bad_index"].astype(np.int64),
                                 [str(r) for r in f["bad_reason"]])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def save_cache(path: Path, key: str, decoded: DecodedImages) -> str | None:
    """Write the cache atomically; the reason as text when it cannot be written (a read-only
    folder is no reason to stop a run), else None."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, key=np.array(key), pixels=decoded.pixels, index=decoded.index,
                     bad_index=decoded.bad_index, bad_reason=np.array(decoded.bad_reason, dtype=str))
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        return f"{exc.strerror or exc}"
    return None
