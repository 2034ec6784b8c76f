"""Every shipped config's model (random weights) and both trained models give, through
onnxruntime, what nnpy's forward gives: |difference| <= 1e-5 on batches of 7 and of 1."""
from pathlib import Path

import numpy as np
import pytest

from nnpy.engine.checkpoint_content import plan_from_checkpoint, stats_of
from nnpy.engine.plan import load_plan
from nnpy.errors import DataError
from nnpy.export import to_onnx
from nnpy.registry import DATASETS
from tests.tools import made_data

from .common import ATOL, expected_outputs, randomize_batchnorm, random_inputs, run_onnx, worst_differences
from tests.prerequisites import require_module, require_shared

require_module("onnx")
require_module("onnxruntime")

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))
SHIPPED = sorted((REPO / "data" / "trained_models").glob("*.json"))
SHARED_FASHION = REPO.parent / "shared" / "data" / "fashion-mnist"
REGRESSION_LOSSES = ("mse", "mae", "huber")


def config_stats(normalize, input_shape, rng) -> dict | None:
    """The config's numbers; for ``auto``, random per-feature (tabular) or scalar (images) stats."""
    if not normalize:
        return None
    if normalize != "auto":
        return {"mean": normalize["mean"], "std": normalize["std"]}
    shape = input_shape if len(input_shape) == 1 else ()
    return {"mean": rng.normal(0.0, 1.0, shape).tolist(), "std": rng.uniform(0.5, 2.0, shape).tolist()}


def task_of(cfg: dict) -> str:
    loss = cfg["loss"] if isinstance(cfg["loss"], str) else cfg["loss"]["type"]
    return "regression" if loss in REGRESSION_LOSSES else "classification"


def test_every_config_is_covered():
    assert len(CONFIGS) >= 13 and len(SHIPPED) == 3


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_model_matches_onnxruntime(path, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)       # data paths in configs are relative to the repository
    plan = load_plan(path, made_data(path, tmp_path))
    cfg, model, rng = plan.config, plan.model, np.random.default_rng(0)
    has_batchnorm = randomize_batchnorm(model, rng) > 0
    assert has_batchnorm == any(layer.type_name == "BatchNorm" for layer in model.walk())
    stats, task = config_stats(cfg["data"]["normalize"], model.input_shape, rng), task_of(cfg)
    proto = to_onnx(model, normalization=stats, name=cfg["name"], task=task)
    worst = worst_differences(model, proto, random_inputs(model, 7, rng), stats, task)
    assert worst["probs" if task == "classification" else "predictions"] <= ATOL, worst


def test_input_normalization_is_inside_the_graph():
    """Leaving the stats out changes the outputs: the parity above depends on them."""
    plan = load_plan(REPO / "configs" / "mlp.yaml", [])
    cfg, model, rng = plan.config, plan.model, np.random.default_rng(0)
    stats = config_stats(cfg["data"]["normalize"], model.input_shape, rng)
    x = random_inputs(model, 7, rng)
    assert worst_differences(model, to_onnx(model, normalization=stats), x, stats)["probs"] <= ATOL
    unnormalized = run_onnx(to_onnx(model), x)["logits"]
    assert np.abs(unnormalized - expected_outputs(model, x, stats)["logits"]).max() > 0.1


def real_test_images(cfg: dict, n: int) -> np.ndarray | None:
    """The first ``n`` test images of the checkpoint's dataset, or None where its files are absent."""
    name = cfg["data"]["dataset"]
    spec = {"type": name}
    if name == "fashion-mnist" and SHARED_FASHION.is_dir():
        spec["root"] = str(SHARED_FASHION)
    try:
        return DATASETS.make(spec).load(limit=n).x_test
    except DataError:
        return None


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_model_matches_onnxruntime(path):
    plan, payload = plan_from_checkpoint(path)
    model, cfg, stats = plan.model, plan.config, stats_of(payload)
    x = real_test_images(cfg, 7)
    if x is None:               # no Fashion-MNIST files here: random images in [0, 1] instead
        x = random_inputs(model, 7, np.random.default_rng(0))
    proto = to_onnx(model, normalization=stats, class_names=plan.data.class_names, name=cfg["name"])
    worst = worst_differences(model, proto, x, stats)
    assert worst["probs"] <= ATOL, worst
