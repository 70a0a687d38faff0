"""Datasets, as in ``torch.utils.data``: a map-style ``Dataset`` is anything with
``__len__`` and ``__getitem__``; ``TensorDataset`` holds equally long arrays, ``Subset``
a selection of another dataset, ``random_split`` cuts one into random Subsets
(``train_test_split`` does it for arrays)."""
import math

import numpy as np

from .. import backend
from ..autograd import Tensor
from .collate import default_collate
from .sampler import numpy_generator


class Dataset:
    """A map-style dataset. Subclasses give ``__len__`` and ``__getitem__(i)``.

    A dataset may also define ``get_batch(indices)`` (an int64 array) returning a whole
    batch at once: what ``default_collate`` would make of those samples, where arrays
    may stand in for Tensors and a tuple for the list. The DataLoader then skips
    per-sample collation (much faster for arrays) unless it has a ``collate_fn`` of its
    own.
    """

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of equally long Tensors or arrays (inputs, targets, ...):
    ``dataset[i]`` is the tuple of their i-th rows, as Tensors sharing their memory."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        arrays = tuple(a._data if isinstance(a, Tensor) else a if backend.is_array(a)
                       else np.asarray(a) for a in arrays)
        for i, a in enumerate(arrays):
            if getattr(a, "ndim", 0) == 0:
                raise ValueError(f"TensorDataset: array {i} must have at least 1 dimension "
                                 f"(rows are samples), got shape {tuple(a.shape)}")
        n = len(arrays[0])
        for i, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError(f"TensorDataset: array {i} has {len(a)} rows, array 0 has "
                                 f"{n}; all must have the same length")
        self.arrays = arrays

    def __len__(self):
        return len(self.arrays[0])

    @property
    def tensors(self):
        """The whole columns as Tensors (PyTorch's attribute)."""
        return tuple(Tensor(a) for a in self.arrays)

    def __getitem__(self, index):
        # a[i] of a 1-D array is a NumPy scalar: asarray makes it the 0-d array a
        # Tensor wraps
        return tuple(Tensor(backend.get_array_module(a).asarray(a[index]))
                     for a in self.arrays)

    def get_batch(self, indices):
        n = len(self)
        if len(indices) and (int(min(indices)) < -n or int(max(indices)) >= n):
            bad = int(max(indices)) if int(max(indices)) >= n else int(min(indices))
            raise IndexError(f"TensorDataset: index {bad} is out of range for {n} samples")
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples ``indices`` of ``dataset``: ``subset[k]`` is ``dataset[indices[k]]``."""

    def __init__(self, dataset, indices):
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError(f"Subset: indices must be a 1-D sequence of integers, got "
                            f"shape {tuple(indices.shape)} of dtype {indices.dtype}")
        n = len(dataset)
        if indices.size and (int(indices.min()) < -n or int(indices.max()) >= n):
            bad = int(indices.min()) if int(indices.min()) < -n else int(indices.max())
            raise ValueError(f"Subset: index {bad} is out of range for a dataset of {n} "
                             f"samples")
        self.dataset, self.indices = dataset, indices.astype(np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, list):  # as PyTorch's Subset
            return self.dataset[[int(self.indices[i]) for i in index]]
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        inner = self.indices[indices]
        if callable(getattr(self.dataset, "get_batch", None)):
            return self.dataset.get_batch(inner)
        return default_collate([self.dataset[int(i)] for i in inner])


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split into non-overlapping Subsets of the given lengths, or of fractions summing
    to 1 (``floor(n * f)`` samples each, the remainder handed out one by one from the
    first, as PyTorch does). The order comes from ``generator`` (a
    :class:`deepgrad.data.Generator`), else from ``seed``, else from ``dg.manual_seed``'s
    generator."""
    n = len(dataset)
    lengths = list(lengths) if isinstance(lengths, (list, tuple)) else lengths
    if not isinstance(lengths, list) or not lengths or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in lengths):
        raise TypeError(f"random_split: lengths must be a non-empty list of sample counts "
                        f"or of fractions summing to 1, got {lengths!r:.80}")
    if generator is not None and seed is not None:
        raise ValueError("random_split: give generator or seed, not both")
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-9:
        if any(not 0 <= f <= 1 for f in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = list(lengths)
    if sum(counts) != n or any(c < 0 for c in counts):
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the "
                         f"dataset's {n} samples")
    if generator is not None:
        gen = numpy_generator(generator, "random_split")
    else:
        gen = np.random.default_rng(seed) if seed is not None else backend.generator()
    order = gen.permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, order[start:start + c]))
        start += c
    return out


def train_test_split(x, y, test_fraction=0.2, seed=0):
    """:func:`random_split` for arrays: shuffle the rows with ``seed``, hold out
    ``test_fraction`` of them; returns ``x_train, y_train, x_test, y_test``."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), got "
                         f"{test_fraction}")
    n_test = int(round(len(x) * test_fraction))
    test, train = random_split(TensorDataset(x, y), [n_test, len(x) - n_test], seed=seed)
    return x[train.indices], y[train.indices], x[test.indices], y[test.indices]
