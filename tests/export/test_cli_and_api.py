"""``nnpy export`` by extension (.onnx, .json, anything else), ``Model.export_onnx``, the
metadata of an exported file, and the one-line error when the onnx package is missing."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.export import ExportError, MissingOnnxError
from nnpy.io.checkpoint import load_checkpoint

from .common import ATOL, normalized, run_onnx, softmax64
from tests.prerequisites import require_module, require_shared

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO / "data" / "trained_models" / "mnist.json"
INSTALL_HINT = 'pip install -e ".[onnx]"'


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def no_onnx(monkeypatch):
    """``import onnx`` fails, as when the onnx extra is not installed."""
    monkeypatch.setitem(sys.modules, "onnx", None)


def test_export_onnx_writes_a_checked_model_with_metadata(tmp_path):
    onnx = require_module("onnx")
    require_module("onnxruntime")
    out = tmp_path / "sub" / "mnist.onnx"
    r = run("export", MNIST, out)
    assert r.exit_code == 0, r.output
    assert "mnist.onnx" in r.output and "logits, probs" in r.output
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["config_name"] == "mnist-demo" and props["task"] == "classification"
    assert json.loads(props["class_names"]) == [str(d) for d in range(10)]
    assert json.loads(props["normalization"]) == {"mean": 0.1307, "std": 0.3081}
    assert props["nnpy_version"] == nnpy.__version__
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert [o.name for o in proto.graph.output] == ["logits", "probs"]


def test_export_json_keeps_the_inference_only_checkpoint(tmp_path):
    out = tmp_path / "copy.json"
    r = run("export", MNIST, out)
    assert r.exit_code == 0, r.output
    payload = load_checkpoint(out)
    assert "optimizer" not in payload and payload["config"]["name"] == "mnist-demo"
    assert sorted(payload["model"]) == sorted(load_checkpoint(MNIST)["model"])


@pytest.mark.parametrize("name", ["model.pt", "model.onnx.txt", "model"])
def test_export_refuses_other_extensions_in_one_line(tmp_path, name):
    r = run("export", MNIST, tmp_path / name)
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnpy: error:") and ".onnx" in lines[0] and ".json" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_export_onnx_without_onnx_says_what_to_install(no_onnx, tmp_path):
    r = run("export", MNIST, tmp_path / "m.onnx")
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnpy: error:") and INSTALL_HINT in lines[0], r.output
    assert not (tmp_path / "m.onnx").exists()
    assert run("export", MNIST, tmp_path / "m.json").exit_code == 0     # .json needs nothing extra


def test_model_export_onnx_without_onnx_raises_one_line(no_onnx, tmp_path):
    model = nnpy.Sequential([nnpy.layers.Dense(2)], seed=0)
    model.build((3,))
    with pytest.raises(MissingOnnxError, match=r'pip install -e "\.\[onnx\]"') as info:
        model.export_onnx(tmp_path / "m.onnx")
    assert "\n" not in str(info.value) and isinstance(info.value, nnpy.NnpyError)


def test_model_export_onnx_takes_raw_inputs_with_the_fit_normalization(tmp_path):
    """The model keeps the ``normalize`` given to ``fit``: its graph, like its ``predict``,
    takes raw inputs; a different normalization passed to export is refused."""
    onnx = require_module("onnx")
    require_module("onnxruntime")
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (64, 4)).astype(np.float32)
    y = (x[:, 0] > 5).astype(np.int64)
    stats = {"mean": x.mean(axis=0), "std": x.std(axis=0)}
    model = nnpy.Sequential([nnpy.layers.Dense(8), nnpy.layers.BatchNorm(), nnpy.layers.ReLU(),
                             nnpy.layers.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, normalize=stats)
    path = model.export_onnx(tmp_path / "m.onnx", class_names=["low", "high"])
    out = run_onnx(onnx.load(str(path)), x[:7])
    assert np.abs(out["probs"] - softmax64(model.predict(x[:7]))).max() <= ATOL
    assert np.abs(out["probs"] - softmax64(model.forward(normalized(x[:7], stats)))).max() <= ATOL
    same = model.export_onnx(tmp_path / "same.onnx", normalization=stats)        # the model's own: fine
    assert np.abs(run_onnx(onnx.load(str(same)), x[:7])["probs"] - out["probs"]).max() == 0
    with pytest.raises(ExportError, match="differs from the model's own"):
        model.export_onnx(tmp_path / "other.onnx", normalization={"mean": 0.0, "std": 1.0})


def test_model_compiled_for_regression_outputs_predictions(tmp_path):
    onnx = require_module("onnx")
    require_module("onnxruntime")
    model = nnpy.Sequential([nnpy.layers.Dense(8), nnpy.layers.Tanh(), nnpy.layers.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.build((2,))
    x = np.random.default_rng(0).random((7, 2), dtype=np.float32)
    out = run_onnx(onnx.load(str(model.export_onnx(tmp_path / "r.onnx"))), x)
    assert list(out) == ["predictions"]
    assert np.abs(out["predictions"] - model.predict(x)).max() <= ATOL
