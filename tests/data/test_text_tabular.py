"""Reuters and Boston housing: Keras' splits and encodings, options, and the configs end to end."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy.data  # noqa: F401  (registers the datasets)
from nnpy.cli import main
from nnpy.data.tabular import BostonHousing, load_boston_raw
from nnpy.data.text import Reuters, decode_reuters, keras_permutation, load_reuters_raw, reuters_word_index
from nnpy.engine.experiment_config import load_experiment
from nnpy.engine.plan import data_source
from nnpy.errors import ConfigError, DataError
from nnpy.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]

# What Keras' reuters.load_data(num_words=10000) returns for x_train[0] and x_train[10]
# (printed in "Deep Learning with Python", ch. 3): start char 1, OOV 2, ranks + 3.
KERAS_TRAIN_0_HEAD = [1, 2, 2, 8, 43, 10, 447, 5, 25, 207, 270, 5, 3095, 111, 16, 369, 186, 90, 67, 7]
KERAS_TRAIN_10 = [1, 245, 273, 207, 156, 53, 74, 160, 26, 14, 46, 296, 26, 39, 74, 2979, 3554, 14, 46,
                  4689, 4329, 86, 61, 3499, 4795, 14, 61, 451, 4329, 17, 12]
# boston_housing.load_data(): the first ten training targets and the first training row.
KERAS_BOSTON_Y_TRAIN_10 = [15.2, 42.3, 50.0, 21.1, 17.7, 18.5, 11.3, 15.6, 15.6, 14.4]
KERAS_BOSTON_X_TRAIN_0 = [1.23247, 0.0, 8.14, 0.0, 0.538, 6.142, 91.7, 3.9769, 4.0, 307.0, 21.0, 396.9, 18.72]

def load(source, limit=None, **options):
    """The arrays of dataset class ``source`` built with ``options`` (first ``limit`` samples)."""
    return source(**options).load(limit=limit)



@pytest.fixture(scope="module")
def raw():
    return load_reuters_raw()


@pytest.fixture(scope="module")
def multi_hot():
    return load(Reuters)


@pytest.fixture(scope="module")
def sequence():
    return load(Reuters, mode="sequence")


def keras_ids(raw, sample: int, num_words: int = 10000) -> list[int]:
    """Newswire ``sample`` of Keras' shuffled order, encoded as Keras does, from the raw tokens."""
    tokens, offsets, _ = raw
    i = keras_permutation(len(offsets) - 1)[sample]
    ids = [1] + [int(w) + 3 for w in tokens[offsets[i]:offsets[i + 1]]]
    return [w if w < num_words else 2 for w in ids]


def test_registered_and_described():
    assert DATASETS.get("reuters") is Reuters
    assert DATASETS.get("boston-housing") is BostonHousing

    def described(name, options):
        d = DATASETS.make({"type": name, **options}).describe()
        return d.input_shape, d.outputs, d.task

    assert described("reuters", {}) == ((10000,), 46, "classification")
    assert described("reuters", {"num_words": 500, "mode": "multi_hot"}) == ((500,), 46, "classification")
    assert described("reuters", {"mode": "sequence", "maxlen": 50}) == ((50,), 46, "classification")
    assert described("boston_housing", {}) == ((13,), 1, "regression")


def test_reuters_multi_hot_split_and_encoding(multi_hot, raw):
    ds = multi_hot
    assert ds.name == "reuters" and ds.task == "classification" and ds.num_classes == 46
    assert ds.x_train.shape == (8982, 10000) and ds.x_test.shape == (2246, 10000)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64 and ds.input_shape == (10000,)
    assert ((ds.x_train == 0) | (ds.x_train == 1)).all() and ((ds.x_test == 0) | (ds.x_test == 1)).all()
    assert (ds.x_train[:, 1] == 1).all() and (ds.x_train[:, 0] == 0).all()   # start char; no padding
    assert ds.y_train.min() == 0 and ds.y_train.max() == 45 and ds.y_test.max() <= 45
    assert list(np.bincount(ds.y_train)[:5]) == [55, 432, 74, 3159, 1949]
    # together, train and test are every newswire once, labels in Keras' shuffled order
    _, _, labels = raw
    order = keras_permutation(len(labels))
    assert np.array_equal(np.concatenate([ds.y_train, ds.y_test]), labels[order])
    for split, sample, x in (("train", 0, ds.x_train), ("train", 10, ds.x_train), ("train", 8981, ds.x_train),
                             ("test", 0, ds.x_test), ("test", 2245, ds.x_test)):
        k = sample if split == "train" else 8982 + sample
        assert set(np.flatnonzero(x[sample])) == set(keras_ids(raw, k)), (split, sample)
    assert keras_ids(raw, 0)[:len(KERAS_TRAIN_0_HEAD)] == KERAS_TRAIN_0_HEAD and ds.y_train[0] == 3
    assert keras_ids(raw, 10) == KERAS_TRAIN_10 and ds.y_train[10] == 3
    words = decode_reuters(keras_ids(raw, 0), reuters_word_index())
    assert words.startswith("? ? ? said as a result of its december acquisition of space co")


def test_reuters_sequence_padding_and_truncation(sequence, multi_hot, raw):
    ds = sequence
    assert ds.x_train.shape == (8982, 200) and ds.x_test.shape == (2246, 200) and ds.input_shape == (200,)
    assert ds.x_train.dtype == np.int64 and ds.x_train.min() == 0 and ds.x_train.max() < 10000
    assert np.array_equal(ds.y_train, multi_hot.y_train) and np.array_equal(ds.y_test, multi_hot.y_test)
    short = keras_ids(raw, 0)                       # 87 ids: pre-padded with 113 zeros
    assert len(short) == 87
    assert (ds.x_train[0, :113] == 0).all() and list(ds.x_train[0, 113:]) == short
    long = keras_ids(raw, 3)                        # 224 ids: the first 24 are cut ('pre')
    assert len(long) == 224 and list(ds.x_train[3]) == long[-200:]
    small = load(Reuters, mode="sequence", maxlen=5, num_words=50, limit=20)
    assert small.x_train.shape == (20, 5) and small.x_train.max() < 50
    assert list(small.x_train[0]) == keras_ids(raw, 0, num_words=50)[-5:]


def test_reuters_num_words_limit_and_determinism(multi_hot, raw):
    a = load(Reuters, num_words=100, limit=300)
    b = load(Reuters, num_words=100, limit=300)
    assert a.x_train.shape == (300, 100) and a.x_test.shape == (300, 100)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    assert (a.x_train[:, 2] == 1).mean() > 0.9    # nearly every newswire has a word ranked ≥ 97
    assert set(np.flatnonzero(a.x_train[5])) == set(keras_ids(raw, 5, num_words=100))
    c = load(Reuters, limit=50)
    assert np.array_equal(c.x_train, multi_hot.x_train[:50]) and np.array_equal(c.x_test, multi_hot.x_test[:50])
    assert np.array_equal(c.y_train, multi_hot.y_train[:50])


@pytest.mark.parametrize("options, match", [({"mode": "tfidf"}, "mode"), ({"num_words": 2}, "num_words"),
                                            ({"maxlen": 0}, "maxlen"), ({"limit": 0}, "limit")])
def test_reuters_bad_options(options, match):
    with pytest.raises(ConfigError, match=match):
        load(Reuters, **options)


def test_missing_files_name_the_folder(tmp_path):
    with pytest.raises(DataError, match="reuters.npz not found") as info:
        load(Reuters, root=tmp_path)
    assert str(tmp_path) in str(info.value)
    with pytest.raises(DataError, match="boston_housing.npz not found"):
        load(BostonHousing, root=tmp_path)
    np.savez(tmp_path / "boston_housing.npz", x=np.zeros((5, 3)), y=np.zeros(5))
    with pytest.raises(DataError, match=r"\(N, 13\)"):
        load(BostonHousing, root=tmp_path)


def test_boston_keras_split():
    ds = load(BostonHousing)
    assert ds.name == "boston_housing" and ds.task == "regression" and ds.input_shape == (13,)
    assert ds.x_train.shape == (404, 13) and ds.x_test.shape == (102, 13)
    assert ds.y_train.shape == (404, 1) and ds.y_test.shape == (102, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32
    np.testing.assert_allclose(ds.y_train[:10, 0], KERAS_BOSTON_Y_TRAIN_10, rtol=1e-6)
    np.testing.assert_allclose(ds.x_train[0], KERAS_BOSTON_X_TRAIN_0, rtol=1e-6)
    x, y = load_boston_raw()
    perm = np.arange(506)
    np.random.RandomState(113).shuffle(perm)
    np.testing.assert_array_equal(np.concatenate([ds.y_train, ds.y_test])[:, 0], y[perm].astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([ds.x_train, ds.x_test]), x[perm].astype(np.float32))
    again = load(BostonHousing)
    assert np.array_equal(again.x_train, ds.x_train) and np.array_equal(again.y_test, ds.y_test)


def test_boston_options():
    other = load(BostonHousing, seed=7, test_split=0.5)
    assert other.x_train.shape == (253, 13) and other.x_test.shape == (253, 13)
    assert not np.array_equal(other.y_train[:10], load(BostonHousing).y_train[:10])
    small = load(BostonHousing, limit=10)
    assert small.x_train.shape == (10, 13) and small.y_test.shape == (10, 1)
    assert np.array_equal(small.x_train, load(BostonHousing).x_train[:10])
    for bad in ({"test_split": 0}, {"test_split": 1.0}, {"seed": -1}, {"limit": 0}):
        with pytest.raises(ConfigError):
            load(BostonHousing, **bad)


def test_configs_validate_with_their_models():
    for name, shape in (("reuters", (10000,)), ("reuters-lstm", (200,)), ("boston", (13,))):
        cfg, _ = load_experiment(REPO / "configs" / f"{name}.yaml")
        assert data_source(cfg["data"]).describe().input_shape == shape


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_boston_and_reuters_configs_train_and_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("train", "--config", REPO / "configs" / "boston.yaml", "--set", "train.epochs=2")
    assert r.exit_code == 0, r.output
    assert "404 train" in r.output and "102 test" in r.output and "epoch 2/2" in r.output
    r = run("val", "--ckpt", "checkpoints/boston/last.json", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert set(report) == {"loss", "mse", "mae", "n"} and report["n"] == 102
    assert 0 < report["mae"] < 25 and report["mse"] == pytest.approx(report["loss"], rel=1e-4)

    r = run("train", "--config", REPO / "configs" / "reuters.yaml", "--set", "data.limit=2000",
            "--set", "train.epochs=1")
    assert r.exit_code == 0, r.output
    assert "1000 train · 1000 val · 2000 test" in r.output
    r = run("val", "--ckpt", "checkpoints/reuters/best.json", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert set(report) == {"loss", "accuracy", "error", "per_class", "confusion", "n"}
    assert report["n"] == 2000 and len(report["per_class"]) == 46 and np.sum(report["confusion"]) == 2000
    assert report["accuracy"] > 0.3   # one epoch on 1,000 newswires already beats the 22% majority class
