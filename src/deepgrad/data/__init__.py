"""Data: datasets, the DataLoader and its samplers, toy problems and bundled datasets
(``deepgrad.data``, in the place of ``torch.utils.data``)."""
from .collate import default_collate, default_convert
from .dataset import Dataset, Subset, TensorDataset, random_split, train_test_split
from .digits import load_digits
from .images import (DatasetFileError, load_cifar10, load_fashion_mnist, load_mnist,
                     load_mnist_subset)
from .loader import DataLoader
from .registry import DATASETS, load
from .sampler import (BatchSampler, Generator, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .toy import blobs, circles, regression_1d, spirals, two_moons
from .workers import WorkerInfo, get_worker_info

__all__ = ['BatchSampler', 'DATASETS', 'DataLoader', 'Dataset', 'DatasetFileError',
           'Generator', 'RandomSampler', 'Sampler', 'SequentialSampler', 'Subset',
           'SubsetRandomSampler', 'TensorDataset', 'WeightedRandomSampler',
           'WorkerInfo', 'blobs', 'circles', 'default_collate', 'default_convert',
           'get_worker_info', 'load', 'load_cifar10', 'load_digits',
           'load_fashion_mnist', 'load_mnist', 'load_mnist_subset', 'random_split',
           'regression_1d', 'spirals', 'train_test_split', 'two_moons']
