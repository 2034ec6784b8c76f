"""``nnpy serve``'s HTTP API against a real server on a free local port, hostile input included."""
import base64
import http.client
import io
import json
import socket
import threading
import zlib
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from nnpy.digits.server import MAX_BODY, make_server

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "trained_models" / "mnist.json"
DIGIT = REPO / "tests" / "data" / "handwritten" / "d3_000.png"


def _serving(ckpts):
    srv = make_server([str(c) for c in ckpts], "127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def server():
    srv = _serving([MODEL])
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def with_shapes(shapes_model):
    """A server offering the tiny image-folder model (conftest) first, then mnist."""
    srv = _serving([shapes_model, MODEL])
    yield srv
    srv.shutdown()
    srv.server_close()


def request(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheader("Content-Type"), data


def test_page_and_models(server):
    status, ctype, page = request(server, "GET", "/")
    assert status == 200 and ctype.startswith("text/html") and b"<canvas" in page
    assert b"http://" not in page and b"https://" not in page          # nothing from a CDN
    status, _, data = request(server, "GET", "/api/models")
    assert status == 200
    (model,) = json.loads(data)["models"]
    assert model == {"name": "mnist", "classes": [str(i) for i in range(10)], "default": True, "rows": True}


def test_an_image_folder_model_is_listed_by_its_run_with_its_classes(with_shapes):
    status, _, data = request(with_shapes, "GET", "/api/models")
    shapes, mnist = json.loads(data)["models"]
    assert shapes == {"name": "shapes (best)", "classes": ["circle", "square", "triangle"],
                      "default": True, "rows": False}
    assert mnist["name"] == "mnist"


def test_an_image_folder_model_reads_uploads_as_nnpy_demo_does(with_shapes, shapes_model, shape_photo):
    """Its size (16×16, from a 48×48 upload), its channels (colour) and its classes, the same
    answer as ``nnpy demo``; not the digit preprocessing (a 28×28 grey digit: a ShapeError)."""
    from nnpy.digits.reader import predict_files, public

    query = "/api/predict?model=shapes%20(best)&name=triangle.png"
    status, _, data = request(with_shapes, "POST", query, shape_photo.read_bytes())
    assert status == 200, data
    result = json.loads(data)
    seen = Image.open(io.BytesIO(base64.b64decode(result.pop("seen").split(",", 1)[1])))
    assert seen.size == (16, 16) and seen.mode == "RGB"
    (expected,), _ = predict_files([shape_photo], shapes_model)
    expected = json.loads(json.dumps(public(expected)))
    expected["path"] = "triangle.png"
    assert result == expected and set(result["probs"]) == {"circle", "square", "triangle"}


@pytest.mark.parametrize("query, body, words", [
    pytest.param("name=notes.png", b"shopping list", "notes.png: not an image (Pillow cannot identify it)",
                 id="not-an-image"),
    pytest.param("name=big.png", None, "big.png: 5000×4000 pixels is over the limit of 16000000", id="too-big"),
    pytest.param("name=row.png&multi=1", DIGIT.read_bytes(), "--multi reads rows of hand-written digits",
                 id="multi"),
])
def test_an_image_folder_model_refuses_in_one_line(with_shapes, query, body, words):
    if body is None:                                   # 20 MP, a few kB as PNG
        buf = io.BytesIO()
        Image.new("L", (5000, 4000), 255).save(buf, "PNG")
        body = buf.getvalue()
    status, _, data = request(with_shapes, "POST", f"/api/predict?model=shapes%20(best)&{query}", body)
    assert status == 400 and words in json.loads(data)["error"]


def test_predict_is_the_demo_json(server):
    from nnpy.digits.reader import predict_files, public

    status, _, data = request(server, "POST", "/api/predict?name=d3_000.png", DIGIT.read_bytes())
    assert status == 200
    result = json.loads(data)
    assert result.pop("seen").startswith("data:image/png;base64,")
    (expected,), _ = predict_files([DIGIT], MODEL)
    expected = json.loads(json.dumps(public(expected)))
    expected["path"] = "d3_000.png"
    assert result == expected and result["label"] == "3"


def test_predict_a_row(server):
    from tests.handwriting import row_image

    image, truth = row_image(4)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    status, _, data = request(server, "POST", "/api/predict?multi=1", buf.getvalue())
    result = json.loads(data)
    assert status == 200 and set(result) == {"path", "text", "digits"}
    assert len(result["digits"]) == len(truth)
    assert all(d["seen"].startswith("data:image/png") and len(d["box"]) == 4 for d in result["digits"])


def _bomb() -> bytes:
    """A valid PNG header declaring 30000×30000 pixels (900 MP) with almost no data."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + \
            struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) \
        + chunk(b"IEND", b"")


@pytest.mark.parametrize("body, words", [
    (b"this is not a picture", "not an image"),
    (DIGIT.read_bytes()[:200], "truncated"),
    (_bomb(), "decompression bomb"),
    (b"", "empty file"),
])
def test_bad_images_are_400_with_the_demo_message(server, tmp_path, body, words):
    status, ctype, data = request(server, "POST", "/api/predict?name=bad.png", body)
    assert status == 400 and ctype == "application/json"
    error = json.loads(data)["error"]
    assert words in error and error.startswith("bad.png: ") and "\n" not in error
    # the same line nnpy demo prints for the same bytes
    from nnpy.digits.reader import predict_files
    (tmp_path / "bad.png").write_bytes(body)
    _, (failure,) = predict_files([tmp_path / "bad.png"], MODEL)
    assert failure["error"].replace(str(tmp_path / "bad.png"), "bad.png") == error


def test_blank_drawing_says_no_ink(server):
    buf = io.BytesIO()
    Image.new("L", (280, 280), 255).save(buf, "PNG")
    status, _, data = request(server, "POST", "/api/predict?name=drawing.png", buf.getvalue())
    assert status == 400 and "no ink found" in json.loads(data)["error"]


def test_big_body_is_refused_before_it_is_read(server):
    """413 comes back although not one byte of the announced body was sent."""
    sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
    sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\n"
                 + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode())
    reply = b""
    while chunk := sock.recv(4096):                    # the server closes the connection
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.1 413") and b"over the limit" in reply


def test_a_client_that_sends_the_whole_big_body_first_reads_the_413(server):
    """http.client (and requests) send all of the body before reading: the server answers,
    then reads and discards the body, so the client reads the 413, not a broken pipe."""
    body = b"\0" * (12 * 1024 * 1024)
    status, ctype, data = request(server, "POST", "/api/predict?name=big.png", body)
    assert status == 413 and ctype == "application/json"
    assert json.loads(data)["error"] == f"the body is {len(body)} bytes, over the limit of {MAX_BODY}"
    assert request(server, "GET", "/api/models")[0] == 200           # still serving


@pytest.mark.parametrize("method, path, status", [("POST", "/api/models", 404), ("PUT", "/", 405)])
def test_refused_bodies_are_discarded_too(server, method, path, status):
    got, _, data = request(server, method, path, b"x" * (3 * 1024 * 1024))
    assert got == status and "error" in json.loads(data)


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/etc/passwd", 404), ("GET", "/../../../etc/passwd", 404),
    ("GET", "/static/index.html", 404), ("GET", "/%2e%2e/%2e%2e/etc/passwd", 404),
    ("GET", "/api/predict", 404), ("POST", "/api/models", 404), ("DELETE", "/", 405),
    ("POST", "/api/predict?model=nope", 404),
])
def test_unknown_paths_and_methods(server, method, path, status):
    got, _, data = request(server, method, path, b"x" if method == "POST" else None)
    assert got == status and "error" in json.loads(data)
    assert b"root:" not in data


def test_missing_content_length_is_411(server):
    sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
    sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 411")
    sock.close()


def test_many_concurrent_requests_and_a_slow_client(server):
    slow = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
    slow.sendall(b"POST /api/predict HTTP/1.1\r\nContent-Length: 1000\r\n\r\nab")   # and stops
    good = DIGIT.read_bytes()
    bodies = [good, b"junk", good[:300]] * 12
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda b: request(server, "POST", "/api/predict", b)[0], bodies))
    assert statuses == [200, 400, 400] * 12
    slow.close()
    assert request(server, "GET", "/api/models")[0] == 200           # still serving


def test_cli_serve_errors_are_one_line(tmp_path):
    from click.testing import CliRunner
    from nnpy.cli import main

    r = CliRunner().invoke(main, ["serve", "--ckpt", str(tmp_path / "none.json")])
    assert r.exit_code == 2 and "none.json" in r.stderr and len(r.stderr.splitlines()) == 1
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    r = CliRunner().invoke(main, ["serve", "--port", str(busy.getsockname()[1])])
    busy.close()
    assert r.exit_code == 2 and "cannot listen" in r.stderr and len(r.stderr.splitlines()) == 1


def test_cli_serve_warns_off_this_machine(monkeypatch):
    from click.testing import CliRunner
    from nnpy.cli import main
    from nnpy.digits.server import DigitServer

    def stop(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(DigitServer, "serve_forever", stop)
    r = CliRunner().invoke(main, ["serve", "--port", "0", "--host", "127.0.0.2"])
    assert r.exit_code == 0, r.output
    assert "warning: listening on 127.0.0.2" in r.stderr and "http://127.0.0.2:" in r.stdout
    r = CliRunner().invoke(main, ["serve", "--port", "0"])
    assert "warning" not in r.stderr and "models: mnist, fashion-mnist" in r.stdout
