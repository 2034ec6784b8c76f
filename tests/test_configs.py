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


def test_resnet_zero_init_residual_starts_each_block_as_its_shortcut():
    """torchvision's ``zero_init_residual``: the last BatchNorm of each block's main path has
    γ = 0, so at initialization a block with an identity shortcut gives ReLU(x), and the model's
    other weights are drawn as without the option (γ's initializer draws no random numbers)."""
    spec = {"symbol": "resnet", "widths": [4, 8], "blocks": [2, 1]}
    plain = make_model(spec, (1, 12, 12), 10, rng=np.random.default_rng(3))
    zeroed = make_model({**spec, "zero_init_residual": True}, (1, 12, 12), 10, rng=np.random.default_rng(3))
    blocks = [layer for layer in zeroed.layers if type(layer).__name__ == "Residual"]
    assert len(blocks) == 3
    for block in blocks:
        last_bn = block.main.layers[-1]
        assert last_bn.get_config()["gamma_init"] == "zeros" and not last_bn.params["gamma"].any()
        assert block.main.layers[1].params["gamma"].all()         # the first BatchNorm keeps γ = 1
    for name, p in plain.named_parameters().items():
        if not name.endswith(("main.batchnorm_2.gamma",)):
            np.testing.assert_array_equal(zeroed.named_parameters()[name], p, err_msg=name)
    x = np.random.default_rng(0).standard_normal((3, 4, 12, 12)).astype(np.float32)
    np.testing.assert_array_equal(blocks[1].forward(x, training=True), np.maximum(x, 0))
    assert not np.array_equal(plain.layers[4].forward(x, training=True), np.maximum(x, 0))
