"""The trained models in data/trained_models: small, inference-only, and they reproduce the
README's test figures exactly (Fashion-MNIST from ../shared/data: skipped without it, except
under CI=true, where it fails)."""
from pathlib import Path

import pytest

from nnpy.engine.evaluate import evaluate_checkpoint
from nnpy.io.checkpoint import load_checkpoint

from .prerequisites import require_shared

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "data" / "trained_models"
#: file -> test-split accuracy as printed in the README's results table
README_FIGURES = {"mnist.json": 0.9946, "fashion-mnist.json": 0.9412, "fashion-mnist-full.json": 0.9507}


def test_shipped_models_are_small_and_inference_only():
    files = sorted(MODELS.glob("*.json"))
    assert {f.name for f in files} == set(README_FIGURES)
    for f in files:
        assert f.stat().st_size <= 5_000_000, f"{f.name}: {f.stat().st_size} bytes > 5 MB"
        payload = load_checkpoint(f)
        assert "optimizer" not in payload and payload["config"]["data"]["root"] is None, f.name


@pytest.mark.parametrize("name", sorted(README_FIGURES))
def test_readme_figure_reproduces_exactly(name):
    # Fashion-MNIST is not embedded in the repository: it is read from ../shared/data
    root = require_shared("fashion-mnist") if name.startswith("fashion") else None
    result = evaluate_checkpoint(MODELS / name, "test", data_root=root)
    assert result["n"] == 10_000
    assert round(result["accuracy"], 4) == README_FIGURES[name]
