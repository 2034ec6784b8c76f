"""The Tensor API: dtypes, operators, comparisons, no_grad, accumulation, errors, memory."""
import gc
import subprocess
import sys
import weakref

import numpy as np
import pytest

import nnpy.autograd as ag
from nnpy.autograd import Tensor, grad, no_grad
from nnpy.errors import AutogradError, NnpyError, ShapeError


def test_attributes_and_default_dtype():
    t = Tensor([[1, 2, 3]], requires_grad=True)
    assert t.dtype == np.float32 and t.shape == (1, 3) and t.requires_grad and t.grad is None
    assert t.numpy() is t.data and t.detach().data is t.data and not t.detach().requires_grad
    assert Tensor(np.arange(3)).dtype == np.int64            # numpy arrays keep their dtype
    assert Tensor(np.zeros(2)).dtype == np.float64
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    for y in (x * 2.0, x + np.float64(1), 2 ** x, x / np.ones(3), ag.maximum(x, 0), x[np.array([0, 0])]):
        assert y.dtype == np.float32, y                       # constants take the tensor's dtype
    assert "requires_grad=True" in repr(x)


def test_default_dtype_follows_the_backend(monkeypatch):
    import nnpy.backend
    monkeypatch.setattr(nnpy.backend, "_default_dtype", np.dtype("float64"))
    assert Tensor(1.5).dtype == np.float64


def test_iteration_gives_rows_in_the_graph():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    (rows[0] * 2 + rows[2]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[2, 2], [0, 0], [1, 1]])
    assert bool(Tensor(1.0)) and not bool(Tensor(0.0))


def test_comparisons_return_plain_arrays():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, 2 < x, np.float32(2) > x):
        assert isinstance(result, np.ndarray) and result.dtype == bool
    np.testing.assert_array_equal(x > 2, [False, False, True])


def test_ndarray_on_the_left_defers_to_the_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], np.float32) * x + np.ones(2)
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_gradients_accumulate_over_backward_calls_and_uses():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    y = x * x + x                                  # x used three times
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 1)
    (3 * x).sum().backward()                       # a second graph adds to .grad
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 4)


def test_leaf_gradients_are_writable_and_not_shared():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()                       # both gradients come from one broadcast view
    a.grad.data *= 2                               # an optimizer may scale gradients in place
    np.testing.assert_array_equal(b.grad.data, [1, 1, 1])


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = ag.tanh(x) * 2
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.creator is None
    with pytest.raises(AutogradError, match="requires no gradient"):
        y.sum().backward()


def test_detach_cuts_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).detach() * x                       # d/dx = x² (the detached factor is a constant)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 4.0])


def test_grad_leaves_dot_grad_alone_and_gives_zeros_for_unused_inputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    unused = Tensor([5.0], requires_grad=True)
    gx, gu = grad((x ** 2).sum(), [x, unused])
    np.testing.assert_allclose(gx.data, [2.0, 4.0])
    np.testing.assert_array_equal(gu.data, [0.0])
    assert x.grad is None and unused.grad is None


def test_grad_by_an_intermediate_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (gh,) = grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


# ---- bad use: one line naming both shapes -------------------------------------------------------
def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and isinstance(exc_info.value, NnpyError)
    return message


def test_backward_on_a_non_scalar_without_grad():
    y = Tensor(np.ones((3, 4)), requires_grad=True) * 2
    with pytest.raises(ShapeError) as exc:
        y.backward()
    assert "(3, 4)" in one_line(exc) and "one element" in str(exc.value)


def test_backward_with_a_grad_of_the_wrong_shape():
    y = Tensor(np.ones((3, 4)), requires_grad=True) * 2
    with pytest.raises(ShapeError) as exc:
        y.backward(np.ones((4, 3)))
    message = one_line(exc)
    assert "(4, 3)" in message and "(3, 4)" in message


@pytest.mark.parametrize("make", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b, lambda a, b: a ** b,
    lambda a, b: ag.maximum(a, b), lambda a, b: ag.where(np.ones((2, 3), bool), a, b),
    lambda a, b: ag.concatenate([a, b], axis=1),
], ids=["add", "mul", "sub", "div", "pow", "maximum", "where", "concatenate"])
def test_incompatible_shapes_name_both(make):
    a, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones((4, 2)))
    with pytest.raises(ShapeError) as exc:
        make(a, b)
    message = one_line(exc)
    assert "(2, 3)" in message and "(4, 2)" in message


@pytest.mark.parametrize("make, shapes", [
    (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5))), ["(2, 3)", "(4, 5)"]),
    (lambda: Tensor(np.ones((2, 3))).reshape(4, 2), ["(2, 3)", "(4, 2)"]),
    (lambda: ag.stack([Tensor(np.ones(2)), Tensor(np.ones(3))]), ["(2,)", "(3,)"]),
    (lambda: ag.mse(Tensor(np.ones((4, 1))), np.ones(4)), ["(4, 1)", "(4,)"]),
    (lambda: ag.cross_entropy(Tensor(np.ones((4, 3))), np.zeros(5, int)), ["(4, 3)", "(5,)"]),
    (lambda: ag.conv2d(Tensor(np.ones((1, 2, 5, 5))), Tensor(np.ones((3, 1, 3, 3)))), ["(1, 2, 5, 5)", "(3, 1, 3, 3)"]),
    (lambda: Tensor(np.ones((2, 3))).sum(axis=2), ["(2, 3)", "axis 2"]),
    (lambda: Tensor(np.ones((2, 3)))[5], ["(2, 3)", "5"]),
], ids=["matmul", "reshape", "stack", "mse", "cross_entropy", "conv2d", "axis", "index"])
def test_other_shape_errors(make, shapes):
    with pytest.raises(ShapeError) as exc:
        make()
    message = one_line(exc)
    assert all(s in message for s in shapes), message


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(AutogradError, match="int64"):
        Tensor(np.arange(3), requires_grad=True)


def test_second_backward_through_a_released_graph_is_an_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = ag.tanh(x).sum()
    y.backward()
    with pytest.raises(AutogradError, match="retain_graph"):
        y.backward()
    z = ag.tanh(x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.data, 3 * (1 - np.tanh(x.data) ** 2), rtol=1e-6)


# ---- memory --------------------------------------------------------------------------------------
def _graph(x):
    """A small network; returns the loss and weak references to its two activations."""
    h = ag.tanh(x @ Tensor(np.ones((4, 8)), requires_grad=True))
    y = ag.sigmoid(h) * h
    refs = [weakref.ref(h.data), weakref.ref(y.data)]
    return y.sum(), refs


def test_backward_releases_the_graph_without_the_garbage_collector():
    gc.disable()
    try:
        x = Tensor(np.ones((3, 4)), requires_grad=True)
        loss, refs = _graph(x)
        assert all(r() is not None for r in refs)     # the graph keeps the activations alive …
        loss.backward()
        assert all(r() is None for r in refs)         # … until backward has used them
        assert loss.creator.released and x.grad is not None
    finally:
        gc.enable()


def test_dropping_the_output_frees_the_graph_without_the_garbage_collector():
    gc.disable()
    try:
        loss, refs = _graph(Tensor(np.ones((3, 4)), requires_grad=True))
        function = weakref.ref(loss.creator)
        del loss                                       # no reference cycles: freed at once
        assert function() is None and all(r() is None for r in refs)
    finally:
        gc.enable()


def test_create_graph_keeps_the_graph():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    loss, refs = _graph(x)
    loss.backward(create_graph=True)
    assert all(r() is not None for r in refs)


def test_imports_without_pillow_yaml_or_click():
    code = ("import sys\n"
            "for m in ('PIL', 'yaml', 'click'): sys.modules[m] = None\n"
            "import nnpy.autograd as ag\n"
            "x = ag.Tensor([1.0], requires_grad=True); ag.tanh(x).sum().backward()\n"
            "assert not any(m.startswith(('nnpy.engine', 'nnpy.data', 'nnpy.io')) for m in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---- a Function of one's own ---------------------------------------------------------------------
class Cube(ag.Function):
    """y = x³;  dx = gy · 3x² (in Tensor operations, so it can be differentiated again)."""

    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        x = self.inputs[0]
        return (gy * 3 * x * x,)


def test_a_user_function_is_checked_and_differentiated_twice():
    assert max(ag.check_grad(lambda x: Cube()(x), np.random.default_rng(0).normal(size=(3, 2)))) < 1e-8
    x = Tensor(np.array([2.0]), requires_grad=True)
    (g,) = grad(Cube()(x), x, create_graph=True)
    (g2,) = grad(g, x)
    assert g.item() == 12.0 and g2.item() == 12.0


def test_a_backward_of_the_wrong_shape_is_caught():
    class Broken(ag.Function):
        def forward(self, x):
            return x.sum()

        def backward(self, gy):
            return (gy,)                     # should be broadcast back to x's shape

    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(AutogradError, match=r"broken.backward gave a gradient of shape \(\) for an input of "
                                            r"shape \(3,\)"):
        Broken()(x).backward()
