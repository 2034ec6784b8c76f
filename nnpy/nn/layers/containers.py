"""Layers made of layers: Chain (one after the other) and the ResNet Residual block."""
from __future__ import annotations

from collections import Counter

from ... import kernels
from ...backend import xp
from ...errors import NnpyError, ShapeError
from ...registry import register_layer
from ..layer import Layer, build_layer, common_options, snake_case
from ...kernels.threads import elementwise
from .activations import ReLU
from .pooling import MaxPool2D


class _Container(Layer):
    """Shared naming: a child without a name gets ``<type>_<k>`` (``conv2d_1``, ``conv2d_2``)."""

    def _name_children(self, layers) -> None:
        counts, seen = Counter(), set()
        for layer in layers:
            if layer.name is None:
                base = snake_case(layer.type_name)
                while True:
                    counts[base] += 1
                    candidate = f"{base}_{counts[base]}"
                    if candidate not in seen:
                        break
                layer.name = candidate
            if layer.name in seen:
                raise ValueError(f"two layers are named '{layer.name}' inside '{self.name}'")
            seen.add(layer.name)


def pool_before_relu(layers: list) -> list:
    """The order a Chain runs its layers in: ``layers``, except that a ReLU directly followed
    by a MaxPool2D runs after it.

    max commutes with any non-decreasing function, so ``maxpool(relu(x)) == relu(maxpool(x))``
    exactly, and the gradients agree bit for bit too (a window whose max is <= 0 gets zero
    gradient both ways; otherwise both send it to the first maximum). Run this way, the ReLU
    and its backward mask work on the pooled map, 4x smaller with 2x2 windows (lenet, batch 64:
    the ReLU's forward + backward 3.1 -> 0.7 ms on one thread). The layers themselves are
    unchanged: a config, a checkpoint and an exported model see them in their own order.
    """
    order = list(layers)
    for i in range(len(order) - 1):
        if type(order[i]) is ReLU and type(order[i + 1]) is MaxPool2D:
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


def first_trained(layers: list) -> int:
    """The index of the first layer with a parameter an optimizer updates (len(layers): none)."""
    for i, layer in enumerate(layers):
        if layer.named_trainable_parameters():
            return i
    return len(layers)


@register_layer("Chain")
class Chain(_Container):
    """Layers applied one after the other (PyTorch's ``nn.Sequential``): a block inside a model.

    Input: whatever the first layer takes; output: what the last layer gives.
    ``layers`` holds Layer objects or specs such as ``{"type": "Dense", "units": 10}``.
    The trainable model ``nnpy.Sequential`` is a Chain with compile / fit / evaluate / save.
    """

    def __init__(self, layers=(), name: str | None = None):
        super().__init__(name)
        self.layers: list[Layer] = []
        for i, spec in enumerate(layers):
            try:
                self.layers.append(build_layer(spec))
            except NnpyError as exc:
                exc.layer_index = i  # the outermost Chain sets it last: a config can point at it
                raise

    def add(self, layer) -> "Chain":
        """Append a layer (or a spec); the model must be built again afterwards."""
        self.layers.append(build_layer(layer))
        self.built = False
        return self

    def children(self):
        return self.layers

    def build(self, input_shape):
        self._name_children(self.layers)
        shape = input_shape
        for i, layer in enumerate(self.layers):
            layer.needs_input_grad = self.needs_input_grad if i == 0 else True
            try:
                shape = layer.initialize(shape, self.rng, self.dtype)
            except ShapeError as exc:
                exc.layer_index = i  # the outermost Chain sets it last: a config can point at it
                raise
        return shape

    def forward(self, x, training=False):
        # backward retraces this order; fast mode swaps ReLU-then-MaxPool (same numbers, less work)
        self._ran = pool_before_relu(self.layers) if kernels.fast() else self.layers
        for layer in self._ran:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_y):
        """Back through the layers; when nobody needs dL/dx (a model), it stops below the first
        layer that trains: a frozen backbone costs no backward pass."""
        start = 0 if self.needs_input_grad else first_trained(self._ran)
        for layer in reversed(self._ran[start:]):
            grad_y = layer.backward(grad_y)
        return grad_y

    def flops(self):
        return sum(layer.flops() for layer in self.layers)

    def get_config(self):
        config = {"type": self.type_name, "layers": [layer.get_config() for layer in self.layers]}
        if self.name is not None:
            config["name"] = self.name
        return {**config, **common_options(self)}


def _sum(a, b):
    """a + b in a's memory order, split over threads when large (``nnpy.kernels.threads``)."""
    return elementwise(xp.add, a, b, out=xp.empty_like(a, dtype=xp.result_type(a, b)))


@register_layer("Residual")
class Residual(_Container):
    """y = activation(main(x) + shortcut(x)), the building block of ResNets.

    ``shortcut``: ``"identity"``, ``"projection"`` (1×1 Conv2D with the stride that
    matches the main path's output, then BatchNorm) or ``"auto"`` (identity when the
    shapes agree, else projection). ``activation`` (e.g. ``"ReLU"``) is applied after the sum.
    """

    def __init__(self, layers=(), shortcut: str = "auto", activation: str | None = "ReLU",
                 name: str | None = None):
        super().__init__(name)
        if shortcut not in ("auto", "identity", "projection"):
            raise ValueError(f"shortcut must be 'auto', 'identity' or 'projection', not {shortcut!r}")
        self.main = Chain(layers, name="main")
        self.shortcut_kind = shortcut
        self.shortcut: Layer | None = None
        self.activation = build_layer(activation) if activation else None
        if self.activation is not None:
            self.activation.name = "act"

    def children(self):
        return [c for c in (self.main, self.shortcut, self.activation) if c is not None]

    def build(self, input_shape):
        self.main.needs_input_grad = True
        out = self.main.initialize(input_shape, self.rng, self.dtype)
        kind = self.shortcut_kind
        if kind == "auto":
            kind = "identity" if tuple(out) == tuple(input_shape) else "projection"
        if kind == "identity":
            if tuple(out) != tuple(input_shape):
                raise self.shape_error(f"an identity shortcut, so the main path must keep the shape; it "
                                       f"gives {tuple(out)}", input_shape)
            self.shortcut = None
        else:
            if len(input_shape) != 3 or len(out) != 3:
                raise self.shape_error("images (C, H, W) for a projection shortcut", input_shape)
            stride = max(1, -(-input_shape[1] // out[1]))
            self.shortcut = Chain([
                {"type": "Conv2D", "filters": out[0], "kernel_size": 1, "stride": stride, "use_bias": False},
                {"type": "BatchNorm"}], name="shortcut")
            got = self.shortcut.initialize(input_shape, self.rng, self.dtype)
            if tuple(got) != tuple(out):
                raise self.shape_error(f"a main path whose output {tuple(out)} a 1×1 projection can match "
                                       f"(it gives {tuple(got)})", input_shape)
        if self.activation is not None:
            self.activation.initialize(out, self.rng, self.dtype)
        return out

    def forward(self, x, training=False):
        y = self.main.forward(x, training)
        y = _sum(y, x if self.shortcut is None else self.shortcut.forward(x, training))
        return self.activation.forward(y, training) if self.activation is not None else y

    def backward(self, grad_y):
        if self.activation is not None:
            grad_y = self.activation.backward(grad_y)
        grad_x = self.main.backward(grad_y)
        return _sum(grad_x, grad_y if self.shortcut is None else self.shortcut.backward(grad_y))

    def flops(self):
        return sum(c.flops() for c in self.children())

    def get_config(self):
        config = {"type": self.type_name, "layers": [l.get_config() for l in self.main.layers],
                  "shortcut": self.shortcut_kind,
                  "activation": self.activation.type_name if self.activation else None}
        if self.name is not None:
            config["name"] = self.name
        return {**config, **common_options(self)}
