"""Old path, kept so existing imports work; the code lives in nnpy.digits.server (``nnpy serve``:
the HTTP server of the digit reader and its page) and nnpy.localweb (what every local page shares)."""
from . import http  # noqa: F401  (nnpy.serve.http was loaded with the package, as before)
from .server import MAX_BODY, DigitServer, Models, make_server

__all__ = ["MAX_BODY", "DigitServer", "Models", "make_server"]
