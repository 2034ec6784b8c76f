"""Data: datasets (registered in ``nnpy.registry.DATASETS``, each describing its own shapes),
the IDX reader, the ``DataLoader``, batch transforms, dataset download, reading untrusted images
(``images``); and your own data as a folder of images (``image_folder``) or a CSV table (``csv``).

Knows nothing of layers: everything here yields plain numpy arrays. The demo's photo-to-digit
pipeline, once here, is ``nnpy.digits``.
"""
from .csv_dataset import CSVDataset
from .datasets import (DIGIT_CLASSES, FASHION_CLASSES, MNIST, DataDescription, Dataset, DataSource,
                       FashionMNIST, FunctionFit, Parity, Sine)
from .datasets import MNISTDenoise
from .fetch import fetch
from .idx import read_idx, write_idx
from .images import decode_grey, iter_image_files, read_grey
from .image_folder import ImageFolder
from .loader import DataLoader, split_train_val
from .tabular import BostonHousing
from .text import Reuters
from .transforms import (Compose, Normalize, RandomAffine, RandomContinentalStrokes, RandomErasing,
                         RandomHorizontalFlip, RandomThickness, build_transforms, make_transforms)

#: Names of the digit reader once exported here (``from nnpy.data import to_mnist``): their old
#: path, kept so existing imports work; they live in ``nnpy.digits``, imported on first use.
MOVED_TO_DIGITS = ("DigitStages", "NoInkError", "RowStages", "digit_stages", "load_digit", "segment_row",
                   "to_mnist")
#: Modules that moved out (``nnpy.data.digits``, ``nnpy.data.batch_part``, …): each old module is a
#: shim naming the new home; importing ``nnpy.data`` no longer loads them, so they load on first use.
MOVED_MODULES = ("batch_part", "components", "cutpaths", "digits", "progress", "segment")

__all__ = ["BostonHousing", "CSVDataset", "Compose", "DIGIT_CLASSES", "DataDescription", "DataLoader",
           "DataSource", "Dataset", "FASHION_CLASSES", "FashionMNIST", "FunctionFit", "ImageFolder",
           "MNIST", "MNISTDenoise", "Normalize", "Parity", "RandomAffine", "RandomContinentalStrokes",
           "RandomErasing", "RandomHorizontalFlip", "RandomThickness", "Reuters", "Sine", "build_transforms",
           "make_transforms",
           "decode_grey", "fetch", "iter_image_files", "read_grey", "read_idx", "split_train_val", "write_idx",
           *MOVED_TO_DIGITS]


def __getattr__(name: str):
    """The names of ``MOVED_TO_DIGITS``, from ``nnpy.digits``; the shims of ``MOVED_MODULES``."""
    if name in MOVED_TO_DIGITS:
        from .. import digits
        return getattr(digits, name)
    if name in MOVED_MODULES:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
