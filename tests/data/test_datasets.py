import numpy as np
import pytest

import nnpy.data  # noqa: F401  (registers the datasets)
from nnpy.data import MNIST, Dataset, FashionMNIST, FunctionFit, Parity, Sine
from nnpy.data.datasets import FASHION_CLASSES, SINE_OMEGA
from nnpy.errors import ConfigError, DataError, RegistryError
from nnpy.registry import DATASETS

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def load(source, limit=None, **options):
    """The arrays of dataset class ``source`` built with ``options`` (first ``limit`` samples)."""
    return source(**options).load(limit=limit)


def test_registered():
    for name in ("mnist", "fashion-mnist", "sine", "function", "parity"):
        assert name in DATASETS
    assert DATASETS.get("fashion_mnist") is FashionMNIST


def test_mnist_limit():
    ds = DATASETS.make({"type": "mnist"}).load(limit=500)
    assert isinstance(ds, Dataset) and ds.name == "mnist" and ds.task == "classification"
    assert ds.x_train.shape == (500, 1, 28, 28) and ds.x_test.shape == (500, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.num_classes == 10 and ds.input_shape == (1, 28, 28)
    assert list(ds.y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]   # MNIST's first labels
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.min() >= 25 and counts.max() <= 80                 # every digit, none dominant
    assert 0.08 < ds.x_train.mean() < 0.2                             # mostly black background


def test_mnist_full_label_counts():
    ds = load(MNIST)
    assert list(np.bincount(ds.y_train)) == MNIST_TRAIN_COUNTS
    assert list(np.bincount(ds.y_test)) == MNIST_TEST_COUNTS
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)


def test_mnist_limit_above_size_is_clipped():
    ds = load(MNIST, limit=20000)
    assert len(ds.x_train) == 20000 and len(ds.x_test) == 10000


def test_mnist_raw_files_in_root(tmp_path, shared_data):
    import gzip
    for f in (shared_data / "mnist").glob("t*-labels-*.gz"):
        (tmp_path / f.name[:-3]).write_bytes(gzip.decompress(f.read_bytes()))
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (tmp_path / f"{stem}.gz").symlink_to(shared_data / "mnist" / f"{stem}.gz")
    ds = load(MNIST, root=tmp_path, limit=7)
    assert ds.x_train.shape == (7, 1, 28, 28) and list(ds.y_train[:3]) == [5, 0, 4]


def test_missing_dataset_one_line_with_hint(tmp_path):
    with pytest.raises(DataError) as info:
        load(FashionMNIST, root=tmp_path)
    msg = str(info.value)
    assert str(tmp_path) in msg and "nnpy data fetch fashion-mnist" in msg and "\n" not in msg
    with pytest.raises(DataError, match=str(tmp_path)):
        load(MNIST, root=tmp_path)


def test_bad_limit():
    with pytest.raises(ConfigError, match=r"^limit must be an integer >= 1, not 0$"):
        load(MNIST, limit=0)


def test_fashion_mnist_from_shared(shared_data):
    ds = load(FashionMNIST, root=shared_data / "fashion-mnist", limit=100)
    assert ds.x_train.shape == (100, 1, 28, 28) and ds.x_train.dtype == np.float32
    assert ds.class_names == FASHION_CLASSES and ds.class_names[9] == "Ankle boot"
    assert ds.y_train.dtype == np.int64 and set(ds.y_train) <= set(range(10))


def test_sine():
    ds = load(Sine, n_train=64, n_test=16, seq_len=30, seed=3)
    assert ds.x_train.shape == (64, 30, 1) and ds.y_test.shape == (16, 30, 1)
    assert ds.task == "regression" and ds.num_classes is None and ds.input_shape == (30, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32
    np.testing.assert_allclose(ds.x_train ** 2 + ds.y_train ** 2, 1, atol=1e-5)
    # x = sin(ωt + φ): the angle advances by a constant ω in the documented range
    angle = np.unwrap(np.arctan2(ds.x_train[..., 0], ds.y_train[..., 0]), axis=1)
    omega = np.diff(angle, axis=1)
    np.testing.assert_allclose(omega, np.broadcast_to(omega[:, :1], omega.shape), atol=1e-4)
    assert SINE_OMEGA[0] - 1e-4 <= omega.min() and omega.max() <= SINE_OMEGA[1] + 1e-4
    again = load(Sine, n_train=64, n_test=16, seq_len=30, seed=3)
    np.testing.assert_array_equal(ds.x_train, again.x_train)
    assert not np.array_equal(ds.x_train, load(Sine, n_train=64, n_test=16, seq_len=30, seed=4).x_train)


def test_function():
    ds = load(FunctionFit, n_train=300, n_test=50)
    assert ds.x_train.shape == (300, 2) and ds.y_train.shape == (300, 1)
    assert ds.x_test.shape == (50, 2) and ds.input_shape == (2,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32
    assert ds.x_train.min() >= -5 and ds.x_train.max() <= 5
    x = ds.x_train.astype(np.float64)
    np.testing.assert_allclose(ds.y_train[:, 0], np.sin(x[:, 0]) - np.cos(x[:, 1]), atol=1e-6)
    assert ds.task == "regression"


def test_parity():
    ds = load(Parity, bits=4)
    assert ds.x_train.shape == (16, 4) and ds.x_train.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.num_classes == 2
    assert len({tuple(r) for r in ds.x_train}) == 16 and set(np.unique(ds.x_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(ds.y_train, ds.x_train.sum(1).astype(int) % 2)
    np.testing.assert_array_equal(ds.x_test, ds.x_train)
    assert list(ds.x_train[5]) == [0, 1, 0, 1] and ds.y_train[5] == 0 and ds.y_train[7] == 1


def test_unknown_option_is_rejected_by_registry():
    with pytest.raises(RegistryError) as info:
        DATASETS.make({"type": "mnist", "roott": 5})
    assert str(info.value) == ("dataset 'mnist': unknown option 'roott' (did you mean 'root'?); "
                               "valid options: root")
