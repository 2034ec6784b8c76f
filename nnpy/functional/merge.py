"""Merging several tensors into one: concatenation, element-wise sum and product.

Each takes a list of arrays ``xs`` with the batch axis first; ``axis`` below counts the batch
axis too (as numpy does). The backward functions take the upstream gradient ``grad_y`` and
return one gradient per input, in the inputs' order.
"""
from __future__ import annotations

from ..backend import xp


def concatenate(xs: list, axis: int):
    """``xs``: arrays equal in every axis but ``axis`` → one array, the inputs side by side."""
    return xp.concatenate(xs, axis=axis)


def concatenate_backward(grad_y, sizes: list[int], axis: int) -> list:
    """Split ``grad_y`` along ``axis`` into pieces of ``sizes`` (each input's extent): dL/dxᵢ."""
    bounds = [sum(sizes[:i]) for i in range(1, len(sizes))]
    return xp.split(grad_y, bounds, axis=axis)


def add(xs: list):
    """x₀ + x₁ + …, element by element (equal shapes)."""
    y = xs[0] + xs[1]
    for x in xs[2:]:
        y += x
    return y


def add_backward(grad_y, count: int) -> list:
    """dL/dxᵢ = dL/dy for each of the ``count`` inputs (the same array, read-only for callers)."""
    return [grad_y] * count


def multiply(xs: list):
    """x₀ · x₁ · …, element by element (equal shapes)."""
    y = xs[0] * xs[1]
    for x in xs[2:]:
        y *= x
    return y


def multiply_backward(grad_y, xs: list) -> list:
    """dL/dxᵢ = dL/dy · ∏_{j≠i} xⱼ (the product of the other inputs; no division, so zeros are fine)."""
    grads = []
    for i in range(len(xs)):
        g = grad_y
        for j, x in enumerate(xs):
            if j != i:
                g = g * x
        grads.append(g)
    return grads
