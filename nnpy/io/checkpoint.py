"""The one serializer for everything nnpy saves: a checksummed JSON document.

A checkpoint file is one JSON object (ASCII, no NaN literals)::

    {"format": "nnpy-checkpoint", "version": 1, "nnpy_version": "0.1.0",
     "sha256": "<hex digest of the canonical payload text>",
     "payload": {...}}

The payload is the caller's data (what a training run puts in it: ``nnpy.engine.checkpoint_content``)
-- dicts with string keys, lists, strings, ints, floats,
bools, ``None`` -- where two kinds of value are written as tagged objects:

* a numpy array  -> ``{"__ndarray__": true, "dtype": "float32", "shape": [2, 3],
  "data": "<base64 of the little-endian, C-order bytes>"}``; dtypes: bool, int8-64,
  uint8-64, float16/32/64;
* a non-finite float -> ``{"__float__": "nan"}`` (or ``"inf"``, ``"-inf"``).

Numpy scalars are written as Python numbers, tuples as lists; dict keys keep their order.
The checksum is the SHA-256 of the payload's canonical text,
``json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)`` (ASCII);
``load_checkpoint`` re-serializes what it parsed the same way (Python floats round-trip
exactly through ``repr``) and compares, so any edit of a value is caught.

Saving is atomic: a temp file in the target directory, fsync, ``os.replace``, fsync of the
directory -- a failed save leaves the previous checkpoint as it was. Loading trusts nothing:
every field, dtype, shape and byte count is checked before memory is allocated, and every
problem is a one-line ``CheckpointError`` naming the file and the culprit. No pickle anywhere.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import os
import stat
import tempfile
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ..version import __version__

FORMAT = "nnpy-checkpoint"
VERSION = 1
MAX_FILE_BYTES = 2 << 30            # 2 GiB
MAX_ARRAY_ELEMENTS = 1 << 31        # per array
MAX_NDIM = 32
MAX_DEPTH = 100                     # nesting of lists / dicts in a payload
DTYPES = frozenset(["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                    "uint64", "float16", "float32", "float64"])
_ARRAY_KEYS = {"__ndarray__", "dtype", "shape", "data"}
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _where(path: tuple) -> str:
    """``("params", "conv1.W", 0)`` -> ``payload/params/conv1.W/0`` (for messages)."""
    return "/".join(["payload", *(str(p) for p in path)])


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


# ---- encoding ---------------------------------------------------------------------------

def _encode(obj: Any, path: tuple, level: int = 0) -> Any:
    """The JSON-able form of ``obj`` (arrays and non-finite floats tagged)."""
    if level > MAX_DEPTH:
        raise ValueError(f"{_where(path)}: nested deeper than {MAX_DEPTH} levels "
                         "(a container that contains itself?)")
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, path)
    if isinstance(obj, np.generic):
        if not isinstance(obj, (np.bool_, np.integer, np.floating, np.str_)):
            raise ValueError(f"{_where(path)}: cannot save a numpy {obj.dtype} scalar")
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, str)):
        return str(obj) if isinstance(obj, str) else obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        obj = float(obj)
        if math.isfinite(obj):
            return obj
        return {"__float__": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise ValueError(f"{_where(path)}: key {key!r} is not a string")
            if key in ("__ndarray__", "__float__"):
                raise ValueError(f"{_where(path)}: {key!r} is a reserved key")
            out[str(key)] = _encode(value, path + (key,), level + 1)
        return out
    if isinstance(obj, (list, tuple)):
        return [_encode(v, path + (i,), level + 1) for i, v in enumerate(obj)]
    raise ValueError(f"{_where(path)}: cannot save a {type(obj).__name__}")


def _encode_array(a: np.ndarray, path: tuple) -> dict:
    if a.dtype.name not in DTYPES:
        raise ValueError(f"{_where(path)}: arrays of dtype {a.dtype} cannot be saved "
                         f"(allowed: {', '.join(sorted(DTYPES))})")
    le = a.dtype.newbyteorder("<")
    data = np.ascontiguousarray(a, dtype=le).tobytes(order="C")
    return {"__ndarray__": True, "dtype": a.dtype.name, "shape": [int(n) for n in a.shape],
            "data": base64.b64encode(data).decode("ascii")}


def _canonical(encoded) -> str:
    return json.dumps(encoded, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=True)


def dumps_checkpoint(payload: dict) -> str:
    """The text of a checkpoint file holding ``payload`` (see the module docstring)."""
    if not isinstance(payload, dict):
        raise CheckpointError(f"a checkpoint payload must be a dict, not "
                              f"{type(payload).__name__}")
    try:
        encoded = _encode(payload, ())
        digest = hashlib.sha256(_canonical(encoded).encode("ascii")).hexdigest()
        text = json.dumps(encoded, separators=(",", ":"), allow_nan=False, ensure_ascii=True)
    except (ValueError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"cannot save checkpoint: {_one_line(exc)}") from None
    head = json.dumps({"format": FORMAT, "version": VERSION, "nnpy_version": __version__,
                       "sha256": digest}, separators=(",", ":"))
    return head[:-1] + ',"payload":' + text + "}\n"


# ---- saving -----------------------------------------------------------------------------

def save_checkpoint(path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically (parent directories are created).

    On failure (disk full, read-only directory, ...) the temp file is removed, a previous file
    at ``path`` is left untouched, and ``CheckpointError`` is raised.
    """
    name = os.fspath(path)
    try:
        data = dumps_checkpoint(payload).encode("ascii")   # fails before touching the disk
    except CheckpointError as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    folder = os.path.dirname(os.path.abspath(name))
    failed = (f"{name}: writing the checkpoint failed ({{}}); "
              "the previous file, if any, is untouched")
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        mode = stat.S_IMODE(os.stat(name).st_mode) if os.path.isfile(name) else 0o644
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(name) + ".", suffix=".tmp",
                                   dir=folder)
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name)
        tmp = None
    except OSError as exc:
        raise CheckpointError(failed.format(_one_line(exc.strerror or exc))) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    """Make the rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- loading ----------------------------------------------------------------------------

def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        keys = [k for k, _ in pairs]
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {dup!r}")
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def loads_checkpoint(text: str | bytes, name: str = "<checkpoint>") -> dict:
    """The payload of checkpoint ``text``; ``name`` is what error messages call it."""
    def fail(message: str):
        return CheckpointError(f"{name}: {_one_line(message)}")

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(f"not a checkpoint: not UTF-8 text (byte {exc.start})") from None
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise fail("not a checkpoint: JSON nested too deeply") from None
    except (ValueError, MemoryError) as exc:
        raise fail(f"not a valid checkpoint: corrupt or truncated JSON ({exc})") from None
    problem = _header_problem(doc) or _checksum_problem(doc)
    if problem:
        raise fail(problem)
    try:
        payload = _decode(doc["payload"], (), 0)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not isinstance(payload, dict):
        raise fail("'payload' is a tagged value, not a mapping")
    return payload


def _header_problem(doc) -> str | None:
    """What is wrong with the document's format, version and keys, or None."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        return f"not an nnpy checkpoint (format {found!r:.40}, expected {FORMAT!r})"
    version = doc.get("version")
    if type(version) is not int:
        return f"bad 'version' {version!r:.40}: expected an integer"
    if version > VERSION:
        return (f"written by a newer nnpy (checkpoint version {version}, nnpy "
                f"{str(doc.get('nnpy_version'))[:20]}); this nnpy reads version {VERSION} -- upgrade nnpy")
    if version < 1:
        return f"unsupported checkpoint version {version}"
    unknown = set(doc) - {"format", "version", "nnpy_version", "sha256", "payload"}
    if unknown:
        return f"unexpected top-level key {sorted(unknown)[0]!r:.40}"
    if "payload" not in doc or not isinstance(doc["payload"], dict):
        return "'payload' is missing or not an object"
    return None


def _checksum_problem(doc: dict) -> str | None:
    """None when ``sha256`` is the digest of the payload's canonical text."""
    digest = doc.get("sha256")
    if not isinstance(digest, str):
        return "'sha256' is missing or not a string"
    try:
        actual = hashlib.sha256(_canonical(doc["payload"]).encode("ascii")).hexdigest()
    except RecursionError:
        return "payload nested too deeply"
    except ValueError as exc:   # e.g. 1e999 parsed as inf
        return f"payload is not canonical JSON ({exc})"
    if actual != digest.lower():
        return "checksum mismatch: the file is corrupt or was edited (sha256 of the payload does not match)"
    return None


def load_checkpoint(path) -> dict:
    """Read and verify the checkpoint at ``path``; return its payload with arrays decoded.

    Arrays come back as writeable numpy arrays of their saved dtype and shape.
    """
    name = os.fspath(path)
    try:
        if not os.path.exists(name):
            raise CheckpointError(f"{name}: checkpoint file not found")
        if not os.path.isfile(name):
            raise CheckpointError(f"{name}: not a regular file")
        size = os.path.getsize(name)
        if size > MAX_FILE_BYTES:
            raise CheckpointError(f"{name}: checkpoint is {size} bytes, more than the "
                                  f"{MAX_FILE_BYTES}-byte limit")
        with open(name, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(f"{name}: cannot read checkpoint "
                              f"({_one_line(exc.strerror or exc)})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CheckpointError(f"{name}: checkpoint is larger than {MAX_FILE_BYTES} bytes")
    return loads_checkpoint(raw, name)


def _decode(obj: Any, path: tuple, level: int) -> Any:
    """Inverse of ``_encode`` on parsed JSON; raises ``ValueError`` naming the culprit."""
    if level > MAX_DEPTH:
        raise ValueError(f"{_where(path)}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, list):
        return [_decode(v, path + (i,), level + 1) for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    if "__ndarray__" in obj:
        return _decode_array(obj, path)
    if "__float__" in obj:
        if len(obj) != 1 or not isinstance(obj["__float__"], str) \
                or obj["__float__"] not in _FLOATS:
            raise ValueError(f"{_where(path)}: bad special float {obj!r:.60} (expected "
                             "{'__float__': 'nan' | 'inf' | '-inf'})")
        return _FLOATS[obj["__float__"]]
    return {k: _decode(v, path + (k,), level + 1) for k, v in obj.items()}


def _decode_array(obj: dict, path: tuple) -> np.ndarray:
    where = f"array at {_where(path)}"
    if set(obj) != _ARRAY_KEYS or obj["__ndarray__"] is not True:
        raise ValueError(f"{where}: expected exactly the keys {sorted(_ARRAY_KEYS)} with "
                         f"__ndarray__ true, got {sorted(map(str, obj))!r:.80}")
    dtype, shape, data = obj["dtype"], obj["shape"], obj["data"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(f"{where}: dtype {dtype!r:.40} is not allowed "
                         f"(allowed: {', '.join(sorted(DTYPES))})")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM \
            or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"{where}: shape {shape!r:.60} is not a list of at most {MAX_NDIM} "
                         "non-negative integers")
    count = math.prod(shape)
    if count > MAX_ARRAY_ELEMENTS:
        raise ValueError(f"{where}: shape {shape!r:.60} has {count} elements, more than the "
                         f"{MAX_ARRAY_ELEMENTS} allowed")
    dt = np.dtype(dtype).newbyteorder("<")
    nbytes = count * dt.itemsize
    if not isinstance(data, str) or len(data) != 4 * ((nbytes + 2) // 3):
        got = f"{len(data)} characters" if isinstance(data, str) else type(data).__name__
        raise ValueError(f"{where}: 'data' should be {4 * ((nbytes + 2) // 3)} base64 "
                         f"characters for shape {shape} {dtype}, got {got}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{where}: 'data' is not valid base64 ({exc})") from None
    if len(raw) != nbytes:
        raise ValueError(f"{where}: 'data' holds {len(raw)} bytes, shape {shape} {dtype} "
                         f"needs {nbytes}")
    if dtype == "bool" and raw and np.frombuffer(raw, dtype=np.uint8).max() > 1:
        raise ValueError(f"{where}: a bool array holds bytes other than 0 and 1")
    return np.frombuffer(raw, dtype=dt).reshape(shape).astype(np.dtype(dtype))
