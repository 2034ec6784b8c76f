"""A training step split in two halves on threads of their own (nnpy/engine/batch_split.py) against
the whole batch at once: the same parameters, running statistics, loss and metrics to rounding;
where it must not run; an error in one half."""
import numpy as np
import pytest

from nnpy.engine import batch_split
from nnpy.engine.experiment_config import load_experiment
from nnpy.engine.model import Sequential
from nnpy.engine.trainer import Trainer
from nnpy.errors import ConfigError
from nnpy.kernels import threads
from nnpy.symbols import make_model

pytestmark = pytest.mark.usefixtures("fast_kernels")

RESNET = {"symbol": "resnet", "widths": [4, 8], "blocks": [1, 1], "stem_stride": 2}


@pytest.fixture(autouse=True)
def two_threads():
    if threads.blas_threads() is None:
        pytest.skip("numpy's BLAS is not OpenBLAS: its threads cannot be set, nothing is split")
    get, put = threads.blas_threads()
    before_blas, before_pool = get(), threads.num_threads()
    put(2)
    threads.set_num_threads(2)
    yield
    put(before_blas)
    threads.set_num_threads(before_pool)


def trained(spec, split_batch, batch=40, steps=3, dtype=np.float32, loss="cross_entropy", labels=None):
    """(trainer, [(loss, metrics, n) per step]) after ``steps`` steps on one fixed batch."""
    model = make_model(spec, (1, 12, 12), 5, rng=np.random.default_rng(0), dtype=dtype, model_class=Sequential)
    model.compile(loss=loss, optimizer={"type": "sgd", "lr": 0.1, "momentum": 0.9})
    rng = np.random.default_rng(1)
    x = rng.normal(size=(batch, 1, 12, 12)).astype(dtype)
    y = rng.integers(0, 5, batch) if labels is None else labels
    trainer = Trainer.for_model(model, split_batch=split_batch)
    return trainer, [trainer.train_step(x, y) for _ in range(steps)]


def state(model):
    return {**{k: v.copy() for k, v in model.named_parameters().items()},
            **{f"{layer.name}.{k}": v.copy() for layer in model.walk() for k, v in getattr(layer, "buffers", {}).items()}}


@pytest.mark.parametrize("batch", [40, 37])            # equal halves, and 18 + 19
def test_a_split_step_trains_as_the_whole_batch(batch):
    whole, whole_steps = trained(RESNET, False, batch)
    split, split_steps = trained(RESNET, "auto", batch)
    assert getattr(whole, "_split", None) is None and split._split is not None
    for (loss_a, metrics_a, n_a), (loss_b, metrics_b, n_b) in zip(whole_steps, split_steps):
        assert n_a == n_b == batch and metrics_a == metrics_b
        assert loss_b == pytest.approx(loss_a, rel=1e-5)
    a, b = state(whole.model), state(split.model)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=2e-4, atol=1e-5, err_msg=key)
    assert any(not np.array_equal(a[k], state(trained(RESNET, False, batch, steps=0)[0].model)[k]) for k in a)


def test_in_float64_the_split_gradients_are_the_whole_batch_s():
    """One step in float64: every parameter after it equal to 1e-10 (so the halves' loss shares,
    the parts' BatchNorm sums and counts, the added gradients are the whole batch's math)."""
    whole, _ = trained(RESNET, False, 38, steps=1, dtype=np.float64)
    split, _ = trained(RESNET, True, 38, steps=1, dtype=np.float64)
    a, b = state(whole.model), state(split.model)
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_where_a_step_is_not_split(monkeypatch):
    def splits(spec, mode="auto", batch=40, loss="cross_entropy"):
        model = make_model(spec, (1, 12, 12), 5, rng=np.random.default_rng(0), model_class=Sequential)
        model.compile(loss=loss)
        return batch_split.split_for(model, model.loss, batch, mode)

    no_norm = {"symbol": "alexnet", "widths": [4, 8, 8], "fc": 16}
    assert splits(RESNET) and splits(RESNET, True)
    assert not splits(RESNET, False)                                   # train.split_batch: false
    assert not splits(RESNET, batch=31)                                # halves under 16 samples
    assert not splits(no_norm) and splits(no_norm, True)               # auto: Conv2D and BatchNorm only
    assert not splits({"symbol": "lenet"}, True)                       # Dropout draws random numbers
    threads.set_num_threads(1)
    assert not splits(RESNET)                                          # no thread pool
    threads.set_num_threads(2)
    threads.blas_threads()[1](1)
    assert not splits(RESNET)                                          # one BLAS thread (mpiexec's processes)


def test_a_profiled_model_is_not_split():
    """``nnpy train --profile`` wraps each layer's forward and backward: a replica would call the
    model's own layers, so such a step runs whole."""
    from nnpy.engine.timer import Timer

    trainer, _ = trained(RESNET, "auto", steps=0)
    timer = Timer()
    timer.profile_layers(trainer.model)
    assert not batch_split.split_for(trainer.model, trainer.loss, 40)
    timer.unwrap()
    assert batch_split.split_for(trainer.model, trainer.loss, 40)


def test_an_error_in_one_half_is_the_error_the_whole_batch_gives():
    labels = np.random.default_rng(1).integers(0, 5, 40)
    labels[30] = 7                                                     # in the second half only
    with pytest.raises(ValueError, match=r"target classes must be in \[0, 5\)"):
        trained(RESNET, "auto", labels=labels, steps=1)
    trainer, steps = trained(RESNET, "auto", steps=2)                  # and the next split steps run
    assert trainer._split is not None and len(steps) == 2


def test_train_split_batch_is_checked(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: {symbol: mlp}\ntrain: {split_batch: sometimes}\n")
    with pytest.raises(ConfigError, match="split_batch"):
        load_experiment(path)
    path.write_text("model: {symbol: mlp}\ntrain: {split_batch: false}\n")
    assert load_experiment(path)[0]["train"]["split_batch"] is False
