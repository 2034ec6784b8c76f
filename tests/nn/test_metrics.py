"""Per-class accuracy and the confusion matrix on hand-made cases whose rows and columns differ,
so that a computation over the wrong axis gives other numbers."""
import numpy as np
import pytest

from nnpy.nn.metrics import confusion_matrix, per_class_accuracy

# row = true class, column = predicted class; row sums 4, 4, 8 and column sums 5, 7, 4
CM = np.array([[3, 1, 0],
               [2, 2, 0],
               [0, 4, 4]])


def test_per_class_accuracy_divides_by_the_true_class_count():
    np.testing.assert_allclose(per_class_accuracy(CM), [3 / 4, 2 / 4, 4 / 8])
    # the same matrix read by column (precision) gives other values: the case can tell them apart
    assert not np.allclose(per_class_accuracy(CM), np.diag(CM) / CM.sum(axis=0))


def test_a_class_without_samples_has_accuracy_zero():
    np.testing.assert_array_equal(per_class_accuracy(np.array([[0, 0], [1, 3]])), [0.0, 0.75])


def test_confusion_matrix_rows_are_true_classes():
    pred = np.eye(3)[[0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2]] * 5.0   # logits
    target = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2])
    cm = confusion_matrix(pred, target, 3)
    np.testing.assert_array_equal(cm, CM)
    assert per_class_accuracy(cm) == pytest.approx([0.75, 0.5, 0.5])
