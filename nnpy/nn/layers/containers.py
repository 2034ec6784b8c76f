"""Layers made of layers: Chain (one after the other), TestTimeAugment (a Chain evaluated on
views of its input and averaged), the ResNet Residual block and Graph (named nodes wired as any
directed acyclic graph)."""
from __future__ import annotations

from collections import Counter
from functools import partial

from ... import kernels
from ...backend import xp
from ...errors import ConfigError, NnpyError, ShapeError
from ...registry import register_layer
from ..layer import Layer, make_layer, common_options, snake_case
from ...kernels.threads import elementwise
from ...kernels.inference import relu_in_place
from .activations import ReLU
from .evaluation import EvaluationPlan
from .normalization import BatchNorm
from .pooling import MaxPool2D


def name_layers(layers, owner: str | None = None) -> None:
    """Give each layer without a name ``<type>_<k>`` (``conv2d_1``, ``conv2d_2``); two layers
    with one name inside ``owner`` are an error."""
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
            raise ValueError(f"two layers are named '{layer.name}' inside '{owner}'")
        seen.add(layer.name)


class _Container(Layer):
    """Shared naming: a child without a name gets ``<type>_<k>`` (``conv2d_1``, ``conv2d_2``)."""

    def _name_children(self, layers) -> None:
        name_layers(layers, self.name)

    def inputs_of(self, layer: Layer) -> list[str] | None:
        """The names of the nodes ``layer`` (a child) reads; None: it reads the one before it."""
        return None


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


class NormThenReLU:
    """A BatchNorm and the ReLU right after it, as one step of a Chain's training in fast mode:
    the same two layers' code, with two arrays fewer a step.

        forward   y = relu(norm(x)), the ReLU written over the BatchNorm's fresh output
                  (it keeps nothing of it), and kept as the ReLU's own forward keeps its output
        backward  g = ReLU.backward(dy) (a fresh array), then BatchNorm.backward writes dx over g

    Bit for bit the numbers of the two layers one after the other (the same operations on the
    same values). The resnet-fashion model's training step at batch 64 (7 such pairs), toggled
    step by step in one process: 0.975 and 0.992 of the time (medians of 40 pairs of steps).
    """

    def __init__(self, norm, relu):
        self.norm, self.relu = norm, relu

    def forward(self, x, training=False):
        self.relu.y = relu_in_place(self.norm.forward(x, training))
        return self.relu.y

    def backward(self, grad_y):
        return self.norm.backward(self.relu.backward(grad_y), overwrite=True)

    def named_trainable_parameters(self):
        return self.norm.named_trainable_parameters()


def norm_then_relu(layers: list) -> list:
    """``layers`` with each BatchNorm directly followed by a ReLU as one ``NormThenReLU`` step
    (not a ReLU whose forward is wrapped, as ``nnpy train --profile``'s stopwatches do: the step
    never calls it, and the profile would show no time for it)."""
    steps, i = [], 0
    while i < len(layers):
        if (i + 1 < len(layers) and type(layers[i]) is BatchNorm and type(layers[i + 1]) is ReLU
                and "forward" not in vars(layers[i + 1])):
            steps.append(NormThenReLU(layers[i], layers[i + 1]))
            i += 2
        else:
            steps.append(layers[i])
            i += 1
    return steps


def uses_output_gradient(layer) -> bool:
    """Whether dL/d(layer's output) is used: the layer has parameters, or needs dL/dx itself. A
    Chain or Graph gives dL/dx only to layers whose input comes from such a layer (or from a caller
    that wants it): neither a Flatten in front nor the first layer with parameters after it computes
    one (the MLP's first Dense skips dy @ Wᵀ)."""
    return layer.needs_input_grad or bool(layer.named_parameters())


def first_trained(layers: list) -> int:
    """The index of the first layer with a parameter an optimizer updates (len(layers): none)."""
    for i, layer in enumerate(layers):
        if layer.named_trainable_parameters():
            return i
    return len(layers)


@register_layer("Chain")
class Chain(_Container):
    """A container of layers applied one after the other, with no training of its own: a block
    inside a model.

    Input: whatever the first layer takes; output: what the last layer gives.
    ``layers`` holds Layer objects or specs such as ``{"type": "Dense", "units": 10}``.
    PyTorch calls this container ``nn.Sequential``; in nnpy, ``nnpy.Sequential`` is the
    Keras-style trainable model: a Chain with build / compile / fit / evaluate / predict / save.
    """

    def __init__(self, layers=(), name: str | None = None):
        super().__init__(name)
        self.layers: list[Layer] = []
        for i, spec in enumerate(layers):
            try:
                self.layers.append(make_layer(spec))
            except NnpyError as exc:
                exc.layer_index = i  # the outermost Chain sets it last: a config can point at it
                raise

    def add(self, layer) -> "Chain":
        """Append a layer (or a spec); the model must be built again afterwards."""
        self.layers.append(make_layer(layer))
        self.built = False
        return self

    def children(self):
        return self.layers

    def build(self, input_shape):
        self._name_children(self.layers)
        shape = input_shape
        wanted = self.needs_input_grad                   # dL/dx of the next layer is used below it
        for i, layer in enumerate(self.layers):
            layer.needs_input_grad = wanted
            try:
                shape = layer.initialize(shape, self.rng, self.dtype)
            except ShapeError as exc:
                exc.layer_index = i  # the outermost Chain sets it last: a config can point at it
                raise
            wanted = uses_output_gradient(layer)
        return shape

    def forward(self, x, training=False):
        # backward retraces this order; fast mode swaps ReLU-then-MaxPool and, in training, runs
        # BatchNorm + ReLU pairs as one step each (same numbers, less work)
        self._ran = self.layers
        if kernels.fast():
            self._ran = pool_before_relu(self._ran)
            if training:
                self._ran = norm_then_relu(self._ran)
        self._evaluated = None
        if not training and kernels.fast():
            plan = self._evaluation_plan()
            if plan.fuses:                 # conv blocks in fewer passes (nn/layers/evaluation.py)
                self._evaluated = x        # the plan keeps nothing: a backward reruns the layers
                return plan(x)
        return self._forward_layers(x, training)

    def _forward_layers(self, x, training):
        for layer in self._ran:
            x = layer.forward(x, training)
        return x

    def _evaluation_plan(self) -> EvaluationPlan:
        """The fused evaluation of the layers in the order they run, made again when they change."""
        plan = getattr(self, "_plan", None)
        if plan is None or plan.layers != tuple(self._ran):
            plan = self._plan = EvaluationPlan(self._ran)
        return plan

    def backward(self, grad_y):
        """Back through the layers; when nobody needs dL/dx (a model), it stops below the first
        layer that trains: a frozen backbone costs no backward pass. After a fused evaluation
        forward, the layers' own forward runs first (they keep what their backward needs)."""
        if getattr(self, "_evaluated", None) is not None:
            x, self._evaluated = self._evaluated, None
            self._forward_layers(x, training=False)
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


def shift_source(n: int, step: int):
    """Where each of n positions moved by ``step`` reads from, the edge repeated where nothing
    moves in: clip(i − step, 0, n − 1) (int64, (n,))."""
    return xp.clip(xp.arange(n) - step, 0, n - 1)


def shifted(x, step: int, axis: int):
    """x moved by ``step`` positions along ``axis`` (towards higher indices when step > 0):
    y[i] = x[clip(i − step, 0, n − 1)]."""
    return xp.take(x, shift_source(x.shape[axis], step), axis=axis)


def shifted_backward(grad_y, step: int, axis: int):
    """The gradient through ``shifted``: dx[j] = Σ dy[i] over the i with clip(i − step) = j (an
    edge row receives the gradient of every row that repeats it)."""
    grad_x = xp.zeros_like(grad_y)
    xp.add.at(grad_x, (slice(None),) * (axis % grad_y.ndim) + (shift_source(grad_y.shape[axis], step),), grad_y)
    return grad_x


def _same(x):
    return x


def _mirrored(x):
    """x with its last axis reversed: its own adjoint."""
    return x[..., ::-1]


def _composed(outer, inner, x):
    """outer(inner(x))."""
    return outer(inner(x))


@register_layer("TestTimeAugment")
class TestTimeAugment(Chain):
    """Test-time augmentation: in evaluation, the mean of the layers' outputs over views of the
    input; in training, the layers alone::

        training:    y = f(x)
        evaluation:  y = (1/V) · Σ_v f(view_v(x))

    The views: the positions -- x itself and, with ``shift`` s > 0, x moved by s pixels down,
    up, right and left (the edge row or column repeated where nothing moves in) -- each as it is
    and, with ``hflip``, also as its mirror image [..., ::-1] (the last axis reversed): every
    combination ``data.augment`` trains on, as ten-crop is five crops and their mirror images.
    V = (1 + 4·(s > 0)) · (1 + hflip). x: (N, C, H, W) images, or (N, C, L) sequences with
    ``hflip`` alone; y: what the layers f give, e.g. a classifier's logits (N, K) — an output that
    does not move with the view (an image or a sequence out, which would, is refused). In
    evaluation the V views run through f as one batch of V·N. A model trained on mirrored and
    shifted images errs less this way (``configs/resnet-fashion-full.yaml``: README, Results).
    The backward, after either forward, is the gradient of what that forward computed.

    ``flops()`` counts one pass of f, as a training step makes; an evaluation makes V.
    A config puts a whole model inside one with ``model: {…, test_time_augment: {hflip: true, shift: 1}}``.
    """

    def __init__(self, layers=(), hflip: bool = False, shift: int = 0, name: str | None = None):
        if shift < 0:       # the types of a spec's options are the registry's to check
            raise ValueError(f"shift must be a whole number of pixels >= 0, not {shift!r}")
        if not hflip and not shift:
            raise ValueError("give hflip: true or shift > 0: with neither, the only view is the input itself")
        super().__init__(layers, name)
        self.hflip, self.shift = hflip, shift

    def build(self, input_shape):
        if self.shift and (len(input_shape) != 3 or self.shift >= min(input_shape[1:])):
            raise self.shape_error(f"images (C, H, W) larger than the shift ({self.shift} px)", input_shape)
        out = super().build(input_shape)
        if len(out) != 1:       # an image or a sequence out would move with the view: the mean would blur it
            raise ShapeError(f"layer '{self.name or self.type_name}' (TestTimeAugment) averages outputs that do "
                             f"not move with the input, such as a classifier's (classes,); its layers give "
                             f"{tuple(out)} (batch axis not shown), which each view would move")
        return out

    def moves(self) -> list:
        """(axis, step) of each shifted view, in the order ``views`` gives them."""
        return [(axis, step) for axis in (-2, -1) for step in (self.shift, -self.shift)] if self.shift else []

    def views(self) -> list:
        """(view, its adjoint) of each view: the positions (x; x shifted down, up, right and left
        with ``shift``), then with ``hflip`` the mirror image of each, in the same order."""
        positions = [(_same, _same)] + [(partial(shifted, step=step, axis=axis),
                                         partial(shifted_backward, step=step, axis=axis))
                                        for axis, step in self.moves()]
        if not self.hflip:
            return positions
        # mirror ∘ view, whose adjoint is viewᵀ ∘ mirror (the mirror is its own adjoint)
        return positions + [(partial(_composed, _mirrored, view), partial(_composed, adjoint, _mirrored))
                            for view, adjoint in positions]

    def forward(self, x, training=False):
        self._averaged = not training
        if training:
            return super().forward(x, training=True)
        views = [view(x) for view, _ in self.views()]
        ys = super().forward(xp.concatenate(views), training=False)             # (V·N, …)
        return ys.reshape(len(views), len(x), *ys.shape[1:]).mean(axis=0)

    def backward(self, grad_y):
        if not getattr(self, "_averaged", False):
            return super().backward(grad_y)
        views = self.views()
        share = grad_y * grad_y.dtype.type(1.0 / len(views))                   # ∂y/∂f(view) = 1/V
        grad_views = super().backward(xp.concatenate([share] * len(views)))
        if grad_views is None or not self.needs_input_grad:
            return grad_views
        grad_views = grad_views.reshape(len(views), len(grad_y), *grad_views.shape[1:])
        return sum(adjoint(g) for (_, adjoint), g in zip(views, grad_views))   # dx = Σ viewᵀ(dx_view)

    def get_config(self):
        return {**super().get_config(), "hflip": self.hflip, "shift": self.shift}


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
        self.activation = make_layer(activation) if activation else None
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


#: the name by which graph nodes refer to the graph's (the model's) input
INPUT = "input"


def graph_error(message: str, node: str | None = None, key: str | None = None) -> ConfigError:
    """A mistake in a graph's description; ``node`` and ``key`` (e.g. ``inputs``) say where, so that
    a config can point at ``model.nodes.<node>.<key>``."""
    exc = ConfigError(message)
    exc.node, exc.node_key = node, key
    return exc


def _node_inputs(node: str, inputs, previous: str) -> list[str]:
    """A node's ``inputs`` as a list of names: one name, a list of names, or None (the node
    listed before it; the graph's input for the first)."""
    if inputs is None:
        return [previous]
    names = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
        raise graph_error(f"node '{node}': inputs must be a node name or a list of them, not {inputs!r:.60}",
                          node, "inputs")
    return list(names)


def _node_layer(node: str, spec) -> tuple[Layer, object]:
    """The layer of a node and its raw ``inputs``: from ``{type, …options, inputs}`` or from a
    ``(layer or spec, inputs)`` pair."""
    if isinstance(spec, tuple) and len(spec) == 2:
        layer_spec, inputs = spec
    elif isinstance(spec, dict):
        if "name" in spec:
            raise graph_error(f"node '{node}': the node's key is its name; remove 'name'", node, "name")
        layer_spec = {k: v for k, v in spec.items() if k != "inputs"}
        inputs = spec.get("inputs")
    else:
        raise graph_error(f"node '{node}' must be a layer spec such as {{type: Dense, units: 10, inputs: "
                          f"input}}, not {spec!r:.60}", node)
    try:
        layer = make_layer(layer_spec)
    except NnpyError as exc:
        exc.node = node
        raise
    return layer, inputs


def _cycle(inputs: dict, stuck: list[str]) -> list[str]:
    """A cycle among ``stuck`` (nodes that each wait for another stuck node), in data-flow order."""
    path, node = [], stuck[0]
    while node not in path:
        path.append(node)
        node = next(i for i in inputs[node] if i in stuck)
    loop = path[path.index(node):]              # node, then each one's input: against the flow
    flow = [loop[0], *reversed(loop[1:])]       # from node along the flow
    return flow + [loop[0]]


def topological_order(inputs: dict, output: str) -> list[str]:
    """The nodes in an order that runs each after its inputs (the listed order where it can),
    the output last; a ConfigError names the node of the first mistake: an unknown input name,
    a cycle, a node the output does not depend on."""
    for node, names in inputs.items():
        for name in names:
            if name != INPUT and name not in inputs:
                raise graph_error(f"node '{node}': input '{name}' is not a node (nodes: {', '.join(inputs)}; "
                                  f"'{INPUT}' is the model's input)", node, "inputs")
    order, done, waiting = [], {INPUT}, list(inputs)
    while waiting:
        ready = next((n for n in waiting if all(i in done for i in inputs[n])), None)
        if ready is None:
            loop = _cycle(inputs, waiting)
            raise graph_error(f"node '{loop[0]}' is in a cycle: {' -> '.join(loop)} (a graph model "
                              f"must be acyclic)", loop[0], "inputs")
        order.append(ready)
        done.add(ready)
        waiting.remove(ready)
    needed, todo = set(), [output]
    while todo:
        node = todo.pop()
        if node != INPUT and node not in needed:
            needed.add(node)
            todo += inputs[node]
    for node in order:
        if node not in needed:
            raise graph_error(f"node '{node}' is not used: the output '{output}' does not depend on it "
                              f"(remove it, or feed it to a node on the way to the output)", node)
    order.remove(output)
    return order + [output]


@register_layer("Graph")
class Graph(_Container):
    """Named layers wired as any directed acyclic graph: a model with branches and joins.

    ``nodes``: ``{name: {type: …, …options, inputs: …}}`` (or ``{name: (layer, inputs)}``);
    ``inputs`` is a node name or a list of them (merge layers — Concatenate, Add, Multiply —
    take a list), ``"input"`` is the graph's input, and a node without ``inputs`` takes the
    node listed before it (the input for the first). ``output``: the node whose result the
    graph gives. Forward runs the nodes in topological order; backward runs them in reverse,
    summing the gradients of a node that several nodes read. Parameters are named
    ``<node>.W``. Shapes: input (N, *input_shape) → the output node's (N, *output_shape).
    """

    def __init__(self, nodes=None, output: str | None = None, name: str | None = None):
        super().__init__(name)
        if not isinstance(nodes, dict) or not nodes:
            raise graph_error("a graph needs 'nodes': a mapping from node names to layer specs with their "
                              "inputs, e.g. {dense: {type: Dense, units: 10, inputs: input}}")
        self.nodes: dict[str, Layer] = {}
        self.inputs: dict[str, list[str]] = {}
        previous = INPUT
        for node, spec in nodes.items():
            if not isinstance(node, str) or node == INPUT or "." in node or not node:
                raise graph_error(f"node name {node!r}: choose another ('{INPUT}' names the model's input, "
                                  f"and a dot would clash with parameter names such as 'conv.W')", str(node))
            layer, inputs = _node_layer(node, spec)
            self.inputs[node] = self._checked_inputs(node, layer, _node_inputs(node, inputs, previous))
            layer.name = node
            self.nodes[node] = layer
            previous = node
        if output is None:
            raise graph_error("a graph needs 'output': the name of the node whose result is the model's output")
        if output not in self.nodes:
            raise graph_error(f"output '{output}' is not a node (nodes: {', '.join(self.nodes)})", key="output")
        self.output = output
        self.order = topological_order(self.inputs, output)

    @staticmethod
    def _checked_inputs(node: str, layer: Layer, names: list[str]) -> list[str]:
        if layer.many_inputs and len(names) < 2:
            raise graph_error(f"node '{node}' ({layer.type_name}) merges a list of at least 2 inputs, "
                              f"not {names}", node, "inputs")
        if not layer.many_inputs and len(names) != 1:
            raise graph_error(f"node '{node}' ({layer.type_name}) takes one input, not {len(names)} ({names}): "
                              f"join them first with Concatenate, Add or Multiply", node, "inputs")
        return names

    @property
    def layers(self) -> list[Layer]:
        """The node layers in the order they run (the output's last)."""
        return [self.nodes[node] for node in self.order]

    def children(self):
        return self.layers

    def inputs_of(self, layer: Layer) -> list[str]:
        """The names of the nodes whose results ``layer`` (a node of this graph) takes."""
        return self.inputs[layer.name]

    def _arguments(self, layer: Layer, values: dict):
        """What ``layer`` takes from ``values`` (a dict by node name): one value or a list."""
        names = self.inputs[layer.name]
        return [values[n] for n in names] if layer.many_inputs else values[names[0]]

    def build(self, input_shape):
        shapes = {INPUT: tuple(input_shape)}
        wanted = {INPUT: self.needs_input_grad}          # as in a Chain: ``uses_output_gradient``
        for node in self.order:
            layer = self.nodes[node]
            layer.needs_input_grad = any(wanted[n] for n in self.inputs[node])
            try:
                shapes[node] = layer.initialize(self._arguments(layer, shapes), self.rng, self.dtype)
            except NnpyError as exc:
                exc.node = node   # the outermost graph sets it last: a config can point at it
                raise
            wanted[node] = uses_output_gradient(layer)
        return shapes[self.output]

    def forward(self, x, training=False):
        values = {INPUT: x}
        for node in self.order:
            layer = self.nodes[node]
            values[node] = layer.forward(self._arguments(layer, values), training)
        return values[self.output]

    def backward(self, grad_y):
        """Each node's backward in reverse order; a node read by several nodes gets the sum of
        their gradients (layers never change ``grad_y`` in place, so one array may go to several)."""
        grads = {self.output: grad_y}
        for node in reversed(self.order):
            if node not in grads:         # nothing below it trains: no gradient reached it
                continue
            layer = self.nodes[node]
            grad_x = layer.backward(grads.pop(node))
            for name, grad in zip(self.inputs[node], grad_x if layer.many_inputs else [grad_x]):
                if grad is not None:      # None: a first layer skipped dL/d(input)
                    grads[name] = _sum(grads[name], grad) if name in grads else grad
        return grads.get(INPUT)

    def flops(self):
        return sum(layer.flops() for layer in self.nodes.values())

    def get_config(self):
        nodes = {}
        for node, layer in self.nodes.items():
            spec = {k: v for k, v in layer.get_config().items() if k != "name"}
            names = self.inputs[node]
            nodes[node] = {**spec, "inputs": list(names) if layer.many_inputs else names[0]}
        config = {"type": self.type_name, "nodes": nodes, "output": self.output}
        if self.name is not None:
            config["name"] = self.name
        return {**config, **common_options(self)}
