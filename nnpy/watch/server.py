"""The page of ``nnpy train --watch``: a small HTTP server on a daemon thread beside the run.

    GET /            the page (``static/index.html``), which asks for the run every half second
    GET /api/run     ``Board.snapshot()``: info, status, step points, epochs, latest

The server only reads the board; training never waits for it, and the thread ends with the
process (a run that finishes takes its page with it).
"""
from __future__ import annotations

import threading

from ..localweb import JSONHandler, LocalServer, listen
from .board import Board


class WatchHandler(JSONHandler):
    server_version = "nnpy-watch"
    max_body = 0
    log_name = "nnpy train --watch"

    def do_GET(self) -> None:
        self._get({"/api/run": self.server.board.snapshot})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._refuse(405, "the watch page only reads: GET / or GET /api/run")


class WatchServer(LocalServer):
    """A threading server holding the page and the board it shows."""

    log_name = "nnpy train --watch"
    page_package = "nnpy.watch"

    def __init__(self, address, board: Board, verbose: bool = False):
        self.board = board
        super().__init__(address, WatchHandler, verbose)


def start_watch_server(board: Board, host: str = "127.0.0.1", port: int = 8000) -> WatchServer:
    """A ``WatchServer`` for ``board`` on ``host:port`` (0: any free port), already serving
    on a daemon thread; an address that cannot be used is a one-line ``ServeError``."""
    server = listen(WatchServer, host, port, board)
    threading.Thread(target=server.serve_forever, name="nnpy-watch", daemon=True).start()
    return server
