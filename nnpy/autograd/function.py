"""``Function``: one differentiable operation, its forward and its backward side by side.

A subclass writes ``forward(*arrays) -> array`` with plain array code and
``backward(grad_output: Tensor) -> tuple`` (one gradient per input, or None where
``self.needs_grad`` says nobody needs it) with **Tensor operations**: so when the
backward pass is itself recorded (``create_graph=True``) the gradients have a graph
of their own and can be differentiated again.

Calling a Function runs ``forward`` on the inputs' arrays. When the graph is being
recorded and an input requires a gradient, the output links back to the Function
(``output.creator``) and the Function keeps its inputs — but only a weak reference
to its output, so the graph has no reference cycles: dropping the last tensor
frees every activation at once, without waiting for the garbage collector.
"""
from __future__ import annotations

import weakref

from ..errors import AutogradError, ShapeError
from .tensor import Tensor, as_tensor, is_grad_enabled


class Function:
    """Base class of every operation. See the module docstring."""

    #: how the error for inputs that do not fit ends (after the op name and the shapes)
    mismatch = "do not fit"

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    def __call__(self, *inputs) -> Tensor:
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        inputs = tuple(as_tensor(x, like) for x in inputs)
        try:
            y = self.forward(*(x.data for x in inputs))
        except ValueError as exc:
            raise self.shape_error(inputs, str(exc)) from None
        out = Tensor(y)
        if is_grad_enabled() and any(x.requires_grad for x in inputs):
            self.inputs = inputs
            self.needs_grad = tuple(x.requires_grad for x in inputs)
            self._output = weakref.ref(out)
            out.requires_grad, out.creator = True, self
        return out

    def shape_error(self, inputs, reason: str = "") -> ShapeError:
        """``<op>: shapes (2, 3) and (4,) <mismatch>`` — one line naming every input shape."""
        shapes = " and ".join(str(tuple(x.shape)) for x in inputs)
        detail = f" ({reason.splitlines()[0]})" if reason and self.mismatch == Function.mismatch else ""
        return ShapeError(f"{self.name}: shapes {shapes} {self.mismatch}{detail}")

    @property
    def output(self) -> Tensor:
        """The tensor this call produced (alive while anything downstream still uses it)."""
        return self._output()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad_output: Tensor) -> tuple:
        raise NotImplementedError

    # ---- the graph's end of life ------------------------------------------------------------
    released = False

    def release(self) -> None:
        """Forget inputs and saved arrays (after a backward pass that does not keep the graph)."""
        vars(self).clear()
        self.released = True

    def check_alive(self) -> None:
        if self.released:
            raise AutogradError(f"backward through the graph a second time: its '{self.name}' step was "
                                f"released by the first backward(); pass retain_graph=True (or "
                                f"create_graph=True) to the first one to keep it")
