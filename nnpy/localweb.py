"""What nnpy's local web pages share: a JSON-speaking request handler and a threading server
that survives clients who hang up, standard library ``http.server`` only.

``nnpy serve`` (nnpy/digits/server.py), ``nnpy learn`` (nnpy/learn) and ``nnpy train --watch``
(nnpy/watch) each subclass ``JSONHandler`` with their own ``do_GET`` / ``do_POST``, and
``LocalServer`` with their own ``page_package`` (the package whose ``static/index.html`` they serve).
"""
from __future__ import annotations

import json
import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from .errors import NnpyError

#: Seconds a client may take to send its request.
TIMEOUT = 20
#: After refusing a body, at most this many bytes of it are read and thrown away, waiting
#: at most ``LINGER_WAIT`` seconds for each piece (as nginx's lingering close).
LINGER_BYTES = 64 * 1024 * 1024
LINGER_WAIT = 5
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ServeError(NnpyError):
    """A local page cannot start (a checkpoint, the address)."""


class JSONHandler(BaseHTTPRequestHandler):
    """Answers with bytes or JSON, reads bounded bodies, refuses politely.

    ``max_body``: request bodies over this many bytes are refused (413) unread;
    ``log_name``: how the server's log lines begin (``nnpy serve``).
    """

    server_version = "nnpy"
    timeout = TIMEOUT
    protocol_version = "HTTP/1.1"
    max_body = 10 * 1024 * 1024
    log_name = "nnpy"

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": " ".join(str(message).split())})

    def _get(self, api: dict) -> None:
        """A GET or HEAD: the server's page at ``/``, the JSON of ``api[path]()`` at one of its
        paths, else a 404."""
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif path in api:
            self._json(200, api[path]())
        else:
            self._error(404, f"no such page: {path[:100]}")

    def _answer(self, compute, errors: dict) -> None:
        """200 with the JSON of ``compute()``; an exception of a type in ``errors`` ({type:
        status}, the first that matches) is the user's and answered with that status and its
        message; anything else is a bug: its traceback is logged and the answer is a 500."""
        try:
            self._json(200, compute())
        except tuple(errors) as exc:
            self._error(next(status for kind, status in errors.items() if isinstance(exc, kind)), str(exc))
        except Exception as exc:                  # a bug, not the user's: log it, go on
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"internal error ({type(exc).__name__}); see the server's log")

    def _body(self, what: str = "the image") -> bytes | None:
        """The request body, or None after answering 411 / 400 / 413."""
        length = self.headers.get("Content-Length")
        if length is None:
            self._refuse(411, f"send {what} as the body, with a Content-Length")
            return None
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            self._refuse(400, f"bad Content-Length {length[:40]!r}")
            return None
        if n > self.max_body:
            self._refuse(413, f"the body is {n} bytes, over the limit of {self.max_body}")
            return None
        return self.rfile.read(n)

    def _refuse(self, status: int, message: str) -> None:
        """Answer an error without reading the body, then close the connection lingeringly."""
        self.close_connection = True
        self._error(status, message)
        self.linger()

    def linger(self) -> None:
        """Close lingeringly, as nginx does: shut our side (the client reads the answer to
        its end), then read and throw away what the client still sends, up to the body's
        announced length and ``LINGER_BYTES``, until it stops for ``LINGER_WAIT`` seconds
        or hangs up. Closing with unread bytes would reset the connection instead: a
        client still sending its body would see a broken pipe, never the answer."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_WAIT)
            announced = self.headers.get("Content-Length", "")
            left = min(int(announced), LINGER_BYTES) if announced.isdigit() else LINGER_BYTES
            while left > 0 and (piece := self.rfile.read1(min(left, 65536))):
                left -= len(piece)
        except OSError:                    # the client hung up or went quiet: done either way
            pass

    def do_PUT(self) -> None:
        self._refuse(405, f"method {self.command} is not supported")

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    def log_message(self, format, *args) -> None:     # noqa: A002 (the stdlib's name)
        if self.server.verbose:
            sys.stderr.write(f"{self.log_name}: {self.address_string()} {format % args}\n")


class LocalServer(ThreadingHTTPServer):
    """A threading server whose request threads are daemons; ``verbose`` logs every request.
    ``page_package``: the package whose ``static/index.html`` is ``page``, the page at ``/``."""

    daemon_threads = True
    log_name = "nnpy"
    page_package: str       # each page's server names its package

    def __init__(self, address, handler, verbose: bool = False):
        self.verbose = verbose
        self.page = resources.files(self.page_package).joinpath("static", "index.html").read_bytes()
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up or stalls costs one log line; anything else is logged
        with its traceback. Serving goes on either way."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):                       # reset, broken pipe, timeout
            if self.verbose:
                sys.stderr.write(f"{self.log_name}: {client_address[0]}: connection dropped ({exc})\n")
            return
        sys.stderr.write(f"{self.log_name}: request from {client_address[0]} failed:\n")
        traceback.print_exc(file=sys.stderr)


def listen(server_class, host: str, port: int, *args, **kwargs):
    """``server_class((host, port), *args, **kwargs)`` (port 0: any free port); an address
    that cannot be used is a ``ServeError`` in one line."""
    if ":" in host:                                   # an IPv6 address
        server_class.address_family = socket.AF_INET6
    try:
        return server_class((host, port), *args, **kwargs)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                         f"(choose another --port or --host)") from None


def url_of(server) -> str:
    """``http://127.0.0.1:8000/`` for a listening server (IPv6 hosts in brackets)."""
    host, port = server.server_address[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"
