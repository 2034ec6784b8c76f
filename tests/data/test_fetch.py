import functools
import http.server
import threading

import numpy as np
import pytest

from nnpy.data import FashionMNIST, fetch
from nnpy.data.fetch import SOURCES, md5sum
from nnpy.errors import DataError

from ..prerequisites import missing

FILES = list(SOURCES["fashion-mnist"][1])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """``serve(folder)`` -> base URL of an HTTP server on 127.0.0.1 for ``folder``."""
    servers = []

    def start(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fashion(shared_data):
    folder = shared_data / "fashion-mnist"
    if not all((folder / f).is_file() for f in FILES):
        missing("Fashion-MNIST is not in ../shared/data")
    return folder, {f: md5sum(folder / f) for f in FILES}


def test_canonical_checksums():
    url, md5 = SOURCES["fashion-mnist"]
    assert url == "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    assert md5["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert md5["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"


def test_fetch_lands_verified_files(tmp_path, serve, fashion):
    folder, checksums = fashion
    dest = tmp_path / "fashion-mnist"
    seen = []
    out = fetch("fashion-mnist", dest=dest, base_url=serve(folder), checksums=checksums,
                progress=lambda name, done, total: seen.append(name))
    assert out == dest and sorted(p.name for p in dest.iterdir()) == sorted(FILES)
    assert {f: md5sum(dest / f) for f in FILES} == checksums
    assert set(seen) == set(FILES)
    ds = FashionMNIST(root=dest).load(limit=5)
    assert ds.x_train.shape == (5, 1, 28, 28)
    # a second fetch finds the files whole and downloads nothing
    fetch("fashion-mnist", dest=dest, base_url="http://127.0.0.1:9/", checksums=checksums)


@pytest.mark.parametrize("dest_exists", [False, True])
def test_corrupted_file_leaves_nothing(tmp_path, serve, fashion, dest_exists):
    folder, checksums = fashion
    served = tmp_path / "served"
    served.mkdir()
    for f in FILES:
        (served / f).symlink_to(folder / f)
    bad = "t10k-labels-idx1-ubyte.gz"           # the last one: three good files come first
    data = bytearray((folder / bad).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (served / bad).unlink()
    (served / bad).write_bytes(bytes(data))
    dest = tmp_path / "dest"
    if dest_exists:
        dest.mkdir()
    with pytest.raises(DataError, match="MD5") as info:
        fetch("fashion-mnist", dest=dest, base_url=serve(served), checksums=checksums)
    assert bad in str(info.value) and "\n" not in str(info.value)
    if dest_exists:
        assert list(dest.iterdir()) == []       # no file, no temporary
    else:
        assert not dest.exists()


def test_unreachable_server_and_unknown_name(tmp_path, serve):
    empty = tmp_path / "empty"
    empty.mkdir()
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="download failed"):
        fetch("fashion-mnist", dest=dest, base_url=serve(empty))   # 404 for every file
    assert not dest.exists()
    with pytest.raises(DataError, match="did you mean 'fashion-mnist'"):
        fetch("fashion_mnist", dest=dest)
