"""The PyTorch twin of a built nnpy model: the same layers, shapes and (optionally) weights.

    net = torch_twin(model, copy_weights=True)      # a torch.nn.Sequential
    net = torch_twin(twin_spec.read(directory)[0])  # the same from the model written as data

Used by ``bench_train.py --vs-torch`` so that both libraries time the very same network
(and, with copied weights, ``bench_train.py --inference`` checks that they predict alike).
The layers are read by their ``type_name`` and attributes only, so the twin is built as well
from the stand-ins of ``twin_spec.read`` — the benchmark's PyTorch process never imports nnpy.
Covers the layers the configs' models use: Conv2D, Dense, BatchNorm, ReLU, Tanh, MaxPool2D,
AvgPool2D, GlobalAvgPool2D, Flatten, Dropout, Chain and Residual, and the RNN head of the
``rnn`` benchmark. PyTorch is imported here only: nnpy itself never needs it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as tnn


class _Residual(tnn.Module):
    def __init__(self, main, shortcut, activation):
        super().__init__()
        self.main, self.shortcut, self.activation = main, shortcut, activation

    def forward(self, x):
        y = self.main(x) + (x if self.shortcut is None else self.shortcut(x))
        return y if self.activation is None else self.activation(y)


class _GlobalAvgPool(tnn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class _LastOutput(tnn.Module):
    """nnpy's RNN with return_sequences: PyTorch's RNN gives (output, h); keep the output."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


def _set(param, value, copy: bool) -> None:
    if copy:
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


def _conv(layer, copy):
    (top, bottom), (left, right) = layer.pads
    f, c, kh, kw = layer.params["W"].shape
    symmetric = top == bottom and left == right
    conv = tnn.Conv2d(c, f, (kh, kw), layer.stride, (top, left) if symmetric else 0, bias=layer.use_bias)
    _set(conv.weight, layer.params["W"], copy)
    if layer.use_bias:
        _set(conv.bias, layer.params["b"], copy)
    return conv if symmetric else tnn.Sequential(tnn.ZeroPad2d((left, right, top, bottom)), conv)


def _dense(layer, copy):
    w = layer.params["W"]
    lin = tnn.Linear(w.shape[0], w.shape[1], bias=layer.use_bias)
    _set(lin.weight, w.T, copy)
    if layer.use_bias:
        _set(lin.bias, layer.params["b"], copy)
    return lin


def _batchnorm(layer, copy):
    c = layer.params["gamma"].shape[0]
    cls = tnn.BatchNorm1d if len(layer.input_shape) == 1 else tnn.BatchNorm2d
    bn = cls(c, eps=layer.epsilon, momentum=1 - layer.momentum)   # nnpy keeps Keras' convention
    for name, src in (("weight", layer.params["gamma"]), ("bias", layer.params["beta"]),
                      ("running_mean", layer.buffers["running_mean"]), ("running_var", layer.buffers["running_var"])):
        _set(getattr(bn, name), src, copy)
    return bn


def _pool(layer, cls):
    (top, bottom), (left, right) = layer.pads
    if top != bottom or left != right:
        raise NotImplementedError(f"{layer.name}: asymmetric pooling padding has no PyTorch twin here")
    return cls(layer.pool_size, layer.stride, (top, left))


def _rnn(layer, copy):
    if not layer.return_sequences:
        raise NotImplementedError(f"{layer.name}: only return_sequences=True is twinned")
    units = layer.units
    rnn = tnn.RNN(layer.input_shape[-1], units, batch_first=True)
    if copy:
        raise NotImplementedError(f"{layer.name}: weights of recurrent layers are not copied")
    return _LastOutput(rnn)


def torch_twin(layer, copy_weights: bool = False) -> tnn.Module:
    """A torch module computing what the built nnpy ``layer`` (a model, a Chain, a layer, or
    their stand-ins from ``twin_spec.read``) computes."""
    kind = layer.type_name
    if kind == "Residual":
        shortcut = None if layer.shortcut is None else torch_twin(layer.shortcut, copy_weights)
        act = None if layer.activation is None else torch_twin(layer.activation, copy_weights)
        return _Residual(torch_twin(layer.main, copy_weights), shortcut, act)
    if kind == "Chain":
        return tnn.Sequential(*(torch_twin(child, copy_weights) for child in layer.layers))
    simple = {"ReLU": tnn.ReLU, "Tanh": tnn.Tanh, "Flatten": tnn.Flatten, "GlobalAvgPool2D": _GlobalAvgPool}
    if kind in simple:
        return simple[kind]()
    if kind == "Dropout":
        return tnn.Dropout(layer.rate)
    if kind == "Conv2D":
        return _conv(layer, copy_weights)
    if kind == "Dense":
        if len(layer.input_shape) != 1 and copy_weights:
            raise NotImplementedError(f"{layer.name}: Dense over sequences is twinned without weights only")
        return _dense(layer, copy_weights)
    if kind == "BatchNorm":
        return _batchnorm(layer, copy_weights)
    if kind == "MaxPool2D":
        return _pool(layer, tnn.MaxPool2d)
    if kind == "AvgPool2D":
        return _pool(layer, tnn.AvgPool2d)
    if kind == "RNN":
        return _rnn(layer, copy_weights)
    raise NotImplementedError(f"layer '{layer.name}' ({kind}) has no PyTorch twin in this benchmark")
