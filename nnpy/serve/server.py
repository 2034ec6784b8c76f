"""Old path, kept so existing imports work; the code lives in nnpy.digits.server."""
from ..digits.server import (MAX_BODY, MAX_PIXELS, MAX_WORKERS, RUN_CHECKPOINTS, DigitServer,
                             Handler, Models, make_server, menu_name, read_upload, seen_png)

__all__ = ["DigitServer", "Handler", "MAX_BODY", "MAX_PIXELS", "MAX_WORKERS", "Models",
           "RUN_CHECKPOINTS", "make_server", "menu_name", "read_upload", "seen_png"]
