"""Data: datasets (registered in ``nnpy.registry.DATASETS``), the IDX reader, the
``DataLoader``, batch transforms, dataset download, and the demo's images: reading
(``images``), photo → MNIST digit in stages (``digits``, ``components``), rows (``segment``).

Knows nothing of layers: everything here yields plain numpy arrays.
"""
from .datasets import (DIGIT_CLASSES, FASHION_CLASSES, Dataset, fashion_mnist, function, mnist,
                       parity, sine)
from .fetch import fetch
from .idx import read_idx, write_idx
from .digits import DigitStages, NoInkError, digit_stages, to_mnist
from .images import decode_grey, iter_image_files, load_digit, read_grey
from .segment import RowStages, segment_row
from .loader import DataLoader, split_train_val
from .transforms import (Compose, Normalize, RandomAffine, RandomContinentalStrokes,
                         RandomHorizontalFlip, RandomThickness, build_transforms)

__all__ = ["Compose", "DIGIT_CLASSES", "DataLoader", "Dataset", "DigitStages", "NoInkError",
           "RowStages", "decode_grey", "digit_stages", "segment_row", "FASHION_CLASSES", "Normalize",
           "RandomAffine", "RandomContinentalStrokes", "RandomHorizontalFlip", "RandomThickness", "build_transforms", "fashion_mnist", "fetch",
           "function", "iter_image_files", "load_digit", "mnist", "parity", "read_grey",
           "read_idx", "sine", "split_train_val", "to_mnist", "write_idx"]
from .text import reuters  # noqa: E402,F401  (registers the 'reuters' dataset)
from .tabular import boston_housing  # noqa: E402,F401  (registers the 'boston_housing' dataset)
