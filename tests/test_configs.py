"""Every shipped config loads, validates and builds its model (no data is read)."""
from pathlib import Path

import numpy as np
import pytest

from nnpy.engine.plan import load_plan
from nnpy.symbols import make_model
from tests.tools import made_data

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def test_configs_exist():
    assert len(CONFIGS) >= 15


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_builds(path, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)       # data paths in configs are relative to the repository
    plan = load_plan(path, made_data(path, tmp_path))
    assert plan.config["name"] == path.stem
    model = plan.model
    assert model.flops() > 0 and model.count_params() > 0


def test_resnet_stem_stride_quarters_the_first_stage():
    full = make_model({"symbol": "resnet", "widths": [8, 16], "blocks": [1, 1]}, (1, 28, 28), 10)
    half = make_model({"symbol": "resnet", "widths": [8, 16], "blocks": [1, 1], "stem_stride": 2},
                      (1, 28, 28), 10)
    assert full.layers[0].output_shape == (8, 28, 28) and half.layers[0].output_shape == (8, 14, 14)
    assert half.flops() < full.flops() / 3
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    assert half.forward(x).shape == (2, 10)
