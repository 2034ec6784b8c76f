"""Data: datasets (registered in ``nnpy.registry.DATASETS``, each describing its own shapes),
the IDX reader, the ``DataLoader``, batch transforms, dataset download, the demo's images:
reading (``images``), photo → MNIST digit in stages (``digits``, ``components``), rows
(``segment``); and your own data as a folder of images (``image_folder``) or a CSV table (``csv``).

Knows nothing of layers: everything here yields plain numpy arrays.
"""
from .csv_dataset import CSVDataset
from .datasets import (DIGIT_CLASSES, FASHION_CLASSES, MNIST, DataDescription, Dataset, DataSource,
                       FashionMNIST, FunctionFit, Parity, Sine)
from .datasets import MNISTDenoise
from .fetch import fetch
from .idx import read_idx, write_idx
from .digits import DigitStages, NoInkError, digit_stages, to_mnist
from .images import decode_grey, iter_image_files, load_digit, read_grey
from .segment import RowStages, segment_row
from .image_folder import ImageFolder
from .loader import DataLoader, split_train_val
from .tabular import BostonHousing
from .text import Reuters
from .transforms import (Compose, Normalize, RandomAffine, RandomContinentalStrokes, RandomErasing,
                         RandomHorizontalFlip, RandomThickness, build_transforms, make_transforms)

__all__ = ["BostonHousing", "CSVDataset", "Compose", "DIGIT_CLASSES", "DataDescription", "DataLoader",
           "DataSource", "Dataset", "DigitStages", "FASHION_CLASSES", "FashionMNIST", "FunctionFit", "ImageFolder",
           "MNIST", "MNISTDenoise", "NoInkError", "Normalize", "Parity", "RandomAffine", "RandomContinentalStrokes",
           "RandomErasing", "RandomHorizontalFlip", "RandomThickness", "Reuters", "RowStages", "Sine", "build_transforms",
           "make_transforms",
           "decode_grey", "digit_stages", "fetch", "iter_image_files", "load_digit", "read_grey", "read_idx",
           "segment_row", "split_train_val", "to_mnist", "write_idx"]
