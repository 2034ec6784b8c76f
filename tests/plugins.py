"""Import the example plugins as ``nnpy … --plugin FILE.py`` does (``nnpy.engine.plugins``).

Registering a layer twice is an error; the plugin loader imports each file once per process,
so a test may both import a plugin here and pass it to an in-process CLI run with --plugin.
"""
from pathlib import Path

from nnpy.engine.plugins import load_plugins

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_plugin(relative: str):
    """The module of ``examples/<relative>`` (e.g. ``"plugins/layernorm.py"``), imported once."""
    return load_plugins([EXAMPLES / relative])[0]
