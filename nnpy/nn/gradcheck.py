"""Compare every backward pass against central finite differences, in float64.

For a random input x and a random upstream gradient g we check the gradients of
the scalar ``L = sum(forward(x) * g) + penalties``:  dL/dx and dL/dθ for every
parameter θ (``penalties``: the terms layers add to the loss, ``Layer.total_penalty``).
The error reported per tensor is ``|a - n|₂ / max(|a|₂ + |n|₂, 1e-12)`` over the
checked entries (a = analytic, n = numeric); below 1e-6 is a pass.

Every gradient buffer is filled with NaN before the analytic backward, so a gradient that
backward forgets to write shows up as a NaN error (a failure), not as a stale value from an
earlier step. ``needs_input_grad=False`` checks the path a model's first layer takes (no dx).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from .layer import Layer, make_layer


@dataclass
class GradcheckResult:
    """Worst relative error per checked tensor (``"input"`` and each parameter name)."""
    errors: dict = field(default_factory=dict)
    tolerance: float = 1e-6

    @property
    def worst(self) -> float:
        """The largest error; NaN when a gradient was not written (NaN beats every number)."""
        values = list(self.errors.values())
        if any(math.isnan(v) for v in values):
            return math.nan
        return max(values) if values else 0.0

    @property
    def passed(self) -> bool:
        return all(err < self.tolerance for err in self.errors.values())   # False for NaN

    def __str__(self) -> str:
        lines = [f"{name:40s} {err:.2e} {'ok' if err < self.tolerance else 'FAIL'}"
                 for name, err in self.errors.items()]
        return "\n".join(lines)


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    """``|a − n|₂ / max(|a|₂ + |n|₂, 1e-12)``: how far analytic gradients ``a`` are from numeric ``n``."""
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))


def gradcheck(layer, input_shape, batch: int = 2, eps: float = 1e-6, max_entries: int = 60,
              seed: int = 0, training: bool = True, x=None, tolerance: float = 1e-6,
              needs_input_grad: bool = True) -> GradcheckResult:
    """Check ``layer``'s backward against finite differences; return the errors.

    ``layer``: a Layer (built or not; a float64 copy with the same weights is checked) or a
    spec dict. ``input_shape``: one sample's shape (no batch axis). ``x``: optional integer or
    float input of shape (batch, *input_shape) (integer inputs, e.g. token ids, are
    not differentiated). At most ``max_entries`` randomly chosen entries of each tensor
    are perturbed. Stochastic layers (Dropout) see the same random draws in every pass.
    ``needs_input_grad=False``: the layer is built as a model's first layer (containers pass
    the flag on as they do in a model) and only the parameter gradients are checked.
    """
    layer = _float64_copy(layer, input_shape, seed, needs_input_grad)
    rng = np.random.default_rng(seed)
    for sub in layer.walk():
        # make parameters that start at a constant (BatchNorm gamma, biases) generic
        for k, p in sub.params.items():
            p += rng.normal(0, 0.1, size=p.shape)
    many = layer.many_inputs          # a merge layer: a list of inputs, one gradient each
    if x is None:
        x = [rng.normal(size=(batch, *s)) for s in input_shape] if many else rng.normal(size=(batch, *input_shape))
    inputs = list(x) if many else [x]
    differentiable_x = all(np.issubdtype(np.asarray(a).dtype, np.floating) for a in inputs)
    if differentiable_x:
        inputs = [np.asarray(a, dtype=np.float64).copy() for a in inputs]
        x = inputs if many else inputs[0]

    def run():
        layer.set_rng(np.random.default_rng(seed + 1))  # identical dropout masks every pass
        return layer.forward(x, training=training)

    g = rng.normal(size=run().shape)

    def loss() -> float:   # plus the penalties (activity regularizers) the layers add to the loss
        return float(np.sum(run() * g)) + layer.total_penalty()

    targets = dict(layer.named_parameters())
    input_names = [f"input.{i}" for i in range(len(inputs))] if many else ["input"]
    if differentiable_x and needs_input_grad:
        targets = {**dict(zip(input_names, inputs)), **targets}
    analytic = _analytic_gradients(layer, run, g, input_names if input_names[0] in targets else [])
    result = GradcheckResult(tolerance=tolerance)
    for name, arr in targets.items():
        flat_idx = rng.choice(arr.size, size=min(arr.size, max_entries), replace=False)
        numeric = central_differences(loss, arr, flat_idx, eps)
        result.errors[name] = relative_error(analytic[name].reshape(-1)[flat_idx], numeric)
    return result


def _analytic_gradients(layer: Layer, run, g: np.ndarray, input_names: list[str]) -> dict:
    """The gradients backward gives after a forward ``run()`` with upstream gradient ``g``, by
    name (and dx under ``input_names``: ``["input"]``, or ``input.i`` for each input of a merge
    layer; none: dx is not checked); each buffer is NaN-filled first."""
    run()
    for grad in layer.named_gradients().values():
        grad.fill(np.nan)               # a gradient backward does not write stays NaN
    dx = layer.backward(g.copy())
    analytic = {name: grad.copy() for name, grad in layer.named_gradients().items()}
    dxs = dx if layer.many_inputs else [dx]
    for name, grad in zip(input_names, dxs):
        analytic[name] = np.asarray(grad)
    return analytic


def central_differences(loss, arr: np.ndarray, flat_idx, eps: float) -> np.ndarray:
    """dloss/darr at the entries ``flat_idx`` of ``arr``: (loss(a + ε) − loss(a − ε)) / 2ε,
    changing one entry in place at a time."""
    numeric = np.empty(len(flat_idx))
    for j, i in enumerate(flat_idx):
        idx = np.unravel_index(i, arr.shape)
        old = arr[idx]
        arr[idx] = old + eps
        plus = loss()
        arr[idx] = old - eps
        minus = loss()
        arr[idx] = old
        numeric[j] = (plus - minus) / (2 * eps)
    return numeric


def _float64_copy(layer, input_shape, seed: int, needs_input_grad: bool) -> Layer:
    """A float64 copy of ``layer`` (a spec is built) with ``needs_input_grad`` set.

    A spec is built with the flag, so containers pass it on as in a model (Sequential to its
    first layer). A built layer keeps its weights and layout; with True every sub-layer
    computes dx, with False only the layer's own flag changes.
    """
    layer = make_layer(layer) if not isinstance(layer, Layer) else copy.deepcopy(layer)
    if not layer.built:
        layer.needs_input_grad = needs_input_grad
        layer.initialize(tuple(input_shape), rng=np.random.default_rng(seed), dtype=np.float64)
        return layer
    layer.astype(np.float64)
    for sub in layer.walk():
        sub.needs_input_grad = needs_input_grad if sub is layer else (sub.needs_input_grad or needs_input_grad)
    return layer
