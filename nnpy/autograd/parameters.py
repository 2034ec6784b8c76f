"""``Parameters``: leaf Tensors under names, in the shape nnpy's optimizers update."""
from __future__ import annotations

from ..backend import xp
from ..errors import AutogradError
from .tensor import Tensor


class Parameters:
    """Named leaf Tensors that nnpy's optimizers can update: ``make_optimizer("adam", Parameters(w=w, b=b))``.

    Optimizers call ``named_parameters()`` and ``named_gradients()`` (arrays, same keys);
    a Tensor without a gradient yet counts as zeros. ``zero_grad()`` clears every ``.grad``.
    """

    def __init__(self, tensors: dict | None = None, **named: Tensor):
        self.tensors = {**(tensors or {}), **named}
        for key, t in self.tensors.items():
            if not isinstance(t, Tensor) or not t.requires_grad:
                raise AutogradError(f"Parameters: '{key}' must be a Tensor with requires_grad=True")

    def named_parameters(self) -> dict:
        return {k: t.data for k, t in self.tensors.items()}

    def named_gradients(self) -> dict:
        return {k: t.grad.data if t.grad is not None else xp.zeros_like(t.data) for k, t in self.tensors.items()}

    def zero_grad(self) -> None:
        for t in self.tensors.values():
            t.grad = None

    def __iter__(self):
        return iter(self.tensors.values())
