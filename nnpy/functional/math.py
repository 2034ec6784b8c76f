"""``exp`` and ``log`` of a numpy array or of an autograd Tensor.

The functions of ``nnpy.functional`` are written once for both kinds of argument. Operators and
methods (``a * b``, ``a.sum()``) dispatch by themselves; these two are the functions they need
that numpy offers only as ``np.exp(a)``: a Tensor has its own ``exp()``/``log()`` method, which
records the operation for backward.
"""
from __future__ import annotations

from ..backend import xp


def exp(a):
    """eᵃ, element-wise."""
    return xp.exp(a) if isinstance(a, (xp.ndarray, xp.generic, float, int)) else a.exp()


def log(a):
    """ln a, element-wise."""
    return xp.log(a) if isinstance(a, (xp.ndarray, xp.generic, float, int)) else a.log()
