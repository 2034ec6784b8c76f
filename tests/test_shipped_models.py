"""The trained models in data/trained_models: small, inference-only, and they reproduce the
README's test figures exactly (Fashion-MNIST only where its files are on this machine)."""
from pathlib import Path

import pytest

from nnpy.engine.experiment import validate
from nnpy.errors import DataError
from nnpy.io.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "data" / "trained_models"
#: file -> test-split accuracy as printed in the README's results table
README_FIGURES = {"mnist.json": 0.9946, "fashion-mnist.json": 0.9334}
SHARED_FASHION = REPO.parent / "shared" / "data" / "fashion-mnist"


def test_shipped_models_are_small_and_inference_only():
    files = sorted(MODELS.glob("*.json"))
    assert {f.name for f in files} == set(README_FIGURES)
    for f in files:
        assert f.stat().st_size <= 5_000_000, f"{f.name}: {f.stat().st_size} bytes > 5 MB"
        payload = load_checkpoint(f)
        assert "optimizer" not in payload and payload["config"]["data"]["root"] is None, f.name


@pytest.mark.parametrize("name", sorted(README_FIGURES))
def test_readme_figure_reproduces_exactly(name):
    root = SHARED_FASHION if name.startswith("fashion") and SHARED_FASHION.is_dir() else None
    try:
        result = validate(MODELS / name, "test", data_root=root)
    except DataError as exc:        # Fashion-MNIST is not embedded: only where it exists
        if not (name.startswith("fashion") and "not found" in str(exc)):
            raise
        pytest.skip(f"{name}: Fashion-MNIST is not on this machine ({exc})")
    assert result["n"] == 10_000
    assert round(result["accuracy"], 4) == README_FIGURES[name]
