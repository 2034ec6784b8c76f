"""The JSON checkpoint serializer: round trips, atomic writes, and corrupt files refused."""
import base64
import errno
import hashlib
import json
import math
import os

import numpy as np
import pytest

import nnpy
from nnpy.errors import CheckpointError
from nnpy.io import checkpoint as ck
from nnpy.io.checkpoint import (DTYPES, dumps_checkpoint, load_checkpoint, loads_checkpoint,
                                save_checkpoint)


def assert_same(a, b):
    """Deep equality: arrays bit-exact with equal dtype and shape, NaN equal to NaN."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b)
    else:
        assert a == b and type(a) is type(b), (a, b)


def sample_payload():
    rng = np.random.default_rng(0)
    arrays = {name: (rng.standard_normal((3, 4)) * 100).astype(name) for name in DTYPES}
    arrays["float32_special"] = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45], np.float32)
    arrays["int64_extremes"] = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max])
    arrays["uint64_max"] = np.array([np.iinfo(np.uint64).max], np.uint64)
    arrays["zero_d"] = np.array(2.5)
    arrays["empty"] = np.zeros((0, 3), np.int32)
    arrays["empty_bool"] = np.zeros(0, bool)
    arrays["transposed"] = np.arange(12, dtype=np.int16).reshape(3, 4).T      # not C-order
    arrays["big_endian"] = np.arange(5, dtype=">f8")
    return {
        "params": {"conv1.W": rng.standard_normal((2, 3, 3, 3)).astype(np.float32),
                   "conv1.b": np.zeros(2, np.float32)},
        "arrays": arrays,
        "optimizer": {"type": "Adam", "step": 7,
                      "m": [np.ones((2, 2)), {"deep": [[np.arange(3)]]}]},
        "floats": [0.1, -0.0, 1e308, 5e-324, math.nan, math.inf, -math.inf, 1 / 3],
        "misc": {"none": None, "t": True, "f": False, "s": "héllo \"q\" \n\u2028", "": 0,
                 "big": 2**70, "neg": -(2**63)},
        "zeta_first_in_order": 1, "alpha": 2,
    }


def expected(payload):
    """What loading gives back: tuples -> lists, numpy scalars -> Python, arrays native."""
    if isinstance(payload, np.ndarray):
        return payload.astype(payload.dtype.newbyteorder("="))
    if isinstance(payload, np.generic):
        return payload.item()
    if isinstance(payload, dict):
        return {k: expected(v) for k, v in payload.items()}
    if isinstance(payload, (list, tuple)):
        return [expected(v) for v in payload]
    return payload


# ---- round trips ------------------------------------------------------------------------

def test_round_trip_is_bit_exact(tmp_path):
    payload = sample_payload()
    path = tmp_path / "ck.json"
    save_checkpoint(path, payload)
    loaded = load_checkpoint(path)
    assert_same(expected(payload), loaded)
    for arr in loaded["arrays"].values():
        assert arr.flags.writeable and arr.flags.c_contiguous and arr.dtype.isnative
    loaded["params"]["conv1.W"][0, 0, 0, 0] = 5.0              # a writeable copy


def test_document_layout(tmp_path):
    path = tmp_path / "ck.json"
    save_checkpoint(path, {"w": np.array([[1, 2]], np.int16), "x": math.nan, "n": np.float32(0.5),
                           "i": np.int64(3), "b": np.bool_(True), "t": (1, 2)})
    text = path.read_text()
    assert text.isascii() and text.endswith("}\n")
    doc = json.loads(text)
    assert list(doc) == ["format", "version", "nnpy_version", "sha256", "payload"]
    assert doc["format"] == "nnpy-checkpoint" and doc["version"] == 1
    assert doc["nnpy_version"] == nnpy.__version__
    assert doc["payload"]["w"] == {"__ndarray__": True, "dtype": "int16", "shape": [1, 2],
                                   "data": base64.b64encode(b"\x01\x00\x02\x00").decode()}
    assert doc["payload"]["x"] == {"__float__": "nan"}
    assert doc["payload"]["n"] == 0.5 and doc["payload"]["t"] == [1, 2]
    canonical = json.dumps(doc["payload"], sort_keys=True, separators=(",", ":"), allow_nan=False)
    assert doc["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    loaded = load_checkpoint(path)
    assert loaded["i"] == 3 and type(loaded["i"]) is int and loaded["b"] is True


def test_big_array_round_trip(tmp_path):
    big = np.random.default_rng(1).standard_normal((512, 1024)).astype(np.float32)   # 2 MB
    save_checkpoint(tmp_path / "big.json", {"w": big, "idx": np.arange(300_000)})
    loaded = load_checkpoint(tmp_path / "big.json")
    assert loaded["w"].tobytes() == big.tobytes() and loaded["idx"].dtype == np.int64


def test_saving_is_deterministic_and_keeps_key_order(tmp_path):
    payload = sample_payload()
    assert dumps_checkpoint(payload) == dumps_checkpoint(payload)
    assert list(loads_checkpoint(dumps_checkpoint(payload))) == list(payload)


def test_parent_directories_are_created(tmp_path):
    path = tmp_path / "a" / "b" / "c.json"
    save_checkpoint(str(path), {"x": 1})
    assert load_checkpoint(str(path)) == {"x": 1}


@pytest.mark.parametrize("payload, message", [
    ([1, 2], "payload must be a dict"),
    ({"a": np.array(["x"])}, r"payload/a: arrays of dtype <U1 cannot be saved"),
    ({"a": np.array([1], dtype=object)}, "dtype object cannot be saved"),
    ({"a": np.array([1j])}, "dtype complex128 cannot be saved"),
    ({"a": {"b": [np.complex64(1)]}}, r"payload/a/b/0: cannot save a numpy complex64 scalar"),
    ({1: "x"}, r"key 1 is not a string"),
    ({"a": {"__ndarray__": 1}}, r"'__ndarray__' is a reserved key"),
    ({"a": {1, 2}}, r"payload/a: cannot save a set"),
    ({"a": object()}, r"cannot save a object"),
    ({"a": 10**5000}, "cannot save checkpoint"),
])
def test_unsaveable_payloads(tmp_path, payload, message):
    with pytest.raises(CheckpointError, match=message) as info:
        save_checkpoint(tmp_path / "x.json", payload)
    assert str(info.value).startswith(f"{tmp_path / 'x.json'}: ")
    assert not os.listdir(tmp_path)


def test_self_referencing_payload_is_refused(tmp_path):
    loop = []
    loop.append(loop)
    with pytest.raises(CheckpointError, match="nested deeper than"):
        save_checkpoint(tmp_path / "x.json", {"a": loop})


# ---- atomic writes ----------------------------------------------------------------------

@pytest.fixture
def previous(tmp_path):
    path = tmp_path / "ck.json"
    save_checkpoint(path, {"epoch": 1, "w": np.arange(10.0)})
    return path, path.read_bytes()


def assert_untouched(path, before):
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]               # no temp file left behind
    assert load_checkpoint(path)["epoch"] == 1


def test_failed_replace_leaves_previous_file(previous, monkeypatch):
    path, before = previous

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, "I/O error")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(CheckpointError, match=r"writing the checkpoint failed \(I/O error\); "
                                              r"the previous file, if any, is untouched"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert_untouched(path, before)


def test_disk_full_mid_write_leaves_previous_file(previous, monkeypatch):
    path, before = previous
    real_write = os.write
    calls = []

    def half_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        save_checkpoint(path, {"epoch": 2, "w": np.zeros(1000)})
    monkeypatch.undo()
    assert len(calls) == 2
    assert_untouched(path, before)


def test_failed_fsync_leaves_previous_file(previous, monkeypatch):
    path, before = previous

    def fail(fd):
        raise OSError(errno.EIO, "fsync failed")
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(CheckpointError, match="fsync failed"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert_untouched(path, before)


def test_read_only_directory_simulated(previous, monkeypatch):
    path, before = previous

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(ck.tempfile, "mkstemp", denied)
    with pytest.raises(CheckpointError, match=r"ck\.json: writing the checkpoint failed "
                                              r"\(Permission denied\)"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert_untouched(path, before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a 0o500 directory")
def test_read_only_directory_real(previous):
    path, before = previous
    os.chmod(path.parent, 0o500)
    try:
        with pytest.raises(CheckpointError, match="writing the checkpoint failed"):
            save_checkpoint(path, {"epoch": 2})
    finally:
        os.chmod(path.parent, 0o700)
    assert_untouched(path, before)


def test_keyboard_interrupt_mid_write_removes_temp_file(previous, monkeypatch):
    path, before = previous

    def interrupt(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert_untouched(path, before)


def test_overwrite_keeps_file_mode(previous):
    path, _ = previous
    os.chmod(path, 0o600)
    save_checkpoint(path, {"epoch": 3})
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_checkpoint(path) == {"epoch": 3}


# ---- refusing bad files -----------------------------------------------------------------

def document(body: dict, **header) -> str:
    """A checkpoint text with a correct checksum for an arbitrary (possibly bad) payload."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    doc = {"format": "nnpy-checkpoint", "version": 1, "nnpy_version": "0.1.0",
           "sha256": hashlib.sha256(canonical.encode()).hexdigest(), "payload": body}
    doc.update(header)
    return json.dumps(doc)


def array(**fields):
    arr = {"__ndarray__": True, "dtype": "float32", "shape": [2],
           "data": base64.b64encode(b"\0" * 8).decode()}
    arr.update(fields)
    return {"a": arr}


def test_array_helper_is_valid():
    assert loads_checkpoint(document(array()))["a"].tolist() == [0.0, 0.0]


BAD_DOCUMENTS = [
    (document(array(shape="abc")), r"array at payload/a: shape 'abc' is not a list"),
    (document(array(shape=[-1])), r"shape \[-1\] is not a list of at most 32 non-negative"),
    (document(array(shape=[2.0])), r"shape \[2\.0\] is not a list"),
    (document(array(shape=[True, 2])), r"shape \[True, 2\] is not a list"),
    (document(array(shape=[1] * 33)), r"is not a list of at most 32"),
    (document(array(shape=[10**12, 10**12])), r"has 1000000000000000000000000 elements, more "
                                               r"than the 2147483648 allowed"),
    (document(array(shape=[2**30, 4])), r"more than the 2147483648 allowed"),
    (document(array(dtype="object")), r"dtype 'object' is not allowed \(allowed: bool, "),
    (document(array(dtype="<U10")), r"dtype '<U10' is not allowed"),
    (document(array(dtype=["float32"])), r"dtype \['float32'\] is not allowed"),
    (document(array(dtype="complex64")), r"dtype 'complex64' is not allowed"),
    (document(array(data=3)), r"'data' should be 12 base64 characters for shape \[2\] "
                              r"float32, got int"),
    (document(array(data="AAAA")), r"'data' should be 12 base64 characters"),
    (document(array(data="AAAAAAAAAA==")), r"'data' holds 7 bytes, shape \[2\] float32 needs 8"),
    (document(array(data="AAAA$AAAAAA=")), r"'data' is not valid base64"),
    (document(array(data="AAAAéAAAAAA=")), r"'data' is not valid base64"),
    (document(array(shape=[3], dtype="bool", data=base64.b64encode(b"\x00\x02\x01").decode())),
     r"a bool array holds bytes other than 0 and 1"),
    (document(array(__ndarray__=False)), r"expected exactly the keys"),
    (document({"a": {"__ndarray__": True, "dtype": "float32"}}), r"expected exactly the keys"),
    (document({"a": {"__ndarray__": True, "dtype": "float32", "shape": [], "data": "AAAAAA==",
                     "extra": 1}}), r"expected exactly the keys"),
    (document({"a": {"__float__": "NaN"}}), r"payload/a: bad special float"),
    (document({"a": {"__float__": "nan", "x": 1}}), r"bad special float"),
    (document({"a": [{"__float__": 1}]}), r"payload/a/0: bad special float"),
    (document({"a": 1}, format="something-else"), r"not an nnpy checkpoint \(format "
                                                  r"'something-else'"),
    (document({"a": 1}, version=2, nnpy_version="9.0"),
     r"written by a newer nnpy \(checkpoint version 2, nnpy 9\.0\); this nnpy reads version 1"),
    (document({"a": 1}, version="1"), r"bad 'version' '1': expected an integer"),
    (document({"a": 1}, version=0), r"unsupported checkpoint version 0"),
    (document({"a": 1}, sha256=None), r"'sha256' is missing or not a string"),
    (document({"a": 1}, sha256="0" * 64), r"checksum mismatch"),
    (document({"a": 1}, payload=[1]), r"'payload' is missing or not an object"),
    (document({"a": 1}, extra=1), r"unexpected top-level key 'extra'"),
    (document({"__float__": "nan"}), r"'payload' is a tagged value, not a mapping"),
    ('{"format": "nnpy-checkpoint", "version": 1}', r"'payload' is missing"),
    ("[1, 2]", r"not an nnpy checkpoint \(format 'list'"),
    ("", r"not a valid checkpoint: corrupt or truncated JSON"),
    ("{\"a\": NaN}", r"NaN is not valid JSON"),
    ('{"a": 1, "a": 2}', r"duplicate key 'a'"),
    ("[" * 100_000, r"(JSON nested too deeply|corrupt or truncated JSON)"),
    ("[" * 100_000 + "]" * 100_000, r"JSON nested too deeply"),
    ('{"a": ' + "1" * 5000 + "}", r"corrupt or truncated JSON"),
    (document({"a": 1})[:-1] + ', "payload": {}}', r"duplicate key 'payload'"),
]


@pytest.mark.parametrize("text, message", BAD_DOCUMENTS,
                         ids=[f"{i}-{m[:30]}" for i, (_, m) in enumerate(BAD_DOCUMENTS)])
def test_bad_documents_are_refused(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_deeply_nested_payload_with_valid_checksum(tmp_path):
    nested = [1]
    for _ in range(300):
        nested = [nested]
    path = tmp_path / "deep.json"
    path.write_text(document({"a": nested}))
    with pytest.raises(CheckpointError, match="nested deeper than 100 levels"):
        load_checkpoint(path)


def test_corruption_is_detected(tmp_path):
    path = tmp_path / "ck.json"
    save_checkpoint(path, {"w": np.arange(100, dtype=np.float32), "lr": 0.1})
    good = path.read_text()
    data_at = good.index('"data":"') + 20
    flipped = good[:data_at] + ("A" if good[data_at] != "A" else "B") + good[data_at + 1:]
    cases = {"truncated": good[: len(good) // 2],
             "bit flip in base64": flipped,
             "edited value": good.replace('"lr":0.1', '"lr":0.2'),
             "edited checksum": good.replace('"sha256":"', '"sha256":"0')}
    for name, text in cases.items():
        path.write_text(text)
        with pytest.raises(CheckpointError, match=f"^{path}: "):
            load_checkpoint(path)
    path.write_bytes(good.encode()[:100] + b"\xff\xfe" + good.encode()[100:])
    with pytest.raises(CheckpointError, match="not UTF-8"):
        load_checkpoint(path)


def test_missing_unreadable_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match=r"nope\.json: checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.json")
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(tmp_path)
    path = tmp_path / "ck.json"
    save_checkpoint(path, {"w": np.zeros(100)})
    monkeypatch.setattr(ck, "MAX_FILE_BYTES", 100)
    with pytest.raises(CheckpointError, match=r"ck\.json: checkpoint is \d+ bytes, more than "
                                              r"the 100-byte limit"):
        load_checkpoint(path)
