"""DataLoader: minibatches in epochs, with PyTorch's arguments and behaviour.

``DataLoader(dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
worker_init_fn=None, multiprocessing_context=None, generator=None, *,
prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True,
replacement=False, seed=None, device=None)``: PyTorch's signature, then deepgrad's own
``replacement``, ``seed`` and ``device``.

What one epoch is. A *sampler* gives the order of the indices, a *batch sampler* groups
them into batches; each batch's samples are read (``dataset[i]``) and collated
(``collate_fn``, by default :func:`default_collate`). With neither sampler given:

* ``shuffle=False``: in order (``SequentialSampler``), N samples in ceil(N / B) batches
  (N // B with ``drop_last``);
* ``shuffle=True``: a fresh permutation each epoch (``RandomSampler``);
* ``replacement=True``: each batch is B indices drawn uniformly from [0, N), the course
  slide's b(1), ..., b(B) sampled from [1, N] (``RandomSampler(replacement=True)``).

Reproducible orders. The loader's own sampling draws epoch ``e`` from a generator
seeded with ``(seed, e)``: ``seed`` given, or drawn from ``dg.manual_seed``'s generator
when the loader is made. So an epoch's batches are a pure function of (seed, epoch)
(:meth:`batch_indices`), and a resumed run continues with the same ones (:meth:`iterate`,
:meth:`state_dict`). A ``generator=`` (a :class:`deepgrad.data.Generator`) or a sampler
of your own is used as PyTorch uses it instead: drawn from, epoch after epoch.

Fast path: a dataset with ``get_batch(indices)`` (``TensorDataset``, ``Subset``) gives a
whole batch in one indexing operation when ``collate_fn`` is the default; the result
equals default_collate's.

Workers. ``num_workers=K > 0`` reads and collates in K processes (``fork`` where the
platform has it); the main process still decides every batch, so the batches and their
order are exactly those of ``num_workers=0`` (see :mod:`deepgrad.data.workers`). Worker
``i`` of an epoch's pool is seeded (``random``, NumPy, ``dg.manual_seed``) from the
loader's seed and that epoch, then runs ``worker_init_fn(i)``.

On the CPU ``pin_memory`` changes nothing (there is no page-locked memory to use);
batches are assembled on the CPU and delivered on ``device`` ('cpu' or 'cuda').
``in_order=False`` is accepted and batches still come in order.

The argument checks live in :mod:`deepgrad.data.loader_checks`, the reading and
collating of one batch in :mod:`deepgrad.data.fetch`.
"""
import itertools
import multiprocessing

import numpy as np

from .. import backend
from ..autograd import Tensor
from .collate import default_collate, default_convert
from .fetch import _Fetcher
from .loader_checks import _check_arguments
from .sampler import BatchSampler, Generator, RandomSampler, SequentialSampler
from .workers import WorkerPool

_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                     "persistent_workers")


class DataLoader:
    """Batches of ``dataset`` epoch after epoch (see the module docstring)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, replacement=False, seed=None,
                 device=None):
        own_order = sampler is None and batch_sampler is None
        _check_arguments(**locals())
        try:  # refuse an unknown or absent device now, not at the first batch
            backend.array_module_for(device)
        except (ValueError, RuntimeError) as err:
            raise type(err)(f"DataLoader: {err}") from None
        shuffle = bool(shuffle)
        if seed is None:
            seed = int(backend.generator().integers(2 ** 63))

        # The loader's own sampling restarts its generator at (seed, epoch) every epoch.
        self._epoch_generator = Generator() if own_order and generator is None else None
        draw_from = generator if generator is not None else self._epoch_generator
        if sampler is None:  # (also beside a batch_sampler, as in PyTorch)
            if shuffle or replacement:
                sampler = RandomSampler(dataset, replacement=bool(replacement),
                                        generator=draw_from)
            else:
                sampler = SequentialSampler(dataset)
        if batch_sampler is not None:
            batch_size, drop_last = None, False  # the batch sampler decides (as PyTorch)
        elif batch_size is not None:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, bool(drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.shuffle, self.replacement = shuffle, bool(replacement)
        self.num_workers, self.collate_fn = int(num_workers), collate_fn
        self.pin_memory, self.pin_memory_device = bool(pin_memory), pin_memory_device
        self.timeout, self.worker_init_fn = timeout, worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator, self.in_order = generator, in_order
        self.prefetch_factor = (2 if prefetch_factor is None and num_workers > 0
                                else prefetch_factor)
        self.persistent_workers = bool(persistent_workers)
        self.device = backend.normalize_device(device)
        self.seed = seed
        self.epoch = 0  # epochs started by iter(loader) so far
        self.rank, self.num_shards = 0, 1
        self._workers = None  # the pool kept between epochs with persistent_workers
        self._initialized = True

    def __setattr__(self, name, value):
        if name in _FIXED_AFTER_INIT and self.__dict__.get("_initialized"):
            raise ValueError(f"DataLoader: {name} attribute should not be set after "
                             f"DataLoader is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

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
        if not self._auto_collation:
            raise ValueError("DataLoader.shard: needs batches (batch_size=None delivers "
                             "single samples)")
        self.rank, self.num_shards = rank, num_shards
        return self

    def __len__(self):
        return len(self._index_sampler)

    def _index_batches(self, epoch):
        """The index batches of ``epoch`` (single indices with batch_size=None)."""
        if self._epoch_generator is not None:
            self._epoch_generator._restart((self.seed, epoch))
        if not self._auto_collation:
            return iter(self.sampler)
        if type(self.batch_sampler) is BatchSampler:
            return self.batch_sampler._batches()
        return iter(self.batch_sampler)

    def batch_indices(self, epoch):
        """The index arrays of one epoch: a pure function of seed and epoch when the
        loader samples on its own (a sampler you pass is simply iterated)."""
        return [b if isinstance(b, np.ndarray) else np.asarray(b)
                for b in self._index_batches(epoch)]

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        return self.iterate(epoch)

    def iterate(self, epoch, start=0):
        """The batches of epoch ``epoch`` from batch ``start`` on: what a resumed run
        uses to continue in the middle of an epoch with the same order."""
        batches = self._index_batches(epoch)
        if start:
            batches = itertools.islice(batches, start, None)
        if self.num_shards > 1:
            batches = (np.array_split(np.asarray(b), self.num_shards)[self.rank]
                       for b in batches)
        fetch = _Fetcher(self.dataset, self.collate_fn, self._auto_collation)
        if self.num_workers == 0:
            fetched = map(fetch, batches)
        else:
            fetched = self._from_workers(fetch, batches, epoch)
        try:
            length = max(0, len(self) - start)
        except TypeError:  # a sampler without __len__
            length = None
        return _BatchIterator(map(self._deliver, fetched), length)

    def _from_workers(self, fetch, batches, epoch):
        pool = self._workers
        if pool is None or not pool.alive:
            base_seed = int(np.random.default_rng((self.seed, epoch, 1)).integers(2 ** 62))
            pool = WorkerPool(fetch, self.dataset, self.num_workers, self.prefetch_factor,
                              self.timeout, self.worker_init_fn, _context(
                                  self.multiprocessing_context), base_seed)
            if self.persistent_workers:
                self._workers = pool
        try:
            yield from pool.run(batches)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def _deliver(self, batch):
        return batch if self.device == "cpu" else _to_device(batch, self.device)

    def state_dict(self):
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


class _BatchIterator:
    """What ``iter(loader)`` returns: the batches of one pass, with ``len()``."""

    def __init__(self, batches, length):
        self._batches, self._length = batches, length

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        if self._length is None:
            raise TypeError("DataLoader: the sampler has no len()")
        return self._length


def _to_device(batch, device):
    if isinstance(batch, Tensor):
        return Tensor(backend.to_device(batch._data, device))
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_to_device(x, device) for x in batch))
    if type(batch) in (tuple, list):
        return type(batch)(_to_device(x, device) for x in batch)
    return batch


def _context(context):
    """The multiprocessing context: 'fork' where the platform has it (workers start in
    milliseconds and inherit the dataset), else the platform's default."""
    if context is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else None)
    if isinstance(context, str):
        return multiprocessing.get_context(context)
    return context
