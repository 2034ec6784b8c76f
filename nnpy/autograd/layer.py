"""Layers and losses written by their forward alone; the backward is derived.

``AutogradLayer`` keeps nnpy's layer contract (arrays in, arrays out, ``self.grads``
filled by ``backward``), so it trains with the same Trainer, optimizers, checkpoints,
gradient check and summary as a hand-written layer, and sits inside ``Chain``
and ``Residual``. What a subclass writes::

    @register_layer("Swish")
    class Swish(AutogradLayer):
        def forward(self, x, training=False):        # x is a Tensor; return a Tensor
            return x * sigmoid(x)

Parameters are created in ``build`` with ``self.add_param`` as usual and used in
``forward`` as Tensors through ``self.param("W")`` -- or ``self.params["W"]``, which inside
the Tensor forward gives the same Tensor (so either trains W). A term the layer adds to the
training loss (an activity regularizer) is passed to ``self.add_penalty(t)``.

How: the subclass's ``forward`` (Tensors) is wrapped, when the class is created,
into the contract's ``forward`` (arrays): it wraps x and the parameters in Tensors,
runs the Tensor forward (recording the graph) and returns the output's array.
``backward(grad_y)`` runs the graph backward from the output (seeded with grad_y)
and from the penalties (seeded with 1), copies the parameters' gradients into
``self.grads`` and returns dL/dx. Called with a Tensor (from the forward of another
AutogradLayer), the forward runs as plain Tensor code.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from contextlib import contextmanager

from ..backend import xp
from ..errors import AutogradError, ShapeError
from ..nn.layer import Layer
from ..nn.losses import Loss
from .backprop import backprop
from .tensor import Tensor, no_grad


def _array_forward(tensor_forward, run):
    """The contract's ``forward`` (arrays in, array out) around a ``forward`` written with Tensors:
    ``run(self, tensor_forward, x, …)`` records the graph; a Tensor argument goes straight through."""
    @functools.wraps(tensor_forward)
    def forward(self, x, *args, **kwargs):
        if isinstance(x, Tensor):      # called inside another Tensor computation
            return tensor_forward(self, x, *args, **kwargs)
        return run(self, tensor_forward, x, *args, **kwargs)
    forward.tensor_forward = tensor_forward
    return forward


class _ParamsAsTensors(Mapping):
    """``layer.params`` while its Tensor forward runs: the same keys, each value the parameter's
    Tensor of this pass (``layer.param(key)``), so ``self.params["W"]`` trains W as
    ``self.param("W")`` does. ``arrays``: the parameters' arrays (the real ``params``)."""

    def __init__(self, layer: "AutogradLayer", arrays: dict):
        self.layer, self.arrays = layer, arrays

    def __getitem__(self, key) -> Tensor:
        if key not in self.arrays:
            raise KeyError(key)
        return self.layer.param(key)

    def __contains__(self, key) -> bool:
        return key in self.arrays

    def __iter__(self):
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)


@contextmanager
def _params_as_tensors(layers: list):
    """Inside the block, each layer's ``params`` gives Tensors (``_ParamsAsTensors``)."""
    arrays = [layer.params for layer in layers]
    for layer, own in zip(layers, arrays):
        layer.params = _ParamsAsTensors(layer, own)
    try:
        yield
    finally:
        for layer, own in zip(layers, arrays):
            layer.params = own


class AutogradLayer(Layer):
    """A layer whose ``forward`` is written with Tensor operations; see the module docstring.

    Sub-layers (returned by ``children()``) must be AutogradLayers too: their forward is
    called with Tensors. Without a ``build`` of its own, a layer has no parameters and
    its output shape is found by running ``forward`` on zeros.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _array_forward(cls.__dict__["forward"], AutogradLayer._record)

    def __init__(self, name: str | None = None):
        super().__init__(name)
        self._param_tensors: dict = {}
        self._penalties: list = []
        self._graph = None

    @property
    def label(self) -> str:
        """``layer 'dense_1' (TensorDense)`` for messages."""
        return f"layer '{self.name or self.type_name}' ({self.type_name})"

    # ---- what a subclass uses ---------------------------------------------------------------
    def param(self, key: str) -> Tensor:
        """Parameter ``key`` as a Tensor of the current forward pass (its array, no copy)."""
        t = self._param_tensors.get(key)
        if t is None:
            arrays = self.params.arrays if isinstance(self.params, _ParamsAsTensors) else self.params
            if key not in arrays:
                raise AutogradError(f"{self.label} has no parameter '{key}' "
                                    f"(it has {sorted(arrays) or 'none'}; create it in build)")
            t = self._param_tensors[key] = Tensor(arrays[key], requires_grad=True, name=key)
        return t

    def add_penalty(self, term: Tensor) -> None:
        """Add the one-element Tensor ``term`` to the training loss (e.g. ``1e-4 * abs(h).mean()``).

        Its value is ``self.penalty`` after the forward; ``backward`` adds its gradient.
        """
        if not isinstance(term, Tensor) or term.size != 1:
            shape = tuple(term.shape) if hasattr(term, "shape") else type(term).__name__
            raise ShapeError(f"{self.label}: add_penalty needs a one-element Tensor, "
                             f"got {shape}")
        self._penalties.append(term)

    def build(self, input_shape):
        """No parameters; the output shape is found by running ``forward`` (see ``infer_output_shape``)."""
        return self.infer_output_shape(input_shape)

    def infer_output_shape(self, input_shape) -> tuple:
        """The output shape (without batch) of ``forward`` on two samples of zeros; a ``build``
        that creates parameters may end with ``return self.infer_output_shape(input_shape)``."""
        with no_grad():
            y = self.forward(xp.zeros((2, *input_shape), dtype=self.dtype), training=False)
        self._graph = None
        return tuple(y.shape[1:])

    def _autograd_layers(self) -> list:
        """This layer and the AutogradLayers inside it (their parameters join this graph)."""
        return [layer for layer in self.walk() if isinstance(layer, AutogradLayer)]

    def _record(self, tensor_forward, x, training=False, **kwargs):
        layers = self._autograd_layers()
        for layer in layers:
            layer._param_tensors, layer._penalties = {}, []
        x = xp.asarray(x)
        x_t = Tensor(x, requires_grad=self.needs_input_grad and x.dtype.kind == "f")
        try:
            with _params_as_tensors(layers):
                y = tensor_forward(self, x_t, training, **kwargs)
        except ShapeError as exc:
            raise ShapeError(f"{self.label}: {exc}") from None
        if not isinstance(y, Tensor):
            raise AutogradError(f"{self.label}: forward must return a Tensor, not {type(y).__name__}")
        for layer in layers:
            layer.penalty = float(sum(p.item() for p in layer._penalties))
        self._graph = (x_t, y, [p for layer in layers for p in layer._penalties])
        return y.data

    def backward(self, grad_y):
        if self._graph is None:
            raise AutogradError(f"{self.label}: backward() without a forward() before it")
        x, y, penalties = self._graph
        self._graph = None
        if tuple(grad_y.shape) != tuple(y.shape):
            raise ShapeError(f"{self.label}: backward got a gradient of shape {tuple(grad_y.shape)} for its "
                             f"output of shape {tuple(y.shape)}")
        roots = [t for t in (y, *penalties) if t.requires_grad]
        seeds = [Tensor(grad_y) if t is y else Tensor(xp.ones_like(t.data)) for t in roots]
        found = backprop(roots, seeds) if roots else {}
        for layer in self._autograd_layers():
            for key, grad in layer.grads.items():
                t = layer._param_tensors.get(key)
                if t is not None and id(t) in found:
                    xp.copyto(grad, found[id(t)][1].data)
                else:
                    grad.fill(0)         # a parameter the forward did not use
            layer._param_tensors, layer._penalties = {}, []
        if not self.needs_input_grad:
            return None
        dx = found[id(x)][1].data if id(x) in found else xp.zeros_like(x.data)
        return dx if dx.flags.writeable else dx.copy()


class AutogradLoss(Loss):
    """A loss whose ``forward(pred, target)`` is written with Tensor operations and returns a
    one-element Tensor; ``backward()`` returns dL/dpred. ``pred`` arrives as a Tensor,
    ``target`` as it was given (an array). Register it with ``@register_loss("name")``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _array_forward(cls.__dict__["forward"], AutogradLoss._record)

    def _record(self, tensor_forward, pred, target):
        pred_t = Tensor(pred, requires_grad=True)
        value = tensor_forward(self, pred_t, target)
        if not isinstance(value, Tensor) or value.size != 1:
            got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise AutogradError(f"loss '{self.type_name}': forward must return a one-element Tensor, got {got}")
        self._graph = (pred_t, value)
        return float(value.item())

    def backward(self):
        graph, self._graph = getattr(self, "_graph", None), None
        if graph is None:
            raise AutogradError(f"loss '{self.type_name}': backward() without a forward() before it")
        pred, value = graph
        if not value.requires_grad:
            return xp.zeros_like(pred.data)
        found = backprop([value], [Tensor(xp.ones_like(value.data))])
        return found[id(pred)][1].data if id(pred) in found else xp.zeros_like(pred.data)
