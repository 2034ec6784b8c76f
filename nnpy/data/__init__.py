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
                         RandomHorizontalFlip, RandomThickness, build_transforms)

__all__ = ["BostonHousing", "CSVDataset", "Compose", "DIGIT_CLASSES", "DataDescription", "DataLoader",
           "DataSource", "Dataset", "FASHION_CLASSES", "FashionMNIST", "FunctionFit", "ImageFolder",
           "MNIST", "MNISTDenoise", "Normalize", "Parity", "RandomAffine", "RandomContinentalStrokes",
           "RandomErasing", "RandomHorizontalFlip", "RandomThickness", "Reuters", "Sine", "build_transforms",
           "decode_grey", "fetch", "iter_image_files", "read_grey", "read_idx", "split_train_val", "write_idx"]
