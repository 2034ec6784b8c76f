"""The trained models, exported with ``nnpy export … .onnx`` and run by onnxruntime on raw
test images, score the accuracy ``nnpy val`` gives to the last digit (the README's figures,
which tests/test_shipped_models.py checks against ``nnpy val``)."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.registry import DATASETS
from tests.test_shipped_models import MODELS, README_FIGURES
from tests.prerequisites import require_module, require_shared

onnx = require_module("onnx")
ort = require_module("onnxruntime")


def load_test_split(name: str):
    """(x, y) of the checkpoint's test split, raw images in [0, 1] (Fashion-MNIST from ../shared/data:
    skipped without it, failed under CI=true)."""
    spec = {"type": "fashion-mnist", "root": str(require_shared("fashion-mnist"))} \
        if name.startswith("fashion") else {"type": "mnist"}
    ds = DATASETS.make(spec).load()
    return ds.x_test, ds.y_test


@pytest.mark.parametrize("name", sorted(README_FIGURES))
def test_onnxruntime_accuracy_equals_nnpy_val(name, tmp_path):
    x, y = load_test_split(name)
    out = tmp_path / "model.onnx"
    result = CliRunner().invoke(main, ["export", str(MODELS / name), str(out)])
    assert result.exit_code == 0, result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    correct = 0
    for i in range(0, len(x), 1000):
        probs = session.run(["probs"], {"input": x[i:i + 1000]})[0]
        assert probs.shape == (len(x[i:i + 1000]), 10)
        correct += int((probs.argmax(axis=1) == y[i:i + 1000]).sum())
    assert len(x) == 10_000
    assert round(correct / len(x), 4) == README_FIGURES[name], correct
