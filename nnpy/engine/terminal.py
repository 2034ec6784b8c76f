"""Old path, kept so existing imports work; the code lives in nnpy.terminal."""
from ..terminal import INDENT, SEP, fit_progress, terminal_width, wrap_fields, wrap_line

__all__ = ["INDENT", "SEP", "fit_progress", "terminal_width", "wrap_fields", "wrap_line"]
