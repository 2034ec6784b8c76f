"""Reader and writer for the IDX format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic ``0x00 0x00 <dtype code> <ndim>``, then ``ndim``
big-endian uint32 dimensions, then the values in C order, big-endian. The files
are usually gzip-compressed; the reader tells the two apart by the gzip magic
bytes ``1f 8b``, never by the file name.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

#: IDX type code -> numpy dtype (big-endian on disk).
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from None
    return data


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip or raw) into a native-endian array of its stored shape.

    Raises ``DataError`` naming the file when the magic, the type code, the
    dimensions or the byte length (truncated or trailing bytes) is wrong.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file ({len(data)} bytes, "
                        f"shorter than the 4-byte magic)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file "
                        f"(magic {data[:4].hex()} does not start with 0000)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02x}; "
                        f"valid: {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: IDX header truncated "
                        f"(needs {header} bytes, file has {len(data)})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    dtype = IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataError(f"{path}: IDX data {what}: shape {shape} of {dtype.name} needs "
                        f"{expected} bytes, file has {len(data)}")
    values = np.frombuffer(data, dtype, offset=header)
    return values.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX; gzip when ``compress`` (default: the name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    by_kind = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
    code = by_kind.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise DataError(f"{path}: cannot store a {array.ndim}-d {array.dtype} array as IDX")
    payload = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
               + np.ascontiguousarray(array, IDX_DTYPES[code]).tobytes())
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path
