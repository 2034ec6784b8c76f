"""Check a Tensor function's gradients against central finite differences, in float64.

For inputs x₁…xₖ and a random upstream gradient g, the scalar L = Σ f(x₁…xₖ) · g is
differentiated by ``backward`` and numerically, (L(x + ε) − L(x − ε)) / 2ε entry by
entry; the error per input is ``|a − n|₂ / max(|a|₂ + |n|₂, 1e-12)`` as in
``nnpy.gradcheck``. Use it on a ``Function`` of your own before trusting it.
"""
from __future__ import annotations

import numpy as np

from ..nn.gradcheck import central_differences, relative_error
from .tensor import Tensor


def check_grad(fn, *inputs, eps: float = 1e-6, seed: int = 0, max_entries: int = 200) -> list[float]:
    """Relative error of d(Σ fn(*inputs)·g)/dinput for every floating input (float64 copies).

    ``inputs``: arrays (or Tensors); integer ones are passed through undifferentiated.
    At most ``max_entries`` randomly chosen entries of each input are perturbed.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.array(x.data if isinstance(x, Tensor) else x) for x in inputs]
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    tensors = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y = fn(*tensors)
    g = rng.normal(size=y.shape)
    total = (y * g).sum()
    if total.requires_grad:       # else y does not depend on the inputs: every gradient is 0
        total.backward()

    def loss() -> float:
        # inputs still require gradients: fn may differentiate inside (a gradient of a gradient)
        return float(np.sum(fn(*[Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]).data * g))

    errors = []
    for a, t in zip(arrays, tensors):
        if a.dtype.kind != "f":
            continue
        analytic = t.grad.data if t.grad is not None else np.zeros_like(a)
        picked = rng.choice(a.size, size=min(a.size, max_entries), replace=False)
        numeric = central_differences(loss, a, picked, eps)     # perturbs a in place, entry by entry
        errors.append(relative_error(analytic.reshape(-1)[picked], numeric))
    return errors
