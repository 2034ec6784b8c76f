"""Download a dataset that is too big to embed, verified by MD5, all or nothing.

Each file is streamed to a hidden temporary file in the destination folder and
hashed on the way. Only when every file is whole and matches its checksum are
they renamed into place; on any failure the temporary files are deleted, so a
folder never holds a partial or unverified download.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable

from ..errors import DataError
from ..registry import did_you_mean
from .paths import repo_data_dir

#: name -> (canonical base URL, {file name: MD5}); from Zalando's Fashion-MNIST README.
SOURCES = {
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}
_CHUNK = 1 << 20


def md5sum(path) -> str:
    """The hex MD5 of a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, folder: Path, name: str, timeout: float,
              progress: Callable | None) -> tuple[Path, str]:
    """Stream ``url`` into a temporary file in ``folder``; return it and its MD5."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    tmp = Path(tmp)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            for chunk in iter(lambda: resp.read(_CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(name, done, total)
            if total and done != total:
                raise DataError(f"{url}: download incomplete ({done} of {total} bytes)")
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, ValueError, http.client.HTTPException)) \
                and not isinstance(exc, DataError):
            raise DataError(f"{url}: download failed ({getattr(exc, 'reason', exc)})") from None
        raise
    return tmp, digest.hexdigest()


def fetch(name: str, dest=None, base_url: str | None = None, checksums: dict | None = None,
          timeout: float = 60.0, progress: Callable[[str, int, int], None] | None = None) -> Path:
    """Download dataset ``name`` into ``dest`` (default ``<repo>/data/<name>``); return ``dest``.

    ``base_url`` and ``checksums`` (file name -> MD5) default to the canonical
    ones in ``SOURCES``. Files already present with the right MD5 are kept.
    ``progress(file, bytes_done, bytes_total)`` is called as data arrives.
    A checksum mismatch or a failed download raises ``DataError`` and leaves
    ``dest`` as it was.
    """
    if name not in SOURCES:
        raise DataError(f"no download for dataset '{name}'{did_you_mean(name, SOURCES)}; "
                        f"downloadable: {', '.join(SOURCES)}")
    default_url, default_md5 = SOURCES[name]
    base_url = base_url or default_url
    checksums = dict(default_md5 if checksums is None else checksums)
    dest = Path(dest) if dest is not None else repo_data_dir(name)
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{dest}: cannot create the folder ({exc.strerror or exc})") from None

    todo = [f for f, md5 in checksums.items()
            if not ((dest / f).is_file() and md5sum(dest / f) == md5.lower())]
    done: list[tuple[Path, Path]] = []                 # (temporary, final)
    try:
        for file in todo:
            url = base_url.rstrip("/") + "/" + file
            tmp, md5 = _download(url, dest, file, timeout, progress)
            done.append((tmp, dest / file))
            if md5 != checksums[file].lower():
                raise DataError(f"{url}: MD5 {md5} does not match the expected "
                                f"{checksums[file].lower()}; nothing was saved")
        for tmp, final in done:
            os.replace(tmp, final)
    except BaseException:
        for tmp, _ in done:
            tmp.unlink(missing_ok=True)
        if created:
            try:
                dest.rmdir()                           # only if it is still empty
            except OSError:
                pass
        raise
    return dest
