"""Datasets: anything with ``__len__`` and ``__getitem__``; TensorDataset for arrays."""
from .. import backend
from ..autograd import Tensor


class Dataset:
    """A map-style dataset. Subclasses give ``__len__`` and ``__getitem__(i)``.

    A dataset may also define ``get_batch(indices)`` returning whole batches at once;
    the DataLoader then skips per-sample collation (much faster for arrays).
    """

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays (inputs, targets, ...)."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        arrays = tuple(a.data if isinstance(a, Tensor) else backend.np.asarray(a)
                       if not hasattr(a, "shape") else a for a in arrays)
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

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    def __init__(self, dataset, indices):
        indices = backend.np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError(f"Subset: indices must be a 1-D sequence of integers, got "
                            f"shape {indices.shape} of dtype {indices.dtype}")
        n = len(dataset)
        if indices.size and (int(indices.min()) < -n or int(indices.max()) >= n):
            bad = int(indices.min()) if int(indices.min()) < -n else int(indices.max())
            raise ValueError(f"Subset: index {bad} is out of range for a dataset of {n} "
                             f"samples")
        self.dataset, self.indices = dataset, indices.astype(backend.np.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        inner = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(inner)
        from .loader import collate
        return collate([self.dataset[int(i)] for i in inner])


def random_split(dataset, lengths, seed=None):
    """Split into non-overlapping Subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths) if isinstance(lengths, (list, tuple)) else lengths
    if not isinstance(lengths, list) or not lengths or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in lengths):
        raise TypeError(f"random_split: lengths must be a non-empty list of sample counts "
                        f"or of fractions summing to 1, got {lengths!r:.80}")
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-9:
        counts = [int(n * f) for f in lengths]
        counts[0] += n - sum(counts)
    else:
        counts = list(lengths)
    if sum(counts) != n or any(c < 0 for c in counts):
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the "
                         f"dataset's {n} samples")
    gen = backend.np.random.default_rng(seed) if seed is not None else backend.generator()
    order = gen.permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, order[start:start + c]))
        start += c
    return out
