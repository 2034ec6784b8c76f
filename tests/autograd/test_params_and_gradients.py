"""A parameter used as ``self.params[key]`` in a Tensor forward trains, and a parameter that gets
no gradient is named in one warning line (any layer type, ``fit`` and ``nnpy train``)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnpy
from nnpy.autograd import AutogradLayer
from nnpy.layers import Dense, Layer


class Shift(AutogradLayer):
    """y = x + beta, beta read through ``self.params`` (an array before: it never trained)."""

    def build(self, input_shape):
        self.add_param("beta", input_shape[-1:], "zeros")
        return input_shape

    def forward(self, x, training=False):
        return x + self.params["beta"]


class Unused(AutogradLayer):
    """y = x; ``gamma`` takes no part in the output (its array is read, so it cannot train)."""

    def build(self, input_shape):
        self.add_param("gamma", input_shape[-1:], "ones")
        return input_shape

    def forward(self, x, training=False):
        return x * self.params["gamma"].data


class ForgetfulBias(Layer):
    """A hand-written y = x + b whose backward forgets to fill grads['b']."""

    def build(self, input_shape):
        self.add_param("b", input_shape[-1:], "zeros")
        return input_shape

    def forward(self, x, training=False):
        return x + self.params["b"]

    def backward(self, grad_y):
        return grad_y


def data(n=64, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def fit(layers, epochs=2):
    model = nnpy.Sequential(layers, seed=0)
    model.compile(optimizer={"type": "sgd", "lr": 0.1}, loss="cross_entropy")
    model.fit(*data(), epochs=epochs, batch_size=16, verbose=0)
    return model


def test_params_in_a_tensor_forward_is_the_trained_tensor():
    layer = Shift()
    layer.initialize((3,), rng=np.random.default_rng(0))
    assert isinstance(layer.params["beta"], np.ndarray)            # outside forward: the array
    x = np.ones((2, 3), np.float32)
    layer.forward(x, training=True)
    layer.backward(np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    np.testing.assert_array_equal(layer.grads["beta"], [5, 7, 9])  # was [0, 0, 0]
    assert isinstance(layer.params["beta"], np.ndarray) and set(layer.params) == {"beta"}
    assert nnpy.gradcheck(layer, (3,)).passed                        # was relative error 1.0
    model = fit([Dense(4), Shift(), Dense(2)])
    assert np.abs(model.layers[1].params["beta"]).sum() > 0       # it trained


def test_a_parameter_without_a_gradient_is_one_warning_line(capsys):
    fit([Dense(4), Shift(), Dense(2)])
    assert "warning" not in capsys.readouterr().err                # every parameter has a gradient
    fit([Dense(4), Unused(name="unused"), ForgetfulBias(name="forgetful"), Dense(2)], epochs=3)
    lines = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert lines == [
        "nnpy: warning: layer 'unused' (Unused): parameter 'gamma' got no gradient in any step of the first "
        "epoch, so training leaves it as it was; compute forward's output from self.param('gamma') or "
        "self.params['gamma'] (an array taken from it with .data or numpy does not train), or remove the parameter",
        "nnpy: warning: layer 'forgetful' (ForgetfulBias): parameter 'b' got no gradient in any step of the "
        "first epoch, so training leaves it as it was; its backward must fill self.grads['b'] with dL/db"]


def test_a_second_fit_does_not_repeat_the_warning(capsys):
    model = fit([Dense(4), ForgetfulBias(name="forgetful"), Dense(2)], epochs=1)
    model.fit(*data(), epochs=2, batch_size=16, verbose=0)
    assert capsys.readouterr().err.count("warning: layer 'forgetful'") == 1


PLUGIN = '''
from nnpy import register_layer
from nnpy.autograd import AutogradLayer


@register_layer("FrozenShiftForTests")
class FrozenShift(AutogradLayer):
    def build(self, input_shape):
        self.add_param("beta", input_shape[-1:], "zeros")
        self.add_param("unused", (1,), "zeros")
        return input_shape

    def forward(self, x, training=False):
        return x + self.params["beta"]
'''


def test_nnpy_train_warns_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shift.py").write_text(PLUGIN)
    (tmp_path / "x.yaml").write_text(
        "model: {layers: [{type: Dense, units: 4}, {type: FrozenShiftForTests}, {type: Dense, units: 2}]}\n"
        "data: {dataset: parity, options: {bits: 4}, val_split: 0, batch_size: 4}\n"
        "train: {epochs: 2}\ncheckpoint: {monitor: train_accuracy}\n")
    # in a process of its own: the plugin's layer must not stay registered for the other tests
    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "nnpy.cli", "train", "x.yaml", "--plugin", "shift.py"],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(repo)})
    assert r.returncode == 0, r.stdout + r.stderr
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "(FrozenShiftForTests): parameter 'unused' got no gradient" in warnings[0]
