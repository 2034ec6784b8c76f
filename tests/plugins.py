"""Import the example plugins once per test session, as ``nnpy … --plugin FILE.py`` would.

Registering a layer twice is an error, so every test that needs an example's layers
goes through ``load_plugin``, which imports each file only once.
"""
import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_plugin(relative: str):
    """The module of ``examples/<relative>`` (e.g. ``"plugins/layernorm.py"``), imported once."""
    path = EXAMPLES / relative
    name = "nnpy_example_" + path.stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
