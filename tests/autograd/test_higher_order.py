"""Derivatives of derivatives against closed forms: tanh, sigmoid, exp·sin, a third
derivative, a Hessian-vector product and Newton's method."""
import numpy as np

import nnpy.autograd as ag
from nnpy.autograd import Tensor, grad

X = np.linspace(-2.0, 2.0, 9)


def derivatives(fn, x, order):
    """[f', f'', …] up to ``order`` at the points x (float64), each by grad(create_graph=True)."""
    t = Tensor(x, requires_grad=True)
    y, out = fn(t), []
    for _ in range(order):
        (y,) = grad(y.sum(), t, create_graph=True)
        out.append(y.data)
    return out


def test_tanh_second_and_third_derivatives():
    t = np.tanh(X)
    d1, d2, d3 = derivatives(ag.tanh, X, 3)
    np.testing.assert_allclose(d1, 1 - t ** 2, rtol=1e-12)
    np.testing.assert_allclose(d2, -2 * t * (1 - t ** 2), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d3, -2 * (1 - t ** 2) * (1 - 3 * t ** 2), rtol=1e-12, atol=1e-15)


def test_sigmoid_second_derivative():
    s = 1 / (1 + np.exp(-X))
    d1, d2 = derivatives(ag.sigmoid, X, 2)
    np.testing.assert_allclose(d1, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(d2, s * (1 - s) * (1 - 2 * s), rtol=1e-12, atol=1e-15)


def test_exp_times_sin_derivatives():
    """f = eˣ sin x:  f' = eˣ (sin x + cos x),  f'' = 2eˣ cos x,  f⁽³⁾ = 2eˣ (cos x − sin x)."""
    d1, d2, d3 = derivatives(lambda x: ag.exp(x) * ag.sin(x), X, 3)
    e, s, c = np.exp(X), np.sin(X), np.cos(X)
    np.testing.assert_allclose(d1, e * (s + c), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d2, 2 * e * c, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d3, 2 * e * (c - s), rtol=1e-12, atol=1e-15)


def test_exp_times_square_second_derivative():
    """f = eˣ x²:  f'' = eˣ (x² + 4x + 2)."""
    d1, d2 = derivatives(lambda x: ag.exp(x) * x * x, X, 2)
    np.testing.assert_allclose(d1, np.exp(X) * (X ** 2 + 2 * X), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d2, np.exp(X) * (X ** 2 + 4 * X + 2), rtol=1e-12, atol=1e-15)


def test_product_of_exp_and_tanh_third_derivative():
    """f = e^{2x} · tanh x: Leibniz's rule gives f''' = Σ C(3,k) (e^{2x})^{(3−k)} tanh^{(k)}."""
    t = np.tanh(X)
    tanh_d = [t, 1 - t ** 2, -2 * t * (1 - t ** 2), -2 * (1 - t ** 2) * (1 - 3 * t ** 2)]
    e = np.exp(2 * X)
    expected = sum(c * 2 ** (3 - k) * e * tanh_d[k] for k, c in enumerate([1, 3, 3, 1]))
    (_, _, d3) = derivatives(lambda x: ag.exp(2 * x) * ag.tanh(x), X, 3)
    np.testing.assert_allclose(d3, expected, rtol=1e-11)


def test_polynomial_derivatives_end_in_zero():
    d1, d2, d3, d4 = derivatives(lambda x: x ** 3, X, 4)
    np.testing.assert_allclose(d3, 6.0)
    assert np.all(d4 == 0)       # 6 no longer depends on x: zeros, not an error


def test_hessian_vector_product():
    """f(x) = ½ xᵀAx + Σ tanh(x): H = A_sym + diag(tanh''); Hv by differentiating ∇f · v."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    x0, v = rng.normal(size=5), rng.normal(size=5)
    x = Tensor(x0, requires_grad=True)
    f = 0.5 * (x @ (Tensor(a) @ x)) + ag.tanh(x).sum()
    (g,) = grad(f, x, create_graph=True)
    (hv,) = grad((g * Tensor(v)).sum(), x)
    t = np.tanh(x0)
    hessian = 0.5 * (a + a.T) + np.diag(-2 * t * (1 - t ** 2))
    np.testing.assert_allclose(hv.data, hessian @ v, rtol=1e-12)


def test_newtons_method_with_second_derivatives():
    """DeZero's example: f(x) = x⁴ − 2x² from x = 2 reaches the minimum x = 1 in a few steps."""
    x = Tensor(np.array(2.0), requires_grad=True)
    for _ in range(10):
        y = x ** 4 - 2 * x ** 2
        (gx,) = grad(y, x, create_graph=True)
        (gx2,) = grad(gx, x)
        x = Tensor(x.data - gx.data / gx2.data, requires_grad=True)
    assert abs(x.item() - 1.0) < 1e-12


def test_backward_create_graph_accumulates_a_differentiable_grad():
    x = Tensor(np.array([0.3, -0.7]), requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    np.testing.assert_allclose(first.data, 3 * x.data ** 2)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)
