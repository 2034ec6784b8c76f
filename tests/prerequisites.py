"""What some tests need beyond nnpy's own dependencies, and what happens when it is missing.

On a developer's machine a missing prerequisite (PyTorch for the recurrent cross-checks,
matplotlib for the charts, the datasets in ../shared/data) skips the test. Under ``CI=true`` it
fails instead: ``.ci/run`` installs all of them, so a skip there would be a check that silently
stopped running.
"""
import importlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str):
    """Skip the running test (fail it under CI=true) because ``reason``."""
    if IN_CI:
        pytest.fail(f"{reason}; under CI=true this check must run, not skip", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_module(name: str):
    """The imported module ``name``, or skip (fail under CI=true) when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"{name} is not installed (.ci/run installs it)")


def require_shared(*parts: str) -> Path:
    """``../shared/data/<parts>`` when it exists, or skip (fail under CI=true)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        missing(f"{path} is not present")
    return path
