"""The layer contract.

A layer is one class with three methods side by side::

    build(input_shape) -> output_shape     # shapes without the batch axis; creates self.params
    forward(x, training=False) -> y        # caches what backward needs
    backward(grad_y) -> grad_x             # fills self.grads[k] for every k in self.params

``params`` and ``grads`` are dicts of arrays with the same keys. Non-trainable
state that must be saved with the model (BatchNorm's running statistics) lives in
``buffers``. A layer that adds a term to the training loss (an activity
regularizer) sets ``self.penalty`` (a float) in ``forward`` and adds that term's
gradient in ``backward``; ``total_penalty()`` sums it over a model. Users write
their own layers by subclassing ``Layer`` and decorating the class with
``@register_layer("MyLayer")`` — or subclass ``nnpy.autograd.AutogradLayer`` and
write ``forward`` alone.

``trainable = False`` freezes a layer (and every layer inside it): optimizers leave its
parameters alone and keep no state for them (``named_trainable_parameters``); in a config,
``trainable: false`` on any layer spec does the same.

The framework calls ``initialize(input_shape, rng, dtype)``, which sets
``self.rng`` (the one seeded ``numpy.random.Generator`` of the run) and
``self.dtype`` and then calls ``build``.
"""
from __future__ import annotations

import inspect
import re

import numpy as np

from ..backend import default_dtype, xp
from ..errors import ShapeError
from ..registry import LAYERS
from .initializers import make_initializer
from .placeholders import is_placeholder, record_call


def snake_case(name: str) -> str:
    """The default name stem of a layer type: ``Conv2D`` -> ``conv2d``, ``ReLU`` -> ``relu``."""
    return re.sub(r"\W", "_", name).lower()


def sample_shape(shape, many: bool = False) -> tuple:
    """``shape`` as a tuple of ints; ``many``: a list of such shapes (a merge layer's inputs)."""
    if many:
        return tuple(tuple(int(d) for d in one) for one in shape)
    return tuple(int(d) for d in shape)


class Layer:
    """Base class of every layer. See the module docstring for the contract."""

    #: True for layers that take a list of inputs (Concatenate, Add, Multiply): ``build`` gets a
    #: tuple of shapes, ``forward`` a list of arrays, and ``backward`` returns a list of gradients
    many_inputs = False

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        layer._init_args = (args, kwargs)  # kept so get_config() can rebuild the layer
        return layer

    def __init__(self, name: str | None = None):
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.rng: np.random.Generator | None = None
        self.dtype = default_dtype()
        self.built = False
        # False when nobody needs dL/dx (the model's first layer): backward may skip it.
        self.needs_input_grad = True
        self.penalty = 0.0  # the term this layer added to the training loss in its last forward
        self._trainable = True

    # ---- to implement in subclasses -------------------------------------------------
    def build(self, input_shape: tuple) -> tuple:
        """Create parameters for inputs of ``input_shape``; return the output shape."""
        return input_shape

    def forward(self, x, training: bool = False):
        raise NotImplementedError

    def backward(self, grad_y):
        raise NotImplementedError

    def flops(self) -> int:
        """Multiply-adds ×2 of one forward pass for one sample (for the summary table)."""
        return 0

    def example_input(self, batch: int, rng: np.random.Generator):
        """An input of ``batch`` samples this built layer takes, for a check such as ``nnpy
        gradcheck``; None: any floats of its input shape (a layer that takes ids says which)."""
        return None

    # ---- provided ---------------------------------------------------------------------
    @property
    def type_name(self) -> str:
        return getattr(type(self), "registered_name", type(self).__name__)

    @property
    def trainable(self) -> bool:
        """False: frozen -- optimizers skip this layer's parameters (BatchNorm also keeps its
        running statistics and normalizes with them, as Keras does)."""
        return getattr(self, "_trainable", True)    # a subclass that skipped Layer.__init__ trains

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze (True) this layer and every layer inside it."""
        if not isinstance(value, bool):
            raise ValueError(f"trainable must be true or false, not {value!r}")
        for layer in self.walk():
            layer._trainable = value

    def initialize(self, input_shape, rng: np.random.Generator | None = None, dtype=None) -> tuple:
        """Set rng and dtype, call ``build``, record the shapes; return the output shape."""
        return self._initialize_with(self.build, input_shape, rng, dtype)

    def _initialize_with(self, build, input_shape, rng, dtype) -> tuple:
        """``initialize`` with ``build(input_shape) -> output_shape`` as the shape inference (a
        trainable model passes its container's ``build``: its own is the Keras call)."""
        self.rng = rng if rng is not None else np.random.default_rng()
        self.dtype = np.dtype(dtype) if dtype is not None else default_dtype()
        self.input_shape = sample_shape(input_shape, many=self.many_inputs)
        self.output_shape = tuple(int(d) for d in build(self.input_shape))
        self.grads = {k: xp.zeros_like(v) for k, v in self.params.items()}
        self.built = True
        return self.output_shape

    def shape_error(self, expected: str, input_shape) -> ShapeError:
        """A ShapeError naming this layer, what it expects and what it got."""
        return ShapeError(f"layer '{self.name or self.type_name}' ({self.type_name}) expects "
                          f"{expected}, but its input shape is {tuple(input_shape)} (batch axis not shown)")

    def add_param(self, key: str, shape, init) -> np.ndarray:
        """Create ``self.params[key]`` with initializer ``init`` (name, spec or callable)."""
        if self.rng is None:
            raise RuntimeError(f"layer '{self.name or self.type_name}' has no random generator yet: build it "
                               f"with layer.initialize(input_shape) (optionally rng=np.random.default_rng(seed)), "
                               f"which sets the generator and dtype and then calls build")
        self.params[key] = make_initializer(init)(tuple(shape), self.rng, self.dtype)
        return self.params[key]

    def __call__(self, x, training: bool = False):
        """``forward`` on arrays; on ``nnpy.Input`` placeholders, a recorded call (``nnpy.Model``)."""
        if is_placeholder(x):
            return record_call(self, x)
        return self.forward(x, training=training)

    def children(self) -> list["Layer"]:
        """Sub-layers (containers override this)."""
        return []

    def walk(self):
        """This layer and all layers inside it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def _named(self, attr: str, prefix: str = "", trainable_only: bool = False) -> dict:
        own = getattr(self, attr).items() if self.trainable or not trainable_only else ()
        out = {f"{prefix}{k}": v for k, v in own}
        for child in self.children():
            out.update(child._named(attr, f"{prefix}{child.name}.", trainable_only))
        return out

    def named_parameters(self) -> dict:
        """Flat ``{"conv2d_1.W": array, …}`` of every trainable parameter."""
        return self._named("params")

    def named_gradients(self) -> dict:
        """Flat gradients with the same keys as ``named_parameters``."""
        return self._named("grads")

    def named_trainable_parameters(self) -> dict:
        """``named_parameters`` without those of frozen layers (``trainable = False``): what optimizers update."""
        return self._named("params", trainable_only=True)

    def named_trainable_gradients(self) -> dict:
        """Gradients with the same keys as ``named_trainable_parameters``."""
        return self._named("grads", trainable_only=True)

    def named_buffers(self) -> dict:
        """Flat non-trainable state (e.g. ``"batch_norm_1.running_mean"``)."""
        return self._named("buffers")

    def state_dict(self) -> dict:
        """Parameters and buffers in one flat dict (what a checkpoint stores)."""
        return {**self.named_parameters(), **self.named_buffers()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the parameters and buffers (in place, same keys and shapes)."""
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ShapeError(f"state does not fit the model: missing {missing}, unexpected {unexpected}")
        for key, arr in own.items():
            if tuple(arr.shape) != tuple(state[key].shape):
                raise ShapeError(f"'{key}' has shape {tuple(state[key].shape)}, the model needs {arr.shape}")
            arr[...] = state[key]

    def total_penalty(self) -> float:
        """The terms this layer and its sub-layers added to the loss in the last forward."""
        return float(sum(layer.penalty for layer in self.walk()))

    def count_params(self) -> int:
        return int(sum(p.size for p in self.named_parameters().values()))

    def zero_grad(self) -> None:
        for layer in self.walk():
            for g in layer.grads.values():
                g.fill(0)

    def set_rng(self, rng: np.random.Generator) -> None:
        """Give this layer and every sub-layer the generator ``rng``."""
        for layer in self.walk():
            layer.rng = rng

    def astype(self, dtype) -> "Layer":
        """Convert parameters, gradients and buffers of all layers to ``dtype`` (in place)."""
        dtype = np.dtype(dtype)
        for layer in self.walk():
            layer.dtype = dtype
            for d in (layer.params, layer.grads, layer.buffers):
                for k in d:
                    if np.issubdtype(d[k].dtype, np.floating):
                        d[k] = d[k].astype(dtype)
        return self

    def get_config(self) -> dict:
        """``{"type": …, **options}``: enough for ``make_layer`` to make this layer again."""
        args, kwargs = self._init_args
        bound = inspect.signature(type(self).__init__).bind(None, *args, **kwargs)
        config = {"type": self.type_name}
        for key, value in list(bound.arguments.items())[1:]:
            if key == "name" and value is None:
                continue
            config[key] = value
        if self.name is not None:
            config["name"] = self.name
        return {**config, **common_options(self)}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{self.type_name}({opts})"


def common_options(layer: Layer) -> dict:
    """The options every layer takes (``LAYERS.common``) that differ from their default, for ``get_config``."""
    return {} if layer.trainable else {"trainable": False}


def make_layer(spec) -> Layer:
    """A layer from ``{"type": "Conv2D", "filters": 32, …}`` (or an existing Layer)."""
    if isinstance(spec, Layer):
        return spec
    return LAYERS.make(spec)


build_layer = make_layer   # deprecated: the old name, kept for users
