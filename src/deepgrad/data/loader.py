"""DataLoader: minibatches in epochs, as on the course's SGD slide.

An epoch is N samples in ceil(N / B) batches (N // B with ``drop_last``). Three ways to
pick each batch:

* ``shuffle=False``: in order;
* ``shuffle=True``: a fresh permutation each epoch (each sample once per epoch);
* ``replacement=True``: each batch is B indices drawn uniformly from [0, N), the
  slide's b(1), ..., b(B) sampled from [1, N].

Order comes from a generator seeded by ``seed`` (or, if None, drawn from
``dg.manual_seed``'s generator when the loader is made), so a run is reproducible.
Batches are assembled on the CPU and delivered on ``device`` ('cpu' or 'cuda'); the
Trainer also moves every batch to its model's device, so ``model.to("cuda")`` is all a
training run needs.
"""
import math

import numpy as np

from .. import backend
from ..autograd import Tensor


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, replacement=False,
                 drop_last=False, seed=None, device=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__ (a "
                            f"Dataset, TensorDataset or list), got {type(dataset).__name__}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        for name, value in (("shuffle", shuffle), ("replacement", replacement),
                            ("drop_last", drop_last)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"DataLoader: {name} must be True or False, got {value!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(
                seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"DataLoader: seed must be a non-negative integer or None, got "
                             f"{seed!r}")
        if shuffle and replacement:
            raise ValueError("DataLoader: choose shuffle=True (permutation) or "
                             "replacement=True (sampling with replacement), not both")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty")
        if drop_last and batch_size > len(dataset):
            raise ValueError(f"DataLoader: drop_last=True with batch_size={batch_size} > "
                             f"{len(dataset)} samples would give no batches at all")
        try:  # refuse an unknown or absent device now, not at the first batch
            backend.array_module_for(device)
        except (ValueError, RuntimeError) as err:
            raise type(err)(f"DataLoader: {err}") from None
        self.device = backend.normalize_device(device)
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.replacement, self.drop_last = shuffle, replacement, drop_last
        if seed is None:
            seed = int(backend.generator().integers(2 ** 63))
        self.seed = seed
        self.epoch = 0  # epochs started so far; the order of epoch e depends on (seed, e)
        self.rank, self.num_shards = 0, 1

    def shard(self, rank, num_shards):
        """Deliver only this rank's part of every global batch (data-parallel training).

        Every rank draws the same global batches (same seed) and keeps the ``rank``-th of
        ``num_shards`` contiguous, nearly equal slices of each, so together the ranks see
        exactly the batches a single process would.
        """
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
               for v in (rank, num_shards)):
            raise TypeError(f"DataLoader.shard: rank and num_shards must be integers, got "
                            f"{rank!r} and {num_shards!r}")
        if not 0 <= rank < num_shards:
            raise ValueError(f"DataLoader.shard: rank {rank} is not in [0, {num_shards})")
        self.rank, self.num_shards = rank, num_shards
        return self

    def __len__(self):
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def batch_indices(self, epoch):
        """The list of index arrays for one epoch (a pure function of seed and epoch)."""
        n, b = len(self.dataset), self.batch_size
        gen = np.random.default_rng((self.seed, epoch))
        count = len(self)
        if self.replacement:
            sizes = [b] * count
            if not self.drop_last and n % b:
                sizes[-1] = n % b
            return [gen.integers(0, n, size=s) for s in sizes]
        order = gen.permutation(n) if self.shuffle else np.arange(n)
        return [order[i * b:(i + 1) * b] for i in range(count)]

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        return self.iterate(epoch)

    def iterate(self, epoch, start=0):
        """The batches of epoch ``epoch`` from batch ``start`` on: what a resumed run
        uses to continue in the middle of an epoch with the same order."""
        fetch = getattr(self.dataset, "get_batch", None)
        for indices in self.batch_indices(epoch)[start:]:
            if self.num_shards > 1:
                indices = np.array_split(indices, self.num_shards)[self.rank]
            batch = fetch(indices) if fetch else collate([self.dataset[int(i)] for i in indices])
            yield tuple(Tensor(backend.to_device(a, self.device)) for a in batch)

    def state_dict(self):
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


def collate(samples):
    """Stack a list of sample tuples into a tuple of arrays."""
    first = samples[0]
    if not isinstance(first, tuple):
        return (np.stack([np.asarray(s) for s in samples]),)
    return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(first)))
