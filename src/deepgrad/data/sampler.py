"""Samplers: the order in which a DataLoader visits a dataset, as ``torch.utils.data``.

A sampler is an iterable of indices (``SequentialSampler``, ``RandomSampler``,
``SubsetRandomSampler``, ``WeightedRandomSampler``); a ``BatchSampler`` groups one into
lists of ``batch_size`` indices. Each yields Python ints and lists, as PyTorch's do.

Randomness comes from a :class:`Generator` (deepgrad's ``torch.Generator``: a seeded
NumPy generator), a ``numpy.random.Generator``, or, when none is given, from
``deepgrad.manual_seed``'s shared generator. The numbers differ from PyTorch's (another
random number generator); the rules (what is drawn, how many, with or without
replacement) are the same.
"""
import itertools

import numpy as np

from .. import backend
from ..autograd import Tensor


class Generator:
    """A seedable source of random numbers for samplers and ``random_split``, in the
    place of ``torch.Generator``.

    ``Generator().manual_seed(0)`` gives the same orders on every run. Without
    ``manual_seed`` it starts from PyTorch's default seed, 67280421310721, as
    ``torch.Generator()`` does. ``get_state()`` returns the NumPy bit generator's state
    as a dict (PyTorch returns a byte tensor); ``set_state`` takes it back.
    """

    default_seed = 67280421310721

    def __init__(self, device="cpu"):
        if backend.normalize_device(device) != "cpu":
            raise ValueError(f"Generator: samplers draw on the CPU; device must be 'cpu', "
                             f"got {device!r}")
        self.device = backend.device("cpu")
        self.manual_seed(self.default_seed)

    def manual_seed(self, seed):
        """Restart from ``seed`` (a non-negative integer); returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Generator.manual_seed: seed must be a non-negative integer, "
                             f"got {seed!r}")
        self._initial_seed = int(seed)
        self._rng = np.random.default_rng(self._initial_seed)
        return self

    def seed(self):
        """Reseed from fresh OS entropy and return the new seed."""
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._initial_seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self

    def _restart(self, entropy):
        """Restart from a tuple of integers: the DataLoader's (seed, epoch)."""
        self._rng = np.random.default_rng(entropy)


def numpy_generator(generator, owner):
    """The ``numpy.random.Generator`` behind ``generator`` (None: the shared one)."""
    if generator is None:
        return backend.generator()
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{owner}: generator must be a deepgrad.data.Generator, a "
                    f"numpy.random.Generator or None, got {type(generator).__name__}")


def _check_generator(generator, owner):
    if generator is not None:
        numpy_generator(generator, owner)
    return generator


class Sampler:
    """Base class: an iterable of dataset indices, optionally with ``__len__``."""

    def __init__(self, data_source=None):  # PyTorch accepts and ignores the argument
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)

    def _order(self):
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(Sampler):
    """A random order of the dataset's indices.

    Without replacement: a permutation of [0, N) (``num_samples > N`` concatenates
    fresh permutations, the last one cut short). With replacement: ``num_samples``
    indices drawn uniformly from [0, N). ``num_samples`` defaults to N.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source, self.replacement = data_source, replacement
        self._num_samples = num_samples
        self.generator = _check_generator(generator, "RandomSampler")
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer "
                             f"value, but got num_samples={n!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples

    def _order(self):
        rng = numpy_generator(self.generator, "RandomSampler")
        n, count = len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=count)
        full, rest = divmod(count, n)
        parts = [rng.permutation(n) for _ in range(full)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return np.concatenate(parts)


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (each once)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        rng = numpy_generator(self.generator, "SubsetRandomSampler")
        return (self.indices[i] for i in rng.permutation(len(self.indices)).tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices of [0, len(weights)) drawn with probability proportional
    to ``weights`` (with replacement by default; without, each index at most once)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if (isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer))
                or num_samples <= 0):
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive "
                             f"integer value, but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean "
                             f"value, but got replacement={replacement!r}")
        weights = weights._data if isinstance(weights, Tensor) else weights
        if backend.is_array(weights):
            weights = backend.to_device(weights, "cpu")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but "
                             f"given weights have shape {tuple(weights.shape)}")
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative "
                             "and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                             f"without replacement from {np.count_nonzero(weights)} "
                             f"non-zero weights")
        self.weights, self.num_samples, self.replacement = weights, num_samples, replacement
        self.generator = _check_generator(generator, "WeightedRandomSampler")

    def __iter__(self):
        return iter(self._order().tolist())

    def __len__(self):
        return self.num_samples

    def _order(self):
        rng = numpy_generator(self.generator, "WeightedRandomSampler")
        return rng.choice(len(self.weights), size=self.num_samples,
                          replace=self.replacement, p=self.weights / self.weights.sum())


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one
    shorter, or dropped with ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                or batch_size <= 0):
            raise ValueError(f"BatchSampler: batch_size should be a positive integer "
                             f"value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        return (b if isinstance(b, list) else b.tolist() for b in self._batches())

    def __len__(self):
        n, b = len(self.sampler), self.batch_size
        return n // b if self.drop_last else (n + b - 1) // b

    def _batches(self):
        """The batches: int64 arrays cut from one draw for deepgrad's own samplers,
        lists of whatever the sampler yields otherwise."""
        b = self.batch_size
        if type(self.sampler) in _WHOLE_PASS:  # exact types: a subclass may override
            order = self.sampler._order()      # __iter__
            count = len(order) // b if self.drop_last else -(-len(order) // b)
            return (order[i * b:(i + 1) * b] for i in range(count))
        return self._grouped(iter(self.sampler))

    def _grouped(self, indices):
        b = self.batch_size
        while True:
            batch = list(itertools.islice(indices, b))
            if not batch or (self.drop_last and len(batch) < b):
                return
            yield batch


_WHOLE_PASS = (SequentialSampler, RandomSampler, WeightedRandomSampler)
