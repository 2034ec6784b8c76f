import numpy as np
import pytest

from nnpy.nn.losses import make_loss
from nnpy.nn.metrics import accuracy, confusion_matrix, mae, mse, top_k_accuracy


def numeric_grad(loss, pred, target, eps=1e-6):
    num = np.zeros_like(pred)
    for i in np.ndindex(pred.shape):
        p = pred.copy(); p[i] += eps
        plus = loss.forward(p, target)
        p[i] -= 2 * eps
        num[i] = (plus - loss.forward(p, target)) / (2 * eps)
    return num


def rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


rng = np.random.default_rng(0)
CASES = [
    ("cross_entropy", rng.normal(size=(4, 5)), np.array([0, 1, 4, 2])),
    ("cross_entropy", rng.normal(size=(4, 5)), np.eye(5)[[3, 1, 0, 2]]),
    ({"type": "cross_entropy", "label_smoothing": 0.1}, rng.normal(size=(4, 5)), np.array([0, 1, 4, 2])),
    ("cross_entropy", rng.normal(size=(2, 3, 4)), np.array([[0, 1, 3], [2, 2, 1]])),
    ("bce", rng.normal(size=(6, 1)), (rng.random((6, 1)) > 0.5).astype(float)),
    ("mse", rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
    ("mae", rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
    ({"type": "huber", "delta": 0.5}, rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
]


@pytest.mark.parametrize("spec,pred,target", CASES)
def test_loss_gradients_match_finite_differences(spec, pred, target):
    loss = make_loss(spec)
    loss.forward(pred, target)
    analytic = loss.backward()
    assert rel_error(analytic, numeric_grad(loss, pred, target)) < 1e-6


def test_cross_entropy_values_and_stability():
    loss = make_loss("cross_entropy")
    logits = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    assert loss.forward(logits, np.array([0])) == pytest.approx(0.0, abs=1e-6)
    assert loss.forward(logits, np.array([2])) == pytest.approx(2000.0, rel=1e-5)
    assert np.isfinite(loss.backward()).all()
    uniform = np.zeros((2, 4), np.float32)
    assert loss.forward(uniform, np.array([1, 3])) == pytest.approx(np.log(4), rel=1e-6)
    assert loss.backward().dtype == np.float32


def test_label_smoothing_value():
    logits = np.log(np.array([[0.7, 0.2, 0.1]]))
    value = make_loss({"type": "cross_entropy", "label_smoothing": 0.3}).forward(logits, np.array([0]))
    t = np.array([0.8, 0.1, 0.1])
    assert value == pytest.approx(-(t * np.log([0.7, 0.2, 0.1])).sum())


def test_bce_matches_definition_and_is_stable():
    z = np.array([[-50.0], [0.0], [3.0]])
    t = np.array([[0.0], [1.0], [1.0]])
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert make_loss("bce").forward(z, t) == pytest.approx(expected)
    assert np.isfinite(make_loss("bce").forward(np.array([[1e4], [-1e4]]), np.array([[0.0], [1.0]])))


def test_regression_losses_values():
    p, t = np.array([[1.0, 2.0, 5.0]]), np.array([[0.0, 2.0, 1.0]])
    assert make_loss("mse").forward(p, t) == pytest.approx((1 + 0 + 16) / 3)
    assert make_loss("mae").forward(p, t) == pytest.approx((1 + 0 + 4) / 3)
    assert make_loss("huber").forward(p, t) == pytest.approx((0.5 + 0 + 3.5) / 3)


def test_loss_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="loss 'mse'.*shape"):
        make_loss("mse").forward(np.zeros((2, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="target classes must be in"):
        make_loss("cross_entropy").forward(np.zeros((2, 3)), np.array([0, 3]))


def test_metrics():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 1.0, 2.0], [5.0, 0.0, 1.0]])
    y = np.array([0, 1, 1, 2])
    assert accuracy(logits, y) == 0.5
    assert accuracy(logits, np.eye(3)[y]) == 0.5
    assert top_k_accuracy(logits, y, k=2) == 1.0
    assert top_k_accuracy(logits, y, k=1) == 0.5
    cm = confusion_matrix(logits, y, 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    assert mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])) == 5.0
    assert mae(np.array([1.0, -3.0]), np.array([0.0, 0.0])) == 2.0
    assert accuracy(np.array([[0.3], [-2.0]]), np.array([1, 1])) == 0.5
