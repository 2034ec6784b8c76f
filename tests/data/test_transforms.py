import numpy as np
import pytest

from nnpy.data import (Compose, Normalize, RandomAffine, RandomHorizontalFlip, RandomThickness,
                       MNIST, make_transforms)
from nnpy.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def batch():
    return MNIST().load(limit=128).x_train


class FixedRng:
    """Stands in for a Generator: ``uniform`` returns its upper bound."""

    def uniform(self, low, high, size=None):
        return np.full(size, high, dtype=np.float64)


@pytest.mark.parametrize("transform", [
    RandomAffine(), RandomThickness(p=1.0), make_transforms({"shift": 2, "rotate": 10,
                                                             "scale": 0.1, "thickness": 0.5}),
])
def test_shape_dtype_reproducible_and_changes(batch, transform):
    before = batch.copy()
    out = transform(batch, np.random.default_rng(0))
    assert out.shape == batch.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, transform(batch, np.random.default_rng(0)))
    assert not np.array_equal(out, transform(batch, np.random.default_rng(1)))
    changed = np.abs(out - batch).reshape(len(batch), -1).max(axis=1) > 0.1
    assert changed.mean() > 0.5
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    np.testing.assert_array_equal(batch, before)                    # input untouched


def test_zero_affine_is_identity(batch):
    out = RandomAffine(shift=0, rotate=0, scale=0)(batch, np.random.default_rng(0))
    np.testing.assert_array_equal(out, batch)
    assert RandomThickness(p=0)(batch, np.random.default_rng(0)).tolist() == batch.tolist()


def test_affine_geometry():
    img = np.random.default_rng(0).random((2, 3, 9, 9)).astype(np.float32)
    shifted = RandomAffine(shift=1, rotate=0, scale=0)(img, FixedRng())   # +1 px down, right
    np.testing.assert_allclose(shifted[..., 1:, 1:], img[..., :-1, :-1], atol=1e-6)
    assert not shifted[..., 0, :].any() and not shifted[..., :, 0].any()  # filled with 0
    turned = RandomAffine(shift=0, rotate=90, scale=0)(img, FixedRng())
    np.testing.assert_allclose(turned, np.rot90(img, k=-1, axes=(2, 3)), atol=1e-5)
    filled = RandomAffine(shift=20, rotate=0, scale=0, fill=0.5)(img, FixedRng())
    np.testing.assert_allclose(filled, 0.5)


def test_thickness_thickens_or_thins(batch):
    out = RandomThickness(p=1.0)(batch, np.random.default_rng(0))
    ink_before, ink_after = batch.sum(axis=(1, 2, 3)), out.sum(axis=(1, 2, 3))
    assert (ink_after > ink_before).any() and (ink_after < ink_before).any()
    assert np.all(ink_after != ink_before)


def test_image_batch_required():
    with pytest.raises(DataError, match="N, C, H, W"):
        RandomAffine()(np.zeros((4, 28, 28), np.float32), np.random.default_rng(0))


def test_make_transforms():
    t = make_transforms({"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 0.3},
                        {"mean": 0.1307, "std": 0.3081})
    assert isinstance(t, Compose)
    assert [type(s) for s in t.transforms] == [RandomAffine, RandomThickness, Normalize]
    assert make_transforms(None, None).transforms == []
    assert [type(s) for s in make_transforms({"rotate": 5}).transforms] == [RandomAffine]
    x = np.ones((2, 1, 4, 4), np.float32)
    assert make_transforms()(x, np.random.default_rng(0)) is x


@pytest.mark.parametrize("augment, normalize, words", [
    ({"rotaet": 10}, None, "augment: unknown key 'rotaet' (did you mean 'rotate'?)"),
    ({"shift": "2"}, None, "augment.shift"),
    (None, {"mean": 0, "stdd": 1}, "normalize: unknown key 'stdd' (did you mean 'std'?)"),
    ([1, 2], None, "augment: expected a mapping"),
    ({"scale": 1.5}, None, "scale"),
    ({"thickness": 2}, None, "p must be in"),
    ({"hflip": -0.1}, None, "p must be in"),
    ({"erase": 1.5}, None, "RandomErasing: p must be in"),
])
def test_make_transforms_errors(augment, normalize, words):
    with pytest.raises(ConfigError) as info:
        make_transforms(augment, normalize)
    assert words in str(info.value)


class CountingRng:
    """Wraps a Generator and counts the draws: a per-sample loop would draw per sample."""

    def __init__(self, seed):
        self.rng, self.calls = np.random.default_rng(seed), 0

    def __getattr__(self, name):
        method = getattr(self.rng, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return method(*args, **kwargs)
        return counted


def test_augmentation_draws_per_batch_not_per_sample(batch):
    """Vectorized: the number of random draws does not grow with the batch (speed is
    measured in benchmarks/, not here)."""
    t = make_transforms({"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 1.0, "hflip": 0.5, "erase": 0.5})
    calls = []
    for n in (4, 128):
        rng = CountingRng(0)
        t(batch[:n], rng)
        calls.append(rng.calls)
    assert calls[0] == calls[1] > 0


def test_hflip_mirrors_the_chosen_samples(batch):
    out = RandomHorizontalFlip(p=0.5)(batch, np.random.default_rng(0))
    mirrored = np.array([np.array_equal(o, b[..., ::-1]) for o, b in zip(out, batch)])
    same = np.array([np.array_equal(o, b) for o, b in zip(out, batch)])
    assert np.all(mirrored | same) and 0.3 < mirrored.mean() < 0.7
    assert out.flags.c_contiguous and out.dtype == np.float32
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(batch, np.random.default_rng(0)),
                                  batch[..., ::-1])
    assert [type(s) for s in make_transforms({"hflip": 0.5}).transforms] == [RandomHorizontalFlip]


def test_erasing_paints_one_rectangle_per_chosen_sample(batch):
    from nnpy.data import RandomErasing

    x = batch + 1.0                                   # no pixel equals the fill before erasing
    erase = RandomErasing(p=0.5, fill=-2.0)
    out = erase(x, np.random.default_rng(0))
    assert out.shape == x.shape and out.dtype == np.float32
    painted = out == -2.0
    chosen = painted.any(axis=(1, 2, 3))
    assert 0.3 < chosen.mean() < 0.7
    np.testing.assert_array_equal(out[~painted], x[~painted])          # the rest is untouched
    h, w = x.shape[2:]
    for mask in painted[chosen]:
        assert np.array_equal(mask[0], mask[-1])                       # every channel alike
        rows, cols = np.flatnonzero(mask[0].any(1)), np.flatnonzero(mask[0].any(0))
        box = mask[0][rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        assert box.all() and mask[0].sum() == box.size                # one solid rectangle
        assert 0.02 * h * w * 0.5 <= box.size <= 0.33 * h * w * 1.5    # area in the drawn range, rounded
    assert np.array_equal(erase(x, np.random.default_rng(0)), out)     # same rng state, same result
    for ratio, size in ((1.0, (14, 14)), (4.0, (28, 7))):               # h = √(a·r), w = √(a/r), a = ¼·28²
        fixed = RandomErasing(p=1.0, scale=(0.25, 0.25), ratio=(ratio, ratio), fill=-2.0)
        masks = fixed(x, np.random.default_rng(1))[:, 0] == -2.0
        assert {(m.any(1).sum(), m.any(0).sum()) for m in masks} == {size}
        assert (masks.sum(axis=(1, 2)) == size[0] * size[1]).all()
        tops, lefts = {np.argmax(m.any(1)) for m in masks}, {np.argmax(m.any(0)) for m in masks}
        assert (len(tops), len(lefts)) == ((1, 22) if ratio == 4.0 else (15, 15))  # every place it fits
    steps = make_transforms({"shift": 2, "erase": 0.5, "fill": 0.3}).transforms
    assert type(steps[-1]) is RandomErasing and steps[-1].fill == 0.3  # last: the affine does not move it
    with pytest.raises(ConfigError, match="scale"):
        RandomErasing(scale=(0.5, 0.2))


def test_continental_strokes_change_only_ones_and_sevens():
    from nnpy.data import RandomContinentalStrokes

    data = MNIST().load(limit=600)
    x, y = data.x_train, data.y_train
    out = RandomContinentalStrokes(p=1.0)(x, np.random.default_rng(0), y)
    assert out.shape == x.shape and out.dtype == np.float32
    added = (out - x).reshape(len(x), 28, 28)
    assert added.min() >= 0 and out.max() <= 1                      # ink only added
    others = ~np.isin(y, [1, 7])
    assert not added[others].any()
    ones, sevens = added[y == 1], added[y == 7]
    for new in (ones, sevens):                         # every 1 got a flag, every 7 a crossbar
        ink = new.reshape(len(new), -1).sum(1)         # (some overlap ink that was there)
        assert (ink > 0.5).all() and (ink > 3).mean() > 0.9
    # a flag starts at the top of the 1: its new ink lies mostly above the 1's middle row;
    # a crossbar lies in the middle band of the 7
    rows = np.arange(28)
    def ink_row(a):
        return (a.sum(2) @ rows) / a.sum((1, 2))
    def digit_middle(imgs):
        inked = imgs.sum(2) > 0.5
        top = np.argmax(inked, 1)
        bottom = 27 - np.argmax(inked[:, ::-1], 1)
        return top, bottom
    top7, bottom7 = digit_middle(x[y == 7, 0])
    frac = (ink_row(sevens) - top7) / (bottom7 - top7)
    assert np.median(frac) == pytest.approx(0.52, abs=0.1)
    none = RandomContinentalStrokes(p=0.0)(x, np.random.default_rng(0), y)
    np.testing.assert_array_equal(none, x)


def test_continental_strokes_need_labels_and_reach_the_loader():
    from nnpy.data import DataLoader, RandomContinentalStrokes

    data = MNIST().load(limit=256)
    t = RandomContinentalStrokes(p=1.0)
    with pytest.raises(DataError, match="labels"):
        t(data.x_train, np.random.default_rng(0))
    pipeline = make_transforms({"continental": 1.0})
    assert pipeline.uses_labels and isinstance(pipeline.transforms[0], RandomContinentalStrokes)
    loader = DataLoader(data.x_train, data.y_train, batch_size=256, shuffle=False, transform=pipeline)
    xb, yb = next(iter(loader))
    changed = np.abs(xb - data.x_train).reshape(256, -1).max(1) > 0
    np.testing.assert_array_equal(changed, np.isin(yb, [1, 7]))
