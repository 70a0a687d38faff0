"""One entry point for every dataset: ``dg.data.load(name, split="train", root=None)``.

Returns ``(X, y)`` arrays: X float32 (N, features) or (N, C, H, W), y int64 labels.
Datasets with an official test set (MNIST, Fashion-MNIST, CIFAR-10) return it for
``split="test"``; the others are split 80/20 with a fixed seed, so "train" and "test"
never overlap and are the same on every machine. ``split="all"`` returns everything.

Files of downloadable datasets are looked for in ``root``, else in
``$DEEPGRAD_DATA``, else in ``~/.cache/deepgrad``.
"""
import os

import numpy as np

from . import digits, toy
from .dataset import train_test_split

SPLITS = ("train", "test", "all")
ENV_VAR = "DEEPGRAD_DATA"


def default_root(root=None):
    """The data directory: ``root``, else ``$DEEPGRAD_DATA``, else ``~/.cache/deepgrad``."""
    return os.fspath(root or os.environ.get(ENV_VAR) or
                     os.path.join(os.path.expanduser("~"), ".cache", "deepgrad"))


# name -> (loader(root) returning all rows, description). Loaders of datasets with an
# official split instead take (split, root) and are listed in _OFFICIAL_SPLIT.
DATASETS = {
    "digits": (lambda root: digits.load_digits(flatten=True),
               "8x8 handwritten digits as 64 features, 1,797 images (scikit-learn)"),
    "digits-images": (lambda root: digits.load_digits(flatten=False),
                      "the same digits as 1x8x8 images"),
    "moons": (lambda root: toy.two_moons(1000, noise=0.15), "two interleaved half circles"),
    "spirals": (lambda root: toy.spirals(900, n_classes=3), "three spiral arms"),
    "circles": (lambda root: toy.circles(1000, noise=0.08), "a circle inside a circle"),
    "blobs": (lambda root: toy.blobs(900, n_classes=3), "three Gaussian clusters"),
}
_OFFICIAL_SPLIT = set()


def register(name, loader, description, official_split=False):
    """Add a dataset. ``loader(root)`` returns all rows, or with ``official_split``
    ``loader(split, root)`` returns the named split."""
    DATASETS[name] = (loader, description)
    if official_split:
        _OFFICIAL_SPLIT.add(name)


def load(name, split="train", root=None, test_fraction=0.2, seed=0):
    """Load ``split`` of dataset ``name``; an unknown name lists the known ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    if split not in SPLITS:
        raise ValueError(f"load({name!r}): split must be one of {SPLITS}, got {split!r}")
    loader, _ = DATASETS[name]
    root = default_root(root)
    if name in _OFFICIAL_SPLIT:
        if split == "all":
            parts = [loader(s, root) for s in ("train", "test")]
            return tuple(np.concatenate(arrays) for arrays in zip(*parts))
        return loader(split, root)
    x, y = loader(root)
    if split == "all":
        return x, y
    x_train, y_train, x_test, y_test = train_test_split(x, y, test_fraction, seed)
    return (x_train, y_train) if split == "train" else (x_test, y_test)
