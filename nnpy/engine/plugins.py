"""``--plugin FILE.py``: the one way a user's code enters a command.

A plugin is a Python file that registers layers, losses, metrics, symbols, datasets (any of
the registries) at import; configs then name them like built-ins. Configs and checkpoints
stay data: neither can name code to import, so a command that needs a user's layer is given
the file on its command line.
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path

from ..errors import NnpyError


class PluginError(NnpyError):
    """A plugin file is missing or fails while it is imported."""


_loaded: dict[str, object] = {}     # resolved path -> module (a file is imported once per process)


def load_plugins(paths) -> list:
    """Import each file of ``paths`` (once per process); return the modules."""
    return [_load(Path(p)) for p in paths]


def _load(path: Path):
    if not path.is_file():
        raise PluginError(f"--plugin {path}: no such file")
    if path.suffix != ".py":
        raise PluginError(f"--plugin {path}: a plugin is a Python file (.py)")
    key = str(path.resolve())
    if key in _loaded:
        return _loaded[key]
    name = f"nnpy_plugin_{path.stem}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise PluginError(f"--plugin {path}: {_where(exc, key)}{type(exc).__name__}: {exc}") from None
    _loaded[key] = module
    return module


def _where(exc: BaseException, filename: str) -> str:
    """``line 12: `` -- the last line of the plugin file on the failing call path."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"line {exc.lineno}: "
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return f"line {lines[-1]}: " if lines else ""
