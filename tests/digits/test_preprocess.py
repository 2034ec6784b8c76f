"""The stages of nnpy.digits.preprocess: components, Otsu, flattening uneven light, cropping."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnpy.digits.components import boxes, label
from nnpy.digits.preprocess import NoInkError, digit_stages, otsu_threshold, to_mnist


def _flood_labels(mask):
    """Reference: 8-connected labelling by a plain flood fill, raster order."""
    ref = np.zeros(mask.shape, int)
    k = 0
    h, w = mask.shape
    for i in range(h):
        for j in range(w):
            if mask[i, j] and not ref[i, j]:
                k += 1
                ref[i, j] = k
                stack = [(i, j)]
                while stack:
                    a, b = stack.pop()
                    for y in range(max(a - 1, 0), min(a + 2, h)):
                        for x in range(max(b - 1, 0), min(b + 2, w)):
                            if mask[y, x] and not ref[y, x]:
                                ref[y, x] = k
                                stack.append((y, x))
    return ref, k


def test_labels_match_a_flood_fill():
    rng = np.random.default_rng(0)
    for _ in range(60):
        mask = rng.random((int(rng.integers(1, 25)), int(rng.integers(1, 25)))) < rng.uniform(0.1, 0.7)
        labels, n = label(mask)
        ref, k = _flood_labels(mask)
        assert n == k and np.array_equal(labels, ref)


def test_a_long_spiral_is_one_component_and_boxes_measure_it():
    mask = np.zeros((200, 200), bool)
    mask[::4] = True                                        # rows joined at alternate ends
    for k, r in enumerate(range(0, 196, 4)):
        mask[r:r + 5, 199 if k % 2 == 0 else 0] = True
    mask[199, 50] = True                                    # one stray pixel
    labels, n = label(mask)
    assert n == 2
    st = boxes(labels, n)
    assert st["area"].tolist() == [int(mask.sum()) - 1, 1]
    assert (st["y0"][1], st["x0"][1], st["y1"][1], st["x1"][1]) == (199, 50, 200, 51)


def test_otsu_splits_two_modes():
    rng = np.random.default_rng(1)
    paper, ink = rng.normal(0.05, 0.02, 9000), rng.normal(0.7, 0.05, 1000)
    t = otsu_threshold(np.clip(np.concatenate([paper, ink]), 0, None))
    assert (paper > t).mean() < 0.01 and (ink < t).mean() < 0.01


def _seven(size=(160, 200)):
    img = Image.new("L", size, 255)
    w, h = size
    ImageDraw.Draw(img).line([(0.25 * w, 0.2 * h), (0.75 * w, 0.2 * h), (0.45 * w, 0.8 * h)],
                             fill=20, width=12)
    return np.asarray(img, np.float32) / 255


@pytest.mark.parametrize("light", ["gradient", "shadow", "grey"])
def test_uneven_light_is_flattened(light):
    clean = _seven()
    h, w = clean.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    field = {"gradient": 1 - 0.6 * xx,                       # light falls off to the right
             "shadow": np.where(xx + 0.3 * yy > 0.45, 0.45, 1.0),   # a hard shadow over half
             "grey": np.full_like(xx, 0.5)}[light]
    photo = clean * field
    expected = to_mnist(clean)
    st = digit_stages(photo)
    assert st.dark_ink
    assert np.corrcoef(st.digit.ravel(), expected.ravel())[0, 1] > 0.9
    # the flattened paper is near 0 everywhere the digit is not
    assert np.percentile(st.ink[~st.kept], 99) < st.threshold


def test_specks_and_a_paper_edge_are_left_out():
    clean = _seven()
    dirty = clean.copy()
    dirty[:, :4] = 0.1                                      # the table beyond the paper's edge
    dirty[180:183, 150:153] = 0.0                           # a speck
    st = digit_stages(dirty)
    st_clean = digit_stages(clean)
    assert st.box == st_clean.box
    np.testing.assert_allclose(st.digit, st_clean.digit, atol=0.05)


def test_no_ink_keeps_the_stages():
    paper = np.full((60, 80), 0.8, np.float32) + np.random.default_rng(0).normal(0, 0.01, (60, 80))
    with pytest.raises(NoInkError, match="no ink found") as info:
        digit_stages(paper.astype(np.float32), name="blank.png")
    st = info.value.stages
    assert st.ink is not None and st.threshold is not None and st.digit is None
    assert str(info.value).startswith("blank.png: ")


def test_light_ink_on_dark_paper():
    chalk = 1 - _seven()                                    # white on black
    st = digit_stages(chalk)
    assert not st.dark_ink
    assert np.corrcoef(st.digit.ravel(), to_mnist(_seven()).ravel())[0, 1] > 0.95


def test_looks_like_a_row():
    """Two or more separate digit-high groups of ink, or one wider than a digit, look like a
    row; one digit with a broken stroke, a speck, or a paper edge does not."""
    from nnpy.digits.segment import looks_like_a_row

    def ink_of(draw_on):
        canvas = Image.new("L", (240, 100), 255)
        draw_on(ImageDraw.Draw(canvas))
        return digit_stages(np.asarray(canvas, np.float32) / 255)

    def two_digits(d):
        d.line([(50, 15), (50, 85)], fill=0, width=6)                  # 1
        d.ellipse([110, 15, 160, 85], outline=0, width=6)              # 0
    def touching(d):
        d.ellipse([40, 15, 90, 85], outline=0, width=6)
        d.ellipse([88, 15, 138, 85], outline=0, width=6)
        d.ellipse([136, 15, 186, 85], outline=0, width=6)
    def broken_five(d):
        d.line([(100, 15), (140, 15)], fill=0, width=6)                # the hat, apart
        d.line([(100, 22), (98, 48)], fill=0, width=6)
        d.arc([92, 40, 142, 88], 200, 140, fill=0, width=6)
    def digit_speck_edge(d):
        d.ellipse([90, 15, 140, 85], outline=0, width=6)
        d.ellipse([180, 40, 184, 44], fill=0)                          # a speck
        d.rectangle([0, 0, 8, 99], fill=0)                             # the table beside the sheet
    assert looks_like_a_row(ink_of(two_digits)) and looks_like_a_row(ink_of(touching))
    assert not looks_like_a_row(ink_of(broken_five)) and not looks_like_a_row(ink_of(digit_speck_edge))
