import gzip

import numpy as np
import pytest

from nnpy.data.idx import read_idx, write_idx
from nnpy.errors import DataError


@pytest.mark.parametrize("name", ["a-idx3-ubyte.gz", "a-idx3-ubyte"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, name, dtype):
    a = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, a)
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype and b.dtype.isnative
    np.testing.assert_array_equal(a, b)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_gzip_detected_by_magic_not_name(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    raw = write_idx(tmp_path / "labels.gz", a, compress=False)      # raw despite .gz
    packed = write_idx(tmp_path / "labels.idx", a, compress=True)   # gzip despite no .gz
    np.testing.assert_array_equal(read_idx(raw), a)
    np.testing.assert_array_equal(read_idx(packed), a)


def _header(code=0x08, dims=(3,)):
    return bytes([0, 0, code, len(dims)]) + np.asarray(dims, ">u4").tobytes()


@pytest.mark.parametrize("payload, words", [
    (b"", "shorter than"),
    (b"\x00\x00", "shorter than"),
    (b"\x01\x02\x08\x01" + b"\x00" * 8, "magic"),
    (_header(code=0x07) + b"abc", "type code 0x07"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (bytes([0, 0, 8, 3]) + b"\x00\x00\x00\x02", "header truncated"),
    (_header(dims=(3,)) + b"ab", "truncated"),
    (_header(dims=(3,)) + b"abcd", "trailing bytes"),
    (_header(code=0x0C, dims=(2, 2)) + b"\x00" * 15, "truncated"),
])
@pytest.mark.parametrize("compress", [False, True])
def test_malformed_raises_data_error_naming_file(tmp_path, payload, words, compress):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(DataError, match=words) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_corrupt_gzip_and_missing_file(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(_header() + b"abc")[:-6])
    with pytest.raises(DataError, match="broken.gz"):
        read_idx(path)
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "absent")
