"""``dataset: image_folder``: a folder of your own images, one sub-folder per class.

    root/                          or   root/train/circle/…   root/test/circle/…
      circle/001.png  002.jpg …              /square/…             /square/…
      square/…
      triangle/…

Classes are the sub-folder names, sorted (so their numbering never depends on the order the
disk lists them in); images may sit in nested folders below a class folder. Without
``train/`` and ``test/``, ``test_split`` of each class is held out, drawn with ``seed``.

Decoding every file on each run would be slow: the images are decoded once (with a
progress bar) into a uint8 cache (``nnpy.data.image_cache``) that later runs load. Files
that cannot be used (not an image, truncated, empty, another extension) are skipped and
reported in the run's log, unless ``strict: true`` makes any of them an error.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, RegistryError
from ..registry import register_dataset
from ..terminal import Progress
from .datasets import RELATIVE_PATHS, DataDescription, DataSource, check_count
from .image_cache import DecodedImages, cache_file, listing_key, load_cache, save_cache
from .image_decode import DIGIT_SHAPE, PREPROCESSING, BadImage, decode_image, peek_image

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class Layout:
    """What the folder holds, listed but not decoded.

    ``files``: every image file of every class folder, sorted; ``labels``: int64 class index
    per file; ``in_test``: bool per file (from ``root/test/``), or None when the split is
    drawn; ``ignored``: ``"<file>: <reason>"`` for files of another extension.
    """
    root: Path
    classes: list
    files: list
    labels: np.ndarray
    in_test: np.ndarray | None
    ignored: list


@register_dataset("image_folder")
class ImageFolder(DataSource):
    """Your own images, one sub-folder of ``data.root`` per class (``root/cat/1.png``), or
    ``root/train/<class>/`` and ``root/test/<class>/``.

    x ``(N, channels, H, W)`` float32 in [0, 1], y int64: the class's index in the sorted
    folder names. Options: ``size`` [H, W] (default the first image's), ``channels`` 1 or 3
    (default: the first image's, grey or colour), ``preprocess`` ``resize`` or ``digits``
    (the demo's MNIST-style 28×28 digit), ``extensions``, ``strict`` (refuse bad files
    instead of skipping them), ``test_split`` and ``seed`` (without a test folder), ``cache``
    (true: ``<root>/.nnpy-cache``, false: decode every time, or a folder).
    """

    def __init__(self, root: str | None = None, size: list | None = None, channels: int | None = None,
                 preprocess: str = "resize", extensions: list | None = None, strict: bool = False,
                 test_split: float = 0.2, seed: int = 0, cache: bool | str = True):
        self.root = None if root is None else Path(root)
        self.preprocess = _choice("preprocess", preprocess, PREPROCESSING)
        self.size = None if size is None else _size(size)
        self.channels = channels if channels is None else _choice("channels", channels, (1, 3))
        if self.preprocess == "digits" and (self.channels == 3 or self.size not in (None, (28, 28))):
            raise ConfigError("preprocess: digits makes 28×28 grey digits: leave out size and channels "
                              "(or give size [28, 28] and channels 1)")
        self.extensions = _extensions(extensions)
        self.strict = bool(strict)
        if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 < test_split < 1:
            raise ConfigError(f"test_split must be a fraction in (0, 1), not {test_split!r}")
        self.test_split, self.seed = float(test_split), check_count("seed", seed, minimum=0)
        self.cache = cache
        self._layout_memo: Layout | None = None
        self._description: DataDescription | None = None

    # --- what the folder holds (no decoding) ------------------------------------------
    def layout(self) -> Layout:
        """The folder listed once (``list_layout``)."""
        if self._layout_memo is None:
            if self.root is None:
                raise RegistryError("dataset 'image_folder' needs data.root: the folder that holds one "
                                    "sub-folder of images per class", option="root")
            self._layout_memo = list_layout(self.root, self.extensions)
        return self._layout_memo

    def describe(self) -> DataDescription:
        if self._description is None:
            layout = self.layout()
            self._description = DataDescription(self._input_shape(layout), len(layout.classes),
                                                "classification", layout.classes)
        return self._description

    def _input_shape(self, layout: Layout) -> tuple:
        """``(C, H, W)``: the options', completed from the header of the first readable image."""
        if self.preprocess == "digits":
            return DIGIT_SHAPE
        if self.size is not None and self.channels is not None:
            return (self.channels, *self.size)
        first = None
        for path in layout.files:
            try:
                size, channels = peek_image(path)
                break
            except BadImage as exc:
                first = first or exc
        else:
            raise DataError(f"{layout.root}: none of its {len(layout.files)} image files can be read "
                            f"(the first: {first})")
        return (self.channels or channels, *(self.size or size))

    # --- the arrays -------------------------------------------------------------------
    def load(self, limit: int | None = None):
        layout, shape = self.layout(), self.describe().input_shape
        decoded, note = self._decoded(layout, shape)
        skipped = layout.ignored + decoded.bad_lines(layout.files)
        if self.strict and skipped:
            raise DataError(f"{layout.root}: {len(skipped)} file(s) cannot be used and strict is true; "
                            f"the first: {skipped[0]}")
        labels = layout.labels[decoded.index]
        _check_every_class_read(layout, decoded)
        in_test = layout.in_test[decoded.index] if layout.in_test is not None else \
            held_out(labels, self.test_split, self.seed)
        rng = np.random.default_rng(self.seed)
        train, test = (rng.permutation(np.flatnonzero(mask)) for mask in (~in_test, in_test))
        x = decoded.pixels
        return self.dataset(_scaled(x[train]), labels[train], _scaled(x[test]), labels[test], limit,
                            skipped=skipped, notes=[note])

    def _decoded(self, layout: Layout, shape: tuple) -> tuple[DecodedImages, str]:
        """The decoded images from the cache when it matches the folder, else decoded now (and
        cached); with a line saying which."""
        start = time.perf_counter()
        key = listing_key(layout.files, layout.root)
        path = None
        if self.cache is not False:
            folder = None if self.cache is True else Path(self.cache)
            path = cache_file(layout.root, {"shape": list(shape), "preprocess": self.preprocess}, folder)
            decoded = load_cache(path, key)
            if decoded is not None:
                return decoded, (f"{len(decoded.index)} images of {layout.root} from the cache {path} "
                                 f"({time.perf_counter() - start:.2f} s)")
        decoded = decode_files(layout.files, shape, self.preprocess, f"decoding {layout.root}")
        note = f"decoded {len(layout.files)} files of {layout.root} in {time.perf_counter() - start:.1f} s"
        if path is not None:
            problem = save_cache(path, key, decoded)
            note += f"; cached in {path}" if problem is None else f"; not cached ({path}: {problem})"
        return decoded, note

    def read_image(self, path, input_shape: tuple, data: bytes | None = None,
                   max_pixels: int | None = None) -> np.ndarray:
        """One image file (or ``data``, its bytes: an upload) as a model trained on this
        dataset reads it: ``input_shape`` ``(C, H, W)`` float32 in [0, 1] (what ``nnpy demo``
        and ``nnpy serve`` feed an image-folder model); ``max_pixels`` as ``decode_image``."""
        return _scaled(decode_image(path, tuple(input_shape), self.preprocess, data, max_pixels))


def decode_files(files: list, shape: tuple, preprocess: str, label: str) -> DecodedImages:
    """Decode every file (a progress bar on a terminal); the ones that fail are recorded."""
    pixels = np.empty((len(files), *shape), dtype=np.uint8)
    index, bad_index, bad_reason = [], [], []
    with Progress(len(files), label) as bar:
        for i, path in enumerate(files):
            try:
                pixels[len(index)] = decode_image(path, shape, preprocess)
                index.append(i)
            except BadImage as exc:
                bad_index.append(i)
                bad_reason.append(exc.reason)
            bar.advance()
    return DecodedImages(pixels[:len(index)].copy(), np.array(index, dtype=np.int64),
                         np.array(bad_index, dtype=np.int64), bad_reason)


def held_out(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A bool mask of the test samples: ``round(fraction · n_c)`` of each class's ``n_c``,
    drawn with ``seed`` (stratified, so every class is tested in proportion)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    by_class = order[np.argsort(labels[order], kind="stable")]     # shuffled within each class
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(labels), dtype=np.int64)                   # place within its class
    rank[by_class] = np.arange(len(labels)) - np.repeat(starts, counts)
    return rank < np.round(counts * fraction).astype(np.int64)[labels]


def _scaled(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1]."""
    x = pixels.astype(np.float32)
    x *= np.float32(1 / 255)
    return x


def _check_every_class_read(layout: Layout, decoded: DecodedImages) -> None:
    """A class whose every file failed to decode is an error naming the class and a file."""
    read = np.bincount(layout.labels[decoded.index], minlength=len(layout.classes))
    if read.all():
        return
    label = int(np.flatnonzero(read == 0)[0])
    first = next(f"{layout.files[i]}: {reason}" for i, reason in zip(decoded.bad_index.tolist(), decoded.bad_reason)
                 if layout.labels[i] == label)
    raise DataError(f"{layout.root}: none of the images of class '{layout.classes[label]}' can be read "
                    f"(e.g. {first})")


# --- listing ----------------------------------------------------------------------------

def list_layout(root: Path, extensions: tuple = IMAGE_EXTENSIONS) -> Layout:
    """List ``root``: its classes and their files, from ``root/<class>/`` or from
    ``root/train/<class>/`` and ``root/test/<class>/``; nothing is decoded."""
    root = Path(root)
    if not root.is_dir():
        where = "" if root.is_absolute() else f" (looked for {root.absolute()}; {RELATIVE_PATHS})"
        raise DataError(f"data.root: {root}: no such folder{where}")
    split = (root / "train").is_dir() and (root / "test").is_dir()
    train_dir = root / "train" if split else root
    classes = class_folders(train_dir)
    files, labels, in_test, ignored = [], [], [], []
    for folder, is_test in ((train_dir, False), (root / "test", True)) if split else ((root, False),):
        names = classes if folder == train_dir else _test_classes(folder, classes)
        for name in names:
            images, others = class_files(folder / name, extensions)
            files += images
            labels += [classes.index(name)] * len(images)
            in_test += [is_test] * len(images)
            ignored += others
    return Layout(root, classes, files, np.array(labels, dtype=np.int64),
                  np.array(in_test, dtype=bool) if split else None, ignored)


def class_folders(folder: Path) -> list[str]:
    """The class folder names in ``folder``, sorted; fewer than two is an error naming it."""
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        loose = sum(1 for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        found = f"it holds {loose} image file(s) but no sub-folder" if loose else "no sub-folders"
        raise DataError(f"{folder}: no class folders ({found}); put each class's images in a sub-folder "
                        f"named after the class: {folder / 'cat' / '1.png'}, {folder / 'dog' / '1.jpg'}")
    if len(names) == 1:
        raise DataError(f"{folder}: only one class folder ('{names[0]}'); a classifier needs two or more")
    return names


def _test_classes(folder: Path, classes: list) -> list[str]:
    names = [p.name for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    unknown = [n for n in names if n not in classes]
    if unknown:
        raise DataError(f"{folder / unknown[0]}: class '{unknown[0]}' is not a folder of "
                        f"{folder.parent / 'train'} (its classes: {', '.join(classes)})")
    return sorted(names)


def class_files(folder: Path, extensions: tuple) -> tuple[list[Path], list[str]]:
    """(image files, ``"<file>: <reason>"`` of the others) below ``folder``, sorted by path;
    hidden files and folders are left out. No image at all is an error naming the folder."""
    found = []                                   # (path relative to folder, with "/", Path)
    for here, folders, names in os.walk(folder):
        folders[:] = [f for f in folders if not f.startswith(".")]   # os.walk skips what is removed
        inside = Path(here).relative_to(folder).as_posix()
        found += [(name if inside == "." else f"{inside}/{name}", Path(here) / name)
                  for name in names if not name.startswith(".")]
    found = [path for _, path in sorted(found)]
    images = [p for p in found if p.suffix.lower() in extensions]
    others = [f"{p}: not an image file (extension '{p.suffix}' is not one of {', '.join(extensions)})"
              for p in found if p.suffix.lower() not in extensions]
    if not images:
        also = f" ({len(others)} other file(s))" if others else ""
        raise DataError(f"{folder}: empty class folder: no {', '.join(extensions)} files{also}")
    return images, others


# --- option checks ------------------------------------------------------------------------

def _choice(name: str, value, choices: tuple):
    if value not in choices or isinstance(value, bool):
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")
    return value


def _size(size) -> tuple[int, int]:
    if not isinstance(size, (list, tuple)) or len(size) != 2 or \
            not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        raise ConfigError(f"size must be [height, width] in pixels, e.g. [32, 32], not {size!r}")
    return int(size[0]), int(size[1])


def _extensions(extensions) -> tuple[str, ...]:
    if extensions is None:
        return IMAGE_EXTENSIONS
    if not isinstance(extensions, (list, tuple)) or not extensions or \
            not all(isinstance(e, str) and e.strip(".") for e in extensions):
        raise ConfigError(f"extensions must be a list of file extensions such as [.png, .jpg], "
                          f"not {extensions!r}")
    return tuple("." + e.lower().lstrip(".") for e in extensions)
