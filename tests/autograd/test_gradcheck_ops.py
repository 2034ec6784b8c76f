"""Every operation and function of nnpy.autograd against float64 finite differences —
first derivatives, and (through create_graph) the derivatives of their backward passes."""
import numpy as np
import pytest

import nnpy.autograd as ag
from nnpy.autograd import check_grad

R = np.random.default_rng(42)


def normal(*shape):
    return R.normal(size=shape)


def positive(*shape):
    return R.uniform(0.5, 2.0, size=shape)


def away_from_zero(*shape):
    """Values with |v| ≥ 0.1, so kinks (relu, abs) are never within ε."""
    v = R.uniform(0.1, 2.0, size=shape)
    return v * R.choice([-1.0, 1.0], size=shape)


MASK = R.random((3, 4)) > 0.5
REPEATED_ROWS = np.array([0, 2, 2, 1, 0])
LABELS = np.array([2, 0, 1, 2])
SOFT = R.dirichlet(np.ones(5), size=(4,))

# name -> (function of Tensors, input arrays)
CASES = {
    # broadcasting: same shape, scalar, row, column, leading axes, both sides stretched
    "add": (lambda a, b: a + b, [normal(3, 4), normal(3, 4)]),
    "add scalar": (lambda a, b: a + b, [normal(3, 4), normal()]),
    "add row": (lambda a, b: a + b, [normal(3, 4), normal(4)]),
    "add column": (lambda a, b: a + b, [normal(3, 4), normal(3, 1)]),
    "add leading axes": (lambda a, b: a + b, [normal(2, 3, 4), normal(3, 4)]),
    "add both stretched": (lambda a, b: a + b, [normal(2, 1, 4), normal(3, 1)]),
    "add python number": (lambda a: 2.5 + a, [normal(3)]),
    "sub row": (lambda a, b: a - b, [normal(3, 4), normal(4)]),
    "rsub": (lambda a: 1.0 - a, [normal(3)]),
    "mul column": (lambda a, b: a * b, [normal(3, 4), normal(3, 1)]),
    "mul leading axes": (lambda a, b: a * b, [normal(4), normal(2, 3, 4)]),
    "div": (lambda a, b: a / b, [normal(3, 4), positive(3, 4)]),
    "div scalar": (lambda a, b: a / b, [normal(3, 4), positive()]),
    "rdiv": (lambda a: 2.0 / a, [positive(3)]),
    "pow constant": (lambda a: a ** 3, [normal(3, 4)]),
    "pow tensor exponent": (lambda a, b: a ** b, [positive(3, 4), normal(4)]),
    "rpow": (lambda a: 2.0 ** a, [normal(5)]),
    "neg": (lambda a: -a, [normal(3, 4)]),
    # matrix products with numpy's rules
    "matmul 2d": (lambda a, b: a @ b, [normal(3, 4), normal(4, 5)]),
    "matmul vector-matrix": (lambda a, b: a @ b, [normal(4), normal(4, 5)]),
    "matmul matrix-vector": (lambda a, b: a @ b, [normal(3, 4), normal(4)]),
    "matmul vector-vector": (lambda a, b: a @ b, [normal(4), normal(4)]),
    "matmul sequence @ matrix": (lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 5)]),
    "matmul batched": (lambda a, b: a @ b, [normal(2, 3, 4), normal(2, 4, 5)]),
    "matmul broadcast batch": (lambda a, b: a @ b, [normal(2, 3, 4), normal(1, 4, 5)]),
    "matmul matrix @ batch": (lambda a, b: a @ b, [normal(3, 4), normal(2, 4, 5)]),
    # element-wise
    "exp": (ag.exp, [normal(3, 4)]),
    "log": (ag.log, [positive(3, 4)]),
    "sqrt": (ag.sqrt, [positive(3, 4)]),
    "sin": (ag.sin, [normal(3, 4)]),
    "cos": (ag.cos, [normal(3, 4)]),
    "tanh": (ag.tanh, [normal(3, 4)]),
    "sigmoid": (ag.sigmoid, [normal(3, 4) * 4]),
    "relu": (ag.relu, [away_from_zero(3, 4)]),
    "abs": (ag.abs, [away_from_zero(3, 4)]),
    "maximum": (ag.maximum, [normal(3, 4), normal(3, 4)]),
    "maximum row": (ag.maximum, [normal(3, 4), normal(4)]),
    "maximum with number": (lambda a: ag.maximum(a, 0.2), [away_from_zero(3, 4)]),
    "where": (lambda a, b: ag.where(MASK, a, b), [normal(3, 4), normal(3, 4)]),
    "where broadcast": (lambda a, b: ag.where(MASK, a, b), [normal(4), normal(3, 1)]),
    "dropout": (lambda a: ag.dropout(a, 0.3, True, np.random.default_rng(5)), [normal(4, 6)]),
    # reductions
    "sum all": (lambda a: a.sum(), [normal(2, 3, 4)]),
    "sum axis 0": (lambda a: a.sum(axis=0), [normal(2, 3, 4)]),
    "sum axis -1 keepdims": (lambda a: a.sum(axis=-1, keepdims=True), [normal(2, 3, 4)]),
    "sum axes (0, -1)": (lambda a: a.sum(axis=(0, -1)), [normal(2, 3, 4)]),
    "mean all": (lambda a: a.mean(), [normal(2, 3, 4)]),
    "mean axis -2 keepdims": (lambda a: a.mean(axis=-2, keepdims=True), [normal(2, 3, 4)]),
    "mean axes (1, 2)": (lambda a: ag.mean(a, axis=(1, 2)), [normal(2, 3, 4)]),
    "max all": (lambda a: a.max(), [normal(2, 3, 4)]),
    "max axis 1": (lambda a: a.max(axis=1), [normal(2, 3, 4)]),
    "max axis -1 keepdims": (lambda a: a.max(axis=-1, keepdims=True), [normal(2, 3, 4)]),
    "max axes (0, 2)": (lambda a: a.max(axis=(0, 2)), [normal(2, 3, 4)]),
    # shapes
    "reshape": (lambda a: a.reshape(4, 6), [normal(2, 3, 4)]),
    "reshape -1 tuple": (lambda a: a.reshape((-1, 2)), [normal(2, 3, 4)]),
    "transpose": (lambda a: a.transpose(), [normal(2, 3, 4)]),
    "transpose axes": (lambda a: a.transpose(1, 2, 0), [normal(2, 3, 4)]),
    "transpose negative axes": (lambda a: a.transpose((-1, 0, 1)), [normal(2, 3, 4)]),
    ".T": (lambda a: a.T, [normal(3, 4)]),
    "flatten": (lambda a: a.flatten(), [normal(2, 3, 4)]),
    "flatten(1)": (lambda a: a.flatten(1), [normal(2, 3, 4)]),
    "broadcast_to": (lambda a: ag.broadcast_to(a, (2, 3, 4)), [normal(3, 1)]),
    "sum_to": (lambda a: ag.sum_to(a, (3, 1)), [normal(2, 3, 4)]),
    # indexing: slices, integers, integer arrays (with repeats), boolean masks
    "index slice": (lambda a: a[1:3], [normal(4, 5)]),
    "index step": (lambda a: a[:, ::2], [normal(4, 5)]),
    "index integer": (lambda a: a[-1], [normal(4, 5)]),
    "index ellipsis": (lambda a: a[..., 0], [normal(2, 3, 4)]),
    "index repeated rows": (lambda a: a[REPEATED_ROWS], [normal(3, 4)]),
    "index repeated pairs": (lambda a: a[REPEATED_ROWS, np.array([1, 1, 3, 0, 1])], [normal(3, 4)]),
    "index list and slice": (lambda a: a[[0, 0, 2], 1:3], [normal(3, 4)]),
    "index boolean mask": (lambda a: a[MASK], [normal(3, 4)]),
    "index boolean rows": (lambda a: a[np.array([True, False, True])], [normal(3, 4)]),
    "concatenate": (lambda a, b, c: ag.concatenate([a, b, c]), [normal(2, 3), normal(1, 3), normal(4, 3)]),
    "concatenate axis -1": (lambda a, b: ag.concatenate([a, b], axis=-1), [normal(2, 3), normal(2, 2)]),
    "stack": (lambda a, b: ag.stack([a, b]), [normal(2, 3), normal(2, 3)]),
    "stack axis -1": (lambda a, b: ag.stack([a, b], axis=-1), [normal(2, 3), normal(2, 3)]),
    # one tensor used several times: the gradients add up
    "used twice": (lambda a: a * a + a, [normal(3, 4)]),
    "diamond": (lambda a: (lambda h: h * h + ag.tanh(h))(ag.exp(a)), [normal(3, 4)]),
    "used as both operands of matmul": (lambda a: a @ a.T, [normal(3, 4)]),
    # softmax and losses
    "softmax": (ag.softmax, [normal(3, 5)]),
    "softmax axis 0": (lambda a: ag.softmax(a, axis=0), [normal(3, 5)]),
    "log_softmax": (ag.log_softmax, [normal(3, 5)]),
    "log_softmax axis -2": (lambda a: ag.log_softmax(a, axis=-2), [normal(2, 3, 5)]),
    "cross_entropy labels": (lambda z: ag.cross_entropy(z, np.array([1, 4, 0])), [normal(3, 5)]),
    "cross_entropy sequence": (lambda z: ag.cross_entropy(z, np.array([[0, 2], [1, 1]])), [normal(2, 2, 3)]),
    "cross_entropy probabilities": (lambda z: ag.cross_entropy(z, SOFT), [normal(4, 5)]),
    "mse": (ag.mse, [normal(3, 4), normal(3, 4)]),
    # convolution and pooling
    "conv2d": (lambda x, w: ag.conv2d(x, w), [normal(2, 2, 5, 5), normal(3, 2, 3, 3)]),
    "conv2d bias stride 2 pad 1": (lambda x, w, b: ag.conv2d(x, w, b, stride=2, padding=1),
                                   [normal(2, 2, 6, 7), normal(3, 2, 3, 3), normal(3)]),
    "conv2d same stride 2": (lambda x, w: ag.conv2d(x, w, stride=2, padding="same"),
                             [normal(1, 2, 7, 6), normal(2, 2, 4, 3)]),
    "conv2d stride pair": (lambda x, w: ag.conv2d(x, w, stride=(1, 2), padding=(1, 0)),
                           [normal(2, 1, 5, 6), normal(2, 1, 2, 3)]),
    "max_pool2d": (lambda x: ag.max_pool2d(x, 2), [normal(2, 3, 6, 6)]),
    "max_pool2d overlapping": (lambda x: ag.max_pool2d(x, 3, stride=2), [normal(2, 2, 7, 7)]),
    "max_pool2d rectangular": (lambda x: ag.max_pool2d(x, (2, 3), stride=(1, 2)), [normal(1, 2, 5, 7)]),
    # a small network
    "mlp": (lambda x, w1, b1, w2: ag.tanh(ag.relu(x @ w1 + b1) @ w2).sum(axis=-1),
            [normal(4, 3), normal(3, 5), normal(5), normal(5, 2)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_first_derivatives(name):
    fn, inputs = CASES[name]
    errors = check_grad(fn, *inputs)
    assert errors and max(errors) < 1e-7, f"{name}: relative errors {errors}"


def gradient_of(fn, n_inputs):
    """x -> d(Σ fn(x)·g)/dx for all inputs, flattened into one Tensor, recorded for another pass."""
    def gradients(*xs):
        y = fn(*xs)
        g = np.random.default_rng(7).normal(size=y.shape)
        grads = ag.grad((y * g).sum(), xs, create_graph=True)
        return ag.concatenate([g.flatten() for g in grads])
    return gradients


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives(name):
    """The backward of every op is itself differentiable (create_graph=True), and right."""
    fn, inputs = CASES[name]
    errors = check_grad(gradient_of(fn, len(inputs)), *inputs)
    assert errors and max(errors) < 1e-6, f"{name}: relative errors {errors}"
