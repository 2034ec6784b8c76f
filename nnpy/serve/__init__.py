"""``nnpy serve``: a local web page to draw a digit or drop a photo and see what a model reads.

    server.py      the HTTP server and its JSON API (standard library ``http.server``)
    static/        the page: one HTML file with plain JavaScript (no build step, works offline)
"""
from .server import MAX_BODY, DigitServer, Models, make_server

__all__ = ["MAX_BODY", "DigitServer", "Models", "make_server"]
