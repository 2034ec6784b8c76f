"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

Every Function is visited once, after every Function that used its output (a
topological order), so the gradient arriving at its output is complete when it is
passed to its ``backward``. Gradients of a tensor used twice are summed.

    order = the Functions behind the roots, consumers before producers
    pending[f] = dL/d(output of f)
    for f in order:  for (x, gx) in zip(f.inputs, f.backward(pending[f])):  pending[x] += gx

Without ``retain_graph`` each Function is released as soon as its backward has run,
so the activations it kept die with it.
"""
from __future__ import annotations

from ..backend import xp
from ..errors import AutogradError, ShapeError
from .tensor import Tensor, set_grad_enabled, to_array


def topological_order(roots) -> list:
    """The Functions the roots depend on, each one before those that made its inputs."""
    order, seen = [], set()
    stack = [(t.creator, False) for t in roots if t.creator is not None]
    while stack:
        f, inputs_done = stack.pop()
        if inputs_done:
            order.append(f)
            continue
        if f in seen:
            continue
        f.check_alive()
        seen.add(f)
        stack.append((f, True))
        stack.extend((x.creator, False) for x in f.inputs if x.creator is not None and x.creator not in seen)
    return order[::-1]   # post-order lists producers first


def seed_gradient(root: Tensor, grad) -> Tensor:
    """dL/droot: ``grad`` checked against the root's shape, or 1 for a one-element root."""
    if grad is None:
        if root.size != 1:
            raise ShapeError(f"backward() without grad needs a tensor of one element, but this one has shape "
                             f"{tuple(root.shape)}; pass grad= of shape {tuple(root.shape)} (dL/dtensor)")
        return Tensor(xp.ones_like(root.data))
    grad = grad if isinstance(grad, Tensor) else Tensor(to_array(grad, root.dtype))
    if grad.shape != root.shape:
        raise ShapeError(f"backward(grad=…): grad has shape {tuple(grad.shape)}, but the tensor has shape "
                         f"{tuple(root.shape)}")
    return grad


def input_gradients(f, gy: Tensor) -> list:
    """``[(input, dL/dinput)]`` from ``f.backward(gy)`` for the inputs that need one, shapes checked."""
    pairs = []
    for x, gx, needed in zip(f.inputs, f.backward(gy), f.needs_grad):
        if needed and gx is not None:
            if gx.shape != x.shape:
                raise AutogradError(f"{f.name}.backward gave a gradient of shape {tuple(gx.shape)} for an "
                                    f"input of shape {tuple(x.shape)}")
            pairs.append((x, gx))
    return pairs


def backprop(roots, seeds, create_graph: bool = False, retain_graph: bool | None = None,
             wanted=()) -> dict:
    """Gradients of ``sum(root · seed)`` by every leaf that requires one, and by ``wanted``.

    Returns ``{id(t): (t, dL/dt)}``. ``create_graph`` records the backward pass;
    ``retain_graph`` (default: ``create_graph``) keeps the graph for another pass.
    """
    retain = create_graph if retain_graph is None else retain_graph
    order = topological_order(roots)
    wanted_creators = {t.creator: t for t in wanted if t.creator is not None}
    pending: dict = {}     # Function -> gradient by its output
    found: dict = {}       # id(tensor) -> (tensor, gradient): leaves and wanted tensors

    def deposit(t: Tensor, g: Tensor) -> None:
        table, key = (pending, t.creator) if t.creator is not None else (found, id(t))
        if key in table:
            table[key] = (t, table[key][1] + g)
        else:
            table[key] = (t, g)

    with set_grad_enabled(create_graph):
        for root, seed in zip(roots, seeds):
            deposit(root, seed)
        for f in order:
            _, gy = pending.pop(f, (None, None))
            if gy is not None:
                if f in wanted_creators:
                    found[id(wanted_creators[f])] = (wanted_creators[f], gy)
                for x, gx in input_gradients(f, gy):
                    deposit(x, gx)
            if not retain:
                f.release()
    return found


def _own_array(g: Tensor, taken: set) -> Tensor:
    """``g``, or a copy when its array is read-only (a broadcast view) or already some other leaf's."""
    if not g.data.flags.writeable or id(g.data) in taken:
        g = Tensor(g.data.copy())
    taken.add(id(g.data))
    return g


def backward(root: Tensor, grad=None, create_graph: bool = False, retain_graph: bool | None = None) -> None:
    """``root.backward(grad)``: accumulate into ``.grad`` of every leaf that requires a gradient."""
    if not root.requires_grad:
        raise AutogradError(f"backward() on a tensor of shape {tuple(root.shape)} that requires no gradient: "
                            f"no input of its computation has requires_grad=True, or it was computed "
                            f"under no_grad()")
    seed = seed_gradient(root, grad)
    found = backprop([root], [seed], create_graph, retain_graph)
    taken = {id(seed.data)}
    with set_grad_enabled(create_graph):
        for leaf, g in found.values():
            if not leaf.requires_grad:
                continue
            if not create_graph:
                g = _own_array(g, taken)
            leaf.grad = g if leaf.grad is None else leaf.grad + g


def grad(outputs, inputs, grad_outputs=None, create_graph: bool = False,
         retain_graph: bool | None = None) -> tuple:
    """``(d sum(outputs) / d input for input in inputs)``, without touching any ``.grad``.

    ``outputs``, ``inputs``: a Tensor or a sequence of them; ``grad_outputs``: the
    seeds (dL/doutput) for non-scalar outputs. An input the outputs do not depend on
    gets zeros. With ``create_graph=True`` the results can be differentiated again
    (a second derivative is ``grad(grad(y, x, create_graph=True)[0], x)``).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    for x in inputs:
        if not isinstance(x, Tensor):
            raise AutogradError(f"grad(): inputs must be Tensors, not {type(x).__name__}")
    seeds = [seed_gradient(y, g) for y, g in zip(outputs, grad_outputs)]
    found = backprop(outputs, seeds, create_graph, retain_graph, wanted=inputs)
    return tuple(found[id(x)][1] if id(x) in found else Tensor(xp.zeros_like(x.data)) for x in inputs)
