"""The HTTP server of ``nnpy serve``: one page and a small JSON API, standard library only.

    GET  /                the page (``static/index.html``: HTML and plain JavaScript)
    GET  /api/models      {"models": [{"name", "classes", "default", "rows"}, …]}
                          (rows: whether the model reads a row of digits, multi=1)
    POST /api/predict     body: the bytes of an image file
                          query: model=NAME (default: the first), multi=1 (a row of digits),
                          name=FILE (only to name the image in error messages)
                          → the JSON object ``nnpy demo --json`` prints for that image, read
                          as ``nnpy demo`` reads it with that model, each digit with "seen": a
                          PNG data URL of what the model was given (the 28×28 digit, or the
                          image an image-folder model reads, at its size and channels)

Errors are ``{"error": "<one line>"}``: 400 for an image that cannot be read (the line
``nnpy demo`` prints) or a bad query, 404 for any other path or an unknown model, 405 for
other methods, 411 without a Content-Length, 413 when the body is over ``MAX_BODY``
(answered before a byte of it is read), 500 if the server itself fails (logged; it
keeps serving). A refused request's body is then read and thrown away (``linger``), so
that a client that sends all of it before reading, as ``http.client`` does, reads the answer. Nothing from the file system is ever served: the page is read once,
at start, from the package.
"""
from __future__ import annotations

import base64
import io
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

from ..errors import DataError
from ..localweb import LOCAL_HOSTS, JSONHandler, LocalServer, ServeError, listen
from .reader import DigitReader, public

#: Request bodies over this many bytes are refused (413) unread.
MAX_BODY = 10 * 1024 * 1024
#: Uploaded images over this many pixels are refused (400), below nnpy demo's limit.
MAX_PIXELS = 16_000_000
#: At most this many images are decoded and read at once; more requests wait.
MAX_WORKERS = 4
#: The names training gives a run's checkpoints: they say which of its checkpoints, not which model.
RUN_CHECKPOINTS = ("best", "last")


def seen_png(image: np.ndarray) -> str:
    """A ``data:image/png;base64,…`` URL of an image in [0, 1]: ``(H, W)`` or ``(1, H, W)``
    grey, ``(3, H, W)`` colour."""
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    if pixels.ndim == 3:
        pixels = pixels[0] if pixels.shape[0] == 1 else np.moveaxis(pixels, 0, -1)   # CHW -> HWC
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def menu_name(path, reader: DigitReader) -> str:
    """How the page lists a checkpoint: its file's name (``mnist`` for ``mnist.json``), or,
    for a file named as training names them (``best.json``, ``last.json``), its run's name
    with the file's: ``shapes (best)``."""
    stem = Path(path).stem
    if stem not in RUN_CHECKPOINTS:
        return stem
    run = reader.config.get("name") or Path(path).resolve().parent.name
    return f"{run} ({stem})"


def read_upload(reader: DigitReader, body: bytes, image_name: str, multi: bool) -> dict:
    """``nnpy demo --json``'s object for an uploaded image file ``body``, read as ``nnpy
    demo`` reads a file with that model (``DigitReader.read``: an image-folder model's
    size, channels and preprocessing, or the digits found in the grey levels), with "seen":
    what the model was given, per digit of a row."""
    result = reader.read(image_name, data=body, multi=multi, keep_stages=True, max_pixels=MAX_PIXELS)
    out = public(result)
    if "digits" in out:
        for d, digit in zip(out["digits"], result["stages"].digits):
            d["seen"] = seen_png(digit)
    else:
        out["seen"] = seen_png(result["seen"] if "seen" in result else result["stages"].digit)
    return out


class Models:
    """The readers the page can choose from, by name, in menu order (each thread-safe)."""

    def __init__(self, ckpts: list):
        self.readers: dict[str, DigitReader] = {}
        for path in ckpts:
            reader = DigitReader(path)
            name = menu_name(path, reader)
            if name in self.readers:
                name = f"{Path(path).parent.name}/{name}"
            k, base = 2, name
            while name in self.readers:
                name, k = f"{base}-{k}", k + 1
            self.readers[name] = reader
        if not self.readers:
            raise ServeError("nnpy serve: no model to serve (give --ckpt FILE)")

    def listing(self) -> dict:
        first = next(iter(self.readers))
        return {"models": [{"name": n, "classes": r.names, "default": n == first, "rows": r.reads_rows}
                           for n, r in self.readers.items()]}

    def read(self, name: str | None, body: bytes, image_name: str, multi: bool) -> dict:
        """``read_upload`` with the model ``name`` (None: the first)."""
        return read_upload(self.readers[name or next(iter(self.readers))], body, image_name, multi)


def _clean_name(raw: str) -> str:
    """An upload's name for messages: printable, at most 80 characters."""
    name = "".join(c for c in raw if c.isprintable())[:80]
    return name or "upload"


class Handler(JSONHandler):
    """Routes the page's requests; ``server.models``, ``server.page``, ``server.workers``."""

    server_version = "nnpy-serve"
    max_body = MAX_BODY
    log_name = "nnpy serve"

    def do_GET(self) -> None:
        self._get({"/api/models": self.server.models.listing})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/api/predict":
            self._refuse(404, f"no such page: {url.path[:100]}")
            return
        body = self._body()
        if body is None:
            return
        query = parse_qs(url.query)
        model = query.get("model", [None])[0]
        multi = query.get("multi", ["0"])[0] in ("1", "true", "yes")
        name = _clean_name(query.get("name", ["upload"])[0])
        if model is not None and model not in self.server.models.readers:
            self._error(404, f"unknown model {model!r}; available: "
                             f"{', '.join(self.server.models.readers)}")
            return
        with self.server.workers:
            self._answer(lambda: self.server.models.read(model, body, name, multi), {DataError: 400})


class DigitServer(LocalServer):
    """A threading server holding the models, the page and the worker limit."""

    log_name = "nnpy serve"
    page_package = "nnpy.digits"

    def __init__(self, address, models: Models, verbose: bool = False):
        self.models = models
        self.workers = threading.BoundedSemaphore(MAX_WORKERS)
        super().__init__(address, Handler, verbose)


def make_server(ckpts: list, host: str = "127.0.0.1", port: int = 8000,
                verbose: bool = False) -> DigitServer:
    """A ``DigitServer`` on ``host:port`` (0: any free port) serving ``ckpts``."""
    return listen(DigitServer, host, port, Models(ckpts), verbose)
