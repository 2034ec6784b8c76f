"""Data: datasets (registered in ``nnpy.registry.DATASETS``, each describing its own shapes),
the IDX reader, the ``DataLoader``, batch transforms, demo image preprocessing and download;
your own data as a folder of images (``image_folder``) or a CSV table (``csv``).

Knows nothing of layers: everything here yields plain numpy arrays.
"""
from .csv_dataset import CSVDataset
from .datasets import (DIGIT_CLASSES, FASHION_CLASSES, MNIST, DataDescription, Dataset, DataSource,
                       FashionMNIST, FunctionFit, Parity, Sine)
from .fetch import fetch
from .idx import read_idx, write_idx
from .image_folder import ImageFolder
from .images import iter_image_files, load_digit, read_grey, to_mnist
from .loader import DataLoader, split_train_val
from .tabular import BostonHousing
from .text import Reuters
from .transforms import (Compose, Normalize, RandomAffine, RandomHorizontalFlip, RandomThickness,
                         build_transforms)

__all__ = ["BostonHousing", "CSVDataset", "Compose", "DIGIT_CLASSES", "DataDescription", "DataLoader",
           "DataSource", "Dataset", "FASHION_CLASSES", "FashionMNIST", "FunctionFit", "ImageFolder", "MNIST",
           "Normalize", "Parity", "RandomAffine", "RandomHorizontalFlip", "RandomThickness", "Reuters", "Sine",
           "build_transforms", "fetch", "iter_image_files", "load_digit", "read_grey", "read_idx",
           "split_train_val", "to_mnist", "write_idx"]
