"""Newton's method with second derivatives from autograd (DeZero's example, step 33).

    python examples/newton.py

Minimize f(x) = x⁴ − 2x² from x = 2: x ← x − f'(x) / f''(x), where f' is computed with
``create_graph=True`` so that it can be differentiated again for f''. Reaches the
minimum x = 1 in 7 steps (gradient descent with lr 0.01 needs over a hundred).
"""
import numpy as np

from nnpy.autograd import Tensor, grad


def f(x):
    return x ** 4 - 2 * x ** 2


def newton(x0: float = 2.0, steps: int = 10, tol: float = 1e-12) -> list[float]:
    """The iterates x₀, x₁, … until a step is smaller than ``tol``."""
    xs = [x0]
    for _ in range(steps):
        x = Tensor(np.array(xs[-1], dtype=np.float64), requires_grad=True)
        (first,) = grad(f(x), x, create_graph=True)     # f'(x) = 4x³ − 4x, itself a graph
        (second,) = grad(first, x)                      # f''(x) = 12x² − 4
        xs.append(float(x.data - first.data / second.data))
        if abs(xs[-1] - xs[-2]) < tol:
            break
    return xs


if __name__ == "__main__":
    for i, x in enumerate(newton()):
        print(f"step {i}: x = {x:.15f}")
