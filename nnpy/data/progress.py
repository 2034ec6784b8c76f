"""Old path, kept so existing imports work; the code lives in nnpy.terminal."""
from ..terminal import BAR_WIDTH, REDRAW_SECONDS, Progress

__all__ = ["BAR_WIDTH", "Progress", "REDRAW_SECONDS"]
