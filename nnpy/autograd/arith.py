"""Arithmetic with numpy broadcasting: + − × ÷ ** @ and negation.

When an input was broadcast to the output's shape, its gradient is the output
gradient summed back over the broadcast axes (``sum_to``).
"""
from __future__ import annotations

from ..backend import xp
from .function import Function
from .elementwise import log
from .shape import sum_to, transpose


class Broadcasting(Function):
    """A binary element-wise operation; its inputs must broadcast together."""
    mismatch = "cannot be broadcast together (trailing axes must be equal or 1)"


class Add(Broadcasting):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy, a.shape) if self.needs_grad[0] else None,
                sum_to(gy, b.shape) if self.needs_grad[1] else None)


class Sub(Broadcasting):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy, a.shape) if self.needs_grad[0] else None,
                sum_to(-gy, b.shape) if self.needs_grad[1] else None)


class Mul(Broadcasting):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy * b, a.shape) if self.needs_grad[0] else None,
                sum_to(gy * a, b.shape) if self.needs_grad[1] else None)


class Div(Broadcasting):
    """y = a / b;  da = gy / b,  db = −gy · a / b²."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy / b, a.shape) if self.needs_grad[0] else None,
                sum_to(-gy * a / (b * b), b.shape) if self.needs_grad[1] else None)


class Pow(Broadcasting):
    """y = a ** b;  da = gy · b · a^(b−1),  db = gy · y · log(a) (only when b requires it)."""

    def forward(self, a, b):
        return a ** b

    def backward(self, gy):
        a, b = self.inputs
        if not b.requires_grad and not b.data.any():   # a⁰ = 1 is constant (and 0 · a⁻¹ would be nan at 0)
            return (sum_to(gy * 0, a.shape), None)
        return (sum_to(gy * b * a ** (b - 1), a.shape) if self.needs_grad[0] else None,
                sum_to(gy * self.output * log(a), b.shape) if self.needs_grad[1] else None)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return (-gy,)


class MatMul(Function):
    """y = a @ b with numpy's rules: (…, n, k) @ (…, k, m) -> (…, n, m), 1-D operands promoted.

    da = gy @ bᵀ and db = aᵀ @ gy, summed over broadcast batch axes.
    """
    mismatch = "do not fit a matrix product (…, n, k) @ (…, k, m)"

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError("inner sizes differ")
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        # view 1-D operands as matrices, as numpy does: (k,) -> (1, k) on the left, (k, 1) on the right
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        batch = xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = gy.reshape(*batch, a2.shape[-2], b2.shape[-1])   # the axes numpy dropped have size 1
        ga = gb = None
        if self.needs_grad[0]:
            ga = sum_to(gy2 @ swap_last(b2), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:
            if b2.ndim == 2 and a2.ndim > 2:   # (N, T, k) @ (k, m): one GEMM over all rows
                gb = a2.reshape(-1, a2.shape[-1]).T @ gy2.reshape(-1, gy2.shape[-1])
            else:
                gb = sum_to(swap_last(a2) @ gy2, b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def swap_last(t):
    """``t`` with its last two axes swapped (the matrix transpose of a batch of matrices)."""
    axes = list(range(t.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(t, axes)


def add(a, b): return Add()(a, b)
def sub(a, b): return Sub()(a, b)
def mul(a, b): return Mul()(a, b)
def div(a, b): return Div()(a, b)
def pow(a, b): return Pow()(a, b)    # noqa: A001 (the ** operator)
def neg(a): return Neg()(a)
def matmul(a, b): return MatMul()(a, b)
