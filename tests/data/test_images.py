import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw

from nnpy.data import MNIST, images, iter_image_files
from nnpy.digits import load_digit
from nnpy.errors import DataError


def draw_digit(size, shape="one", dark_on_light=True, offset=(0.0, 0.0)):
    """A thick digit drawn off-centre on an L-mode canvas of ``size`` (w, h)."""
    w, h = size
    paper, ink = (255, 0) if dark_on_light else (0, 255)
    img = Image.new("L", size, paper)
    d = ImageDraw.Draw(img)
    ox, oy = offset[0] * w, offset[1] * h
    stroke = max(3, int(min(w, h) * 0.08))
    if shape == "one":
        d.line([(0.45 * w + ox, 0.25 * h + oy), (0.5 * w + ox, 0.75 * h + oy)], fill=ink,
               width=stroke)
    elif shape == "seven":
        d.line([(0.3 * w + ox, 0.3 * h + oy), (0.65 * w + ox, 0.3 * h + oy),
                (0.4 * w + ox, 0.8 * h + oy)], fill=ink, width=stroke)
    else:
        d.ellipse([0.3 * w + ox, 0.2 * h + oy, 0.6 * w + ox, 0.75 * h + oy], outline=ink,
                  width=stroke)
    return img


def convert(img, mode):
    if mode == "I;16":
        return Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
    if mode == "RGBA":                       # the paper is transparent: composited on white
        rgba = img.convert("RGBA")
        a = np.asarray(rgba).copy()
        a[..., 3] = np.where(np.asarray(img) == np.asarray(img)[0, 0], 0, 255)
        a[a[..., 3] == 0, :3] = 0           # the hidden colour is black; white must win
        return Image.fromarray(a)
    return img.convert(mode)


def check_mnist_like(out):
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() == 0.0 and 0.99 <= out.max() <= 1.0
    assert out[0].max() == 0 and out[:, 0].max() == 0 and out.mean() < 0.4     # ink on black
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    assert rows[-1] - rows[0] + 1 <= 20 and cols[-1] - cols[0] + 1 <= 20
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= 19                 # longer side ~20
    total = out.sum()
    cy, cx = out.sum(1) @ np.arange(28) / total, out.sum(0) @ np.arange(28) / total
    assert abs(cy - 14) <= 1.5 and abs(cx - 14) <= 1.5


MODES = [("L", ".png"), ("RGB", ".jpg"), ("RGBA", ".png"), ("P", ".gif"), ("I;16", ".png"), ("CMYK", ".tif"),
         ("LA", ".png"), ("F", ".tif"), ("I", ".tif"), ("1", ".bmp")]
DIGITS = [((37, 91), "one", True, (0.2, -0.1)), ((500, 300), "zero", False, (-0.15, 0.1)),
          ((91, 37), "seven", True, (0.0, 0.0))]


# not RGBA with light ink: transparent paper is composited on white, where light ink would vanish
@pytest.mark.parametrize("mode, suffix, size, shape, dark, offset",
                         [(*m, *d) for m in MODES for d in DIGITS if not (m[0] == "RGBA" and not d[2])])
def test_synthetic_digits(tmp_path, mode, suffix, size, shape, dark, offset):
    path = tmp_path / f"digit{suffix}"
    convert(draw_digit(size, shape, dark, offset), mode).save(path)
    check_mnist_like(load_digit(path))


def test_tinted_paper_and_forced_polarity(tmp_path):
    img = draw_digit((120, 160), "seven")
    a = np.asarray(img).astype(np.float32)
    rgb = np.stack([a * 0.9 + 10, a * 0.8 + 20, a * 0.5 + 60], -1).astype(np.uint8)  # yellowish
    Image.fromarray(rgb).save(tmp_path / "tinted.png")
    auto = load_digit(tmp_path / "tinted.png")
    check_mnist_like(auto)
    np.testing.assert_allclose(load_digit(tmp_path / "tinted.png", invert=True), auto)
    with pytest.raises(DataError, match="no ink"):
        load_digit(tmp_path / "tinted.png", invert=False)    # told light ink: there is none


def test_real_mnist_round_trip(tmp_path):
    digits = MNIST().load(limit=20).x_test
    for k, original in enumerate(digits[:, 0]):
        pixels = np.round(original * 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{k}.png")
        # the same digit as a person would supply it: dark on white, large, off-centre
        paper = np.full((300, 240), 255, np.uint8)
        paper[30:170, 20:160] = 255 - np.asarray(Image.fromarray(pixels).resize((140, 140)))
        Image.fromarray(paper).save(tmp_path / f"{k}-scan.png")
        for name in (f"{k}.png", f"{k}-scan.png"):
            out = load_digit(tmp_path / name)
            corr = np.corrcoef(out.ravel(), original.ravel())[0, 1]
            assert corr > 0.8, (name, corr)


def test_tiny_images(tmp_path):
    Image.new("L", (1, 1), 0).save(tmp_path / "ink.png")
    out = load_digit(tmp_path / "ink.png")
    assert out.shape == (28, 28) and out.max() == 1.0
    Image.new("L", (1, 1), 255).save(tmp_path / "blank.png")
    with pytest.raises(DataError, match="no ink"):
        load_digit(tmp_path / "blank.png")


def test_animated_gif_uses_first_frame(tmp_path):
    one, zero = draw_digit((64, 64), "one"), draw_digit((64, 64), "zero")
    one.save(tmp_path / "anim.gif", save_all=True, append_images=[zero], duration=100, loop=0)
    one.save(tmp_path / "one.png")
    one.save(tmp_path / "anim.png", save_all=True, append_images=[zero], duration=100)  # APNG
    assert Image.open(tmp_path / "anim.gif").n_frames == 2
    np.testing.assert_allclose(load_digit(tmp_path / "anim.gif"), load_digit(tmp_path / "one.png"))
    np.testing.assert_allclose(load_digit(tmp_path / "anim.png"), load_digit(tmp_path / "one.png"))


def _png_bytes(tmp_path):
    draw_digit((200, 200), "zero").save(tmp_path / "good.png")
    return (tmp_path / "good.png").read_bytes()


@pytest.mark.parametrize("case, words", [
    ("empty", "empty file"), ("text", "not an image"), ("truncated", "truncated, corrupt"),
    ("blank", "no ink found"), ("missing", "no such file"),
])
def test_errors_are_one_line_naming_the_file(tmp_path, case, words):
    path = tmp_path / "bad.png"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is not a picture\n")
    elif case == "truncated":
        path.write_bytes(_png_bytes(tmp_path)[:300])
    elif case == "blank":
        Image.new("RGB", (50, 40), (240, 235, 220)).save(path)
    with pytest.raises(DataError) as info:
        load_digit(path)
    msg = str(info.value)
    assert words in msg and str(path) in msg and "\n" not in msg


def test_decompression_bomb_by_our_limit(tmp_path, monkeypatch):
    draw_digit((40, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(DataError, match="over the limit of 1000"):
        load_digit(tmp_path / "big.png")


@pytest.mark.parametrize("pillow_limit", [1000, 300])     # warning (< 2x) and error (> 2x)
def test_pillow_decompression_bomb_becomes_data_error(tmp_path, monkeypatch, pillow_limit):
    draw_digit((40, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match="decompression bomb"):
            load_digit(tmp_path / "big.png")
    assert not caught                                          # nothing printed either


def test_iter_image_files(tmp_path):
    for name in ("b.JPG", "a.png", "c.webp", "notes.txt", "d.gif"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.png").write_bytes(b"x")
    found = list(iter_image_files([tmp_path, tmp_path / "notes.txt"]))
    assert [p.name for p in found] == ["a.png", "b.JPG", "c.webp", "d.gif", "notes.txt"]
    with pytest.raises(DataError, match="no such file"):
        list(iter_image_files([tmp_path / "absent.png"]))


def test_noisy_photo_of_tinted_paper(tmp_path):
    rng = np.random.default_rng(0)
    grey = np.asarray(draw_digit((400, 300), "seven"), np.float32) / 255
    photo = np.clip(0.25 + 0.55 * grey + rng.normal(0, 0.05, grey.shape), 0, 1)
    rgb = np.stack([photo * 0.9, photo, photo * 0.7], -1)
    Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(tmp_path / "photo.jpg", quality=80)
    check_mnist_like(load_digit(tmp_path / "photo.jpg"))
