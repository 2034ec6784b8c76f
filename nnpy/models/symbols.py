"""The old path of ``nnpy.symbols.builtin`` (the built-in model symbols), kept for users."""
from ..symbols.builtin import *  # noqa: F401,F403
