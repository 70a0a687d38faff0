"""Data: datasets, the DataLoader, toy problems and bundled datasets (``deepgrad.data``)."""
from .dataset import Dataset, Subset, TensorDataset, random_split
from .digits import load_digits, train_test_split
from .images import (DatasetFileError, load_cifar10, load_fashion_mnist, load_mnist,
                     load_mnist_subset)
from .loader import DataLoader
from .registry import DATASETS, load
from .toy import blobs, circles, regression_1d, spirals, two_moons
