"""``nnpy train --watch [PORT]``: a local page that shows a run as it trains -- the loss and
metric per step and per epoch, the learning rate, each layer's gradient norm, the time per
phase.

    board.py      Board (the newest points, bounded) and WatchCallback (writes it, never waits)
    server.py     the page's HTTP server on a daemon thread (standard library ``http.server``)
    static/       the page: one HTML file with plain JavaScript
"""
from .board import Board, WatchCallback
from .server import WatchServer, start_watch_server

__all__ = ["Board", "WatchCallback", "WatchServer", "start_watch_server"]
