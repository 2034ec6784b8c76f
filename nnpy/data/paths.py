"""Where nnpy keeps its data on disk."""
from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The folder holding the ``nnpy`` package (the repository root in a checkout)."""
    return Path(__file__).resolve().parent.parent.parent


def repo_data_dir(name: str) -> Path:
    """``<repo>/data/<name>``: where embedded and fetched datasets live."""
    return repo_root() / "data" / name
