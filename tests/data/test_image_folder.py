"""dataset: image_folder — listing, decoding, the cache, bad files and their errors."""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnpy.data import image_folder
from nnpy.data.image_decode import decode_image
from nnpy.data.image_folder import ImageFolder
from nnpy.data.images import load_digit
from nnpy.errors import ConfigError, DataError, NnpyError
from nnpy.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]


def save(path: Path, colour, size=(12, 10), mode="RGB", **kwargs) -> Path:
    """A plain image of ``colour``, ``size`` = (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, **kwargs)
    return path


def folder(root: Path, classes: dict, per_class: int = 3, size=(12, 10)) -> Path:
    """``root/<class>/<i>.png`` of one colour per class."""
    for name, colour in classes.items():
        for i in range(per_class):
            save(root / name / f"{i}.png", colour, size)
    return root


COLOURS = {"zebra": (250, 10, 10), "ant": (10, 250, 10), "mouse": (10, 10, 250)}


def test_classes_are_the_sorted_folder_names_and_labels_follow_them(tmp_path):
    root = folder(tmp_path / "pets", COLOURS, per_class=5)
    source = ImageFolder(root=str(root), test_split=0.4)
    description = source.describe()
    assert description.class_names == ("ant", "mouse", "zebra")
    assert description.input_shape == (3, 10, 12) and description.outputs == 3
    ds = source.load()
    assert len(ds.x_train) == 9 and len(ds.x_test) == 6            # 2 of 5 per class held out
    assert np.bincount(ds.y_test).tolist() == [2, 2, 2]
    for x, y in zip(np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])):
        expected = np.array(COLOURS[description.class_names[y]]) / 255
        assert np.allclose(x[:, 0, 0], expected, atol=1e-6)
    again = ImageFolder(root=str(root), test_split=0.4).load()
    assert np.array_equal(again.y_train, ds.y_train) and np.array_equal(again.x_test, ds.x_test)


def test_describe_reads_headers_only(tmp_path, monkeypatch):
    root = folder(tmp_path / "d", {"a": 0, "b": 255}, size=(20, 8))
    monkeypatch.setattr(image_folder, "decode_image", lambda *a: pytest.fail("describe decoded an image"))
    assert ImageFolder(root=str(root)).describe().input_shape == (3, 8, 20)
    save(root / "a" / "0.png", 128, (20, 8), mode="L")             # the first file decides: grey
    assert ImageFolder(root=str(root)).describe().input_shape == (1, 8, 20)
    assert ImageFolder(root=str(root), size=[5, 6], channels=3).describe().input_shape == (3, 5, 6)
    assert ImageFolder(root=str(root), preprocess="digits").describe().input_shape == (1, 28, 28)


def test_the_cache_is_hit_on_the_second_run_and_invalidated_by_a_changed_file(tmp_path, monkeypatch):
    root = folder(tmp_path / "d", {"a": (0, 0, 0), "b": (255, 255, 255)}, per_class=4)
    first = ImageFolder(root=str(root)).load()
    assert first.notes[0].startswith("decoded 8 files") and "cached in" in first.notes[0]
    cached = list((root / ".nnpy-cache").glob("images-*.npz"))
    assert len(cached) == 1

    real = image_folder.decode_image
    monkeypatch.setattr(image_folder, "decode_image", lambda *a: pytest.fail("decoded again"))
    second = ImageFolder(root=str(root)).load()
    assert "from the cache" in second.notes[0]
    assert np.array_equal(second.x_train, first.x_train) and np.array_equal(second.y_test, first.y_test)

    monkeypatch.setattr(image_folder, "decode_image", real)
    changed = root / "a" / "0.png"
    save(changed, (200, 100, 50))
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10 ** 9))
    third = ImageFolder(root=str(root)).load()
    assert third.notes[0].startswith("decoded 8 files")
    x = np.concatenate([third.x_train, third.x_test])
    assert np.isclose(x[:, 0, 0, 0], 200 / 255).sum() == 1          # the new content is read
    assert list((root / ".nnpy-cache").glob("images-*.npz")) == cached   # replaced, not added

    (root / "a" / "1.png").unlink()                                 # a removed file too
    assert ImageFolder(root=str(root)).load().notes[0].startswith("decoded 7 files")


def test_cache_false_and_a_cache_that_cannot_be_written(tmp_path):
    root = folder(tmp_path / "d", {"a": 0, "b": 255})
    note = ImageFolder(root=str(root), cache=False).load().notes[0]
    assert note.startswith("decoded 6 files") and "cached" not in note
    assert not (root / ".nnpy-cache").exists()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    ds = ImageFolder(root=str(root), cache=str(blocker)).load()      # a run does not stop for it
    assert "not cached" in ds.notes[0] and len(ds.x_train) + len(ds.x_test) == 6
    elsewhere = tmp_path / "caches"
    ImageFolder(root=str(root), cache=str(elsewhere)).load()
    assert len(list(elsewhere.glob("images-*.npz"))) == 1


def test_mixed_sizes_and_modes_decode_to_one_shape(tmp_path):
    root = tmp_path / "modes"
    save(root / "a" / "rgb.png", (255, 0, 0), (30, 20))
    save(root / "a" / "grey.png", 100, (7, 9), mode="L")
    save(root / "a" / "clear.png", (0, 0, 0, 0), (16, 16), mode="RGBA")   # transparent: white paper
    palette = Image.new("P", (10, 10), 0)
    palette.putpalette([0, 0, 255] + [0] * 765)
    (root / "b").mkdir(parents=True)
    palette.save(root / "b" / "palette.gif")
    save(root / "b" / "grey-alpha.png", (50, 255), (8, 8), mode="LA")
    Image.fromarray(np.full((6, 6), 65535, dtype=np.uint16)).save(root / "b" / "deep.png")   # 16-bit
    save(root / "b" / "cmyk.jpg", (0, 255, 255, 0), (12, 12), mode="CMYK")
    ds = ImageFolder(root=str(root), size=[8, 8], channels=3, test_split=0.01).load()
    assert ds.skipped == () and ds.x_train.shape == (7, 3, 8, 8)
    x = {tuple(np.round(xi[:, 4, 4] * 255).astype(int)) for xi in ds.x_train}
    assert {(255, 0, 0), (100, 100, 100), (255, 255, 255), (0, 0, 255), (50, 50, 50)} <= x
    grey = ImageFolder(root=str(root), size=[8, 8], channels=1, test_split=0.01).load()
    assert grey.x_train.shape == (7, 1, 8, 8) and grey.x_train.max() == pytest.approx(1.0)


def test_unicode_names(tmp_path):
    root = tmp_path / "données"
    save(root / "café" / "ñandú_猫.png", (1, 2, 3))
    save(root / "café" / "b.png", (1, 2, 3))
    save(root / "thé" / "茶.jpg", (200, 200, 200))
    save(root / "thé" / "x.png", (200, 200, 200))
    source = ImageFolder(root=str(root), test_split=0.5)
    assert source.describe().class_names == ("café", "thé")
    ds = source.load()
    assert ds.skipped == () and len(ds.x_train) == 2 and len(ds.x_test) == 2
    assert "from the cache" in ImageFolder(root=str(root), test_split=0.5).load().notes[0]


def bad_files(root: Path) -> None:
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "a" / "fake.png").write_bytes(b"this is text, not a PNG")
    (root / "b" / "empty.png").write_bytes(b"")
    save(root / "b" / "whole.jpg", (9, 9, 9), (64, 64))
    data = (root / "b" / "whole.jpg").read_bytes()
    (root / "b" / "truncated.jpg").write_bytes(data[:len(data) // 2])
    (root / "b" / ".DS_Store").write_bytes(b"\0\1")                 # hidden: not even listed


def test_bad_files_are_skipped_with_their_reason_or_refused_when_strict(tmp_path):
    root = folder(tmp_path / "d", {"a": 0, "b": 255}, per_class=3)
    bad_files(root)
    ds = ImageFolder(root=str(root), test_split=0.3).load()
    reasons = {Path(line.split(": ")[0]).name: line for line in ds.skipped}
    assert set(reasons) == {"notes.txt", "fake.png", "empty.png", "truncated.jpg"}
    assert "not an image file (extension '.txt'" in reasons["notes.txt"]
    assert "not an image (Pillow cannot identify it)" in reasons["fake.png"]
    assert "empty file (0 bytes)" in reasons["empty.png"]
    assert "truncated" in reasons["truncated.jpg"]
    assert len(ds.x_train) + len(ds.x_test) == 7                     # 3 + 3 + whole.jpg
    with pytest.raises(DataError, match=r"4 file\(s\) cannot be used and strict is true; the first: .*"):
        ImageFolder(root=str(root), strict=True).load()
    only_png = ImageFolder(root=str(root), extensions=["png"], test_split=0.3).load()
    assert {Path(s.split(": ")[0]).name for s in only_png.skipped} == {"notes.txt", "fake.png", "empty.png",
                                                                     "truncated.jpg", "whole.jpg"}


@pytest.mark.parametrize("case, message", [
    ("missing", r"data\.root: .*nowhere: no such folder"),
    ("no classes", r"d: no class folders \(it holds 2 image file\(s\) but no sub-folder\); put each class"),
    ("one class", r"d: only one class folder \('cat'\); a classifier needs two or more"),
    ("empty class", r"d/dog: empty class folder: no \.png, .* files \(1 other file\(s\)\)"),
    ("unreadable class", r"d: none of the images of class 'dog' can be read \(e\.g\. .*dog/x\.png: not an image"),
    ("test class unknown", r"d/test/bird: class 'bird' is not a folder of .*d/train"),
])
def test_layout_mistakes_are_one_line_errors_naming_the_folder(tmp_path, case, message):
    root = tmp_path / "d"
    if case == "no classes":
        save(root / "1.png", 0)
        save(root / "2.png", 0)
    elif case == "one class":
        save(root / "cat" / "1.png", 0)
    elif case in ("empty class", "unreadable class"):
        save(root / "cat" / "1.png", 0)
        (root / "dog").mkdir()
        (root / "dog" / ("readme.md" if case == "empty class" else "x.png")).write_text("hello")
    elif case == "test class unknown":
        folder(root / "train", {"cat": 0, "dog": 255})
        folder(root / "test", {"cat": 0, "bird": 255})
    source = ImageFolder(root=str(tmp_path / "nowhere" if case == "missing" else root))
    with pytest.raises(DataError, match=message) as info:
        source.load()
    assert "\n" not in str(info.value)


def test_train_and_test_folders_give_the_split(tmp_path):
    root = tmp_path / "d"
    folder(root / "train", {"cat": 0, "dog": 255}, per_class=4)
    folder(root / "test", {"dog": 255}, per_class=2)                # a test folder may lack a class
    ds = ImageFolder(root=str(root)).load()
    assert ds.class_names == ["cat", "dog"]
    assert np.bincount(ds.y_train).tolist() == [4, 4] and ds.y_test.tolist() == [1, 1]


def test_a_dataset_without_root_and_bad_options_are_errors():
    with pytest.raises(NnpyError, match="needs data.root"):
        ImageFolder().describe()
    for options, message in (({"size": [32]}, "size must be"), ({"channels": 2}, "channels must be one of 1, 3"),
                             ({"preprocess": "crop"}, "preprocess must be one of resize, digits"),
                             ({"preprocess": "digits", "channels": 3}, "preprocess: digits makes 28×28"),
                             ({"test_split": 1.0}, "test_split"), ({"extensions": "png"}, "extensions")):
        with pytest.raises(ConfigError, match=message):
            ImageFolder(root=".", **options)
    with pytest.raises(NnpyError, match="option 'strict' must be true or false"):
        DATASETS.make({"type": "image_folder", "root": ".", "strict": "yes"})


def test_digits_preprocessing_is_the_demos(tmp_path):
    samples = sorted((REPO / "data" / "samples").glob("d[0-9]_*.*"))[:4]
    root = tmp_path / "digits"
    for path in samples:
        target = root / path.name[1] / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    source = ImageFolder(root=str(root), preprocess="digits", test_split=0.01)
    ds = source.load()
    assert ds.x_train.shape == (len(samples), 1, 28, 28)
    expected = np.round(load_digit(samples[0]) * 255) / 255
    assert np.allclose(source.read_image(samples[0], (1, 28, 28))[0], expected, atol=1e-6)
    assert any(np.allclose(x[0], expected, atol=1e-6) for x in ds.x_train)


def test_decode_honours_size_and_channels(tmp_path):
    path = save(tmp_path / "wide.png", (10, 20, 30), (40, 10))
    assert decode_image(path, (3, 5, 7)).shape == (3, 5, 7)
    assert decode_image(path, (1, 5, 7)).dtype == np.uint8
    assert decode_image(path, (3, 5, 7))[:, 2, 3].tolist() == [10, 20, 30]


def test_the_progress_line_is_drawn_on_a_terminal_and_erased():
    import io

    from nnpy.data.progress import Progress

    stream = io.StringIO()
    with Progress(4, "decoding d/", stream=stream, enabled=True) as bar:
        for _ in range(4):
            bar.advance()
    text = stream.getvalue()
    assert "decoding d/ [" + "#" * 24 + "] 4/4" in text and text.endswith("\r\033[K")
    quiet = io.StringIO()
    with Progress(4, "decoding d/", stream=quiet) as bar:          # not a terminal: nothing
        bar.advance(4)
    assert quiet.getvalue() == ""
