import numpy as np
import pytest

from nnpy.data import DataLoader, Normalize, split_train_val
from nnpy.errors import ConfigError


def _data(n=103, features=3):
    x = np.arange(n * features, dtype=np.float64).reshape(n, features)
    return x, np.arange(n)


@pytest.mark.parametrize("n, batch, drop_last, expected", [
    (103, 10, False, 11), (103, 10, True, 10), (100, 10, False, 10), (100, 10, True, 10),
    (5, 10, False, 1), (5, 10, True, 0),
])
def test_batch_counts(n, batch, drop_last, expected):
    loader = DataLoader(*_data(n), batch_size=batch, drop_last=drop_last)
    assert len(loader) == expected
    sizes = [len(yb) for _, yb in loader.batches(0)]
    assert len(sizes) == expected and all(s == batch for s in sizes[:-1] or [batch])
    if drop_last:
        assert sizes == [batch] * expected


def test_every_sample_once_per_epoch_and_float32():
    x, y = _data()
    loader = DataLoader(x, y, batch_size=16, seed=1)
    for epoch in range(3):
        seen = []
        for xb, yb in loader.batches(epoch):
            assert xb.dtype == np.float32 and yb.dtype == y.dtype
            np.testing.assert_array_equal(xb, x[yb].astype(np.float32))   # x and y stay paired
            seen.extend(yb)
        assert sorted(seen) == list(range(len(x)))


def test_same_seed_same_order_and_epochs_differ():
    x, y = _data()
    a, b = DataLoader(x, y, 8, seed=5), DataLoader(x, y, 8, seed=5)
    order = lambda loader, e: np.concatenate([yb for _, yb in loader.batches(e)])
    np.testing.assert_array_equal(order(a, 2), order(b, 2))
    assert not np.array_equal(order(a, 0), order(a, 1))
    assert not np.array_equal(order(a, 0), order(DataLoader(x, y, 8, seed=6), 0))
    np.testing.assert_array_equal(order(DataLoader(x, y, 8, shuffle=False), 3), y)


def test_resume_mid_epoch_equals_tail_of_full_epoch():
    x, y = _data()
    noise = lambda xb, rng: xb + rng.standard_normal(xb.shape).astype(np.float32)
    loader = DataLoader(x, y, batch_size=10, seed=7, transform=noise)
    full = list(loader.batches(4))
    resumed = list(DataLoader(x, y, batch_size=10, seed=7, transform=noise).batches(4, start=6))
    assert len(resumed) == len(full) - 6
    for (xa, ya), (xb, yb) in zip(full[6:], resumed):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert list(loader.batches(4, start=len(loader))) == []
    with pytest.raises(ValueError):
        loader.batches(0, start=len(loader) + 1)


def test_iter_advances_epochs():
    x, y = _data(20)
    loader = DataLoader(x, y, batch_size=20, seed=2)
    first, second = [yb for _, yb in loader], [yb for _, yb in loader]
    np.testing.assert_array_equal(first[0], next(iter(DataLoader(x, y, 20, seed=2).batches(0)))[1])
    np.testing.assert_array_equal(second[0], next(iter(DataLoader(x, y, 20, seed=2).batches(1)))[1])
    assert loader.epoch == 2


def test_transform_rng_depends_on_seed_epoch_batch():
    x, y = _data(40)
    seen = []
    loader = DataLoader(x, y, batch_size=20, seed=3,
                        transform=lambda xb, rng: (seen.append(rng.integers(1 << 30)), xb)[1])
    list(loader.batches(0)), list(loader.batches(1))
    expected = [np.random.default_rng([3, e, b]).integers(1 << 30) for e in (0, 1) for b in (0, 1)]
    assert seen == expected


def test_integer_x_kept_and_float_y_is_float32():
    tokens = np.arange(30, dtype=np.int64).reshape(10, 3)
    xb, yb = next(iter(DataLoader(tokens, np.ones(10), batch_size=4)))
    assert xb.dtype == np.int64 and yb.dtype == np.float32


def test_bad_arguments():
    x, y = _data(10)
    with pytest.raises(ConfigError, match="batch_size"):
        DataLoader(x, y, batch_size=0)
    with pytest.raises(ConfigError, match="10 samples"):
        DataLoader(x, y[:5], batch_size=2)


def test_normalize():
    xb = np.array([[1.0, 3.0]], dtype=np.float64)
    out = Normalize(mean=1.0, std=2.0)(xb, None)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.0, 1.0]])
    np.testing.assert_allclose(Normalize([1.0, 3.0], [1.0, 0.5])(xb, None), [[0.0, 0.0]])
    with pytest.raises(ConfigError):
        Normalize(0.0, 0.0)


@pytest.mark.parametrize("val, n_val", [(20, 20), (0.25, 25), (0.001, 1)])
def test_split_train_val(val, n_val):
    x, y = _data(100)
    x_tr, y_tr, x_val, y_val = split_train_val(x, y, val, seed=0)
    assert len(y_val) == n_val and len(y_tr) == 100 - n_val
    assert sorted(np.concatenate([y_tr, y_val])) == list(range(100))
    np.testing.assert_array_equal(x_tr, x[y_tr])
    again = split_train_val(x, y, val, seed=0)
    np.testing.assert_array_equal(again[3], y_val)
    assert not np.array_equal(split_train_val(x, y, val, seed=1)[3], y_val) or n_val == 1


@pytest.mark.parametrize("val", [0, 100, 1.0, 0.0, -3, True, "10"])
def test_split_train_val_rejects(val):
    x, y = _data(100)
    with pytest.raises(ConfigError):
        split_train_val(x, y, val, seed=0)
