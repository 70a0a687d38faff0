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
"""
import itertools
import multiprocessing

import numpy as np

from .. import backend
from ..autograd import Tensor
from .collate import default_collate, default_convert
from .sampler import (BatchSampler, Generator, RandomSampler, SequentialSampler,
                      numpy_generator)
from .workers import WorkerPool

_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                     "persistent_workers")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_flag(value):
    return isinstance(value, (bool, np.bool_))


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


class _Fetcher:
    """One task: the samples of an index batch, collated (in the main process or in a
    worker). Names the failing index on an exception raised by the dataset."""

    def __init__(self, dataset, collate_fn, auto_collation):
        self.dataset, self.collate_fn, self.auto_collation = dataset, collate_fn, auto_collation
        self.whole_batches = (auto_collation and collate_fn is default_collate
                              and callable(getattr(dataset, "get_batch", None)))
        self.getitems = auto_collation and callable(getattr(dataset, "__getitems__", None))

    def __call__(self, indices):
        if not self.auto_collation:  # one index, one sample
            return self.collate_fn(self._samples([indices])[0])
        if self.whole_batches:
            try:
                return _as_batch(self.dataset.get_batch(np.asarray(indices)))
            except Exception as err:
                err.add_note(f"DataLoader: raised by dataset.get_batch() for the samples "
                             f"{_listed(indices)}")
                raise
        keys = indices.tolist() if isinstance(indices, np.ndarray) else list(indices)
        samples = self._samples(keys)
        try:
            return self.collate_fn(samples)
        except Exception as err:
            err.add_note(f"DataLoader: raised by collate_fn on the samples {_listed(keys)}")
            raise

    def _samples(self, keys):
        if self.getitems:
            try:
                return self.dataset.__getitems__(keys)
            except Exception as err:
                err.add_note(f"DataLoader: raised by dataset.__getitems__() for the "
                             f"samples {_listed(keys)}")
                raise
        samples = []
        try:
            for key in keys:
                samples.append(self.dataset[key])
        except Exception as err:  # a note, shown under the traceback: the failing index
            err.add_note(f"DataLoader: raised by dataset[{key!r}]")
            raise
        return samples


def _listed(indices, most=8):
    indices = indices.tolist() if isinstance(indices, np.ndarray) else list(indices)
    shown = ", ".join(str(i) for i in indices[:most])
    return f"[{shown}{', ...' if len(indices) > most else ''}]"


def _as_batch(batch):
    """``get_batch``'s result as default_collate's: arrays as Tensors, a tuple as a list."""
    if isinstance(batch, Tensor):
        return batch
    if backend.is_array(batch):
        return Tensor(batch)
    if isinstance(batch, dict):
        return {k: _as_batch(v) for k, v in batch.items()}
    if type(batch) in (tuple, list):
        return [_as_batch(x) for x in batch]
    return batch


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


def _check_arguments(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers,
                     collate_fn, pin_memory, drop_last, timeout, worker_init_fn,
                     multiprocessing_context, generator, prefetch_factor,
                     persistent_workers, pin_memory_device, in_order, replacement, seed,
                     device, own_order, self):
    """Refuse, with a message naming DataLoader and the argument, what PyTorch refuses
    (and what could only fail later)."""
    if not hasattr(dataset, "__getitem__") or (own_order and not hasattr(dataset, "__len__")):
        raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__ (a "
                        f"Dataset, TensorDataset or list), got {type(dataset).__name__}")
    if batch_size is not None and (not _is_int(batch_size) or batch_size <= 0):
        raise ValueError(f"DataLoader: batch_size must be a positive integer (or None for "
                         f"single samples), got {batch_size!r}")
    if shuffle is not None and not _is_flag(shuffle):
        raise TypeError(f"DataLoader: shuffle must be True, False or None, got {shuffle!r}")
    for name, value in (("replacement", replacement), ("drop_last", drop_last),
                        ("pin_memory", pin_memory), ("persistent_workers", persistent_workers),
                        ("in_order", in_order)):
        if not _is_flag(value):
            raise TypeError(f"DataLoader: {name} must be True or False, got {value!r}")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"DataLoader: seed must be a non-negative integer or None, got "
                         f"{seed!r}")
    if generator is not None:
        numpy_generator(generator, "DataLoader")
        if seed is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
    if not _is_int(num_workers) or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative; use "
                         f"num_workers=0 to disable multiprocessing (got {num_workers!r})")
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float, np.number))
            or not timeout >= 0):
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if prefetch_factor is not None:
        if num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable "
                             "multiprocessing, otherwise set prefetch_factor to None.")
        if not _is_int(prefetch_factor) or prefetch_factor <= 0:
            raise ValueError(f"DataLoader: prefetch_factor must be a positive integer, got "
                             f"{prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"DataLoader: {name} must be callable or None, got "
                            f"{type(fn).__name__}")
    if isinstance(multiprocessing_context, str):
        methods = multiprocessing.get_all_start_methods()
        if multiprocessing_context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a "
                             f"valid start method in {methods!r}, but got "
                             f"multiprocessing_context={multiprocessing_context!r}")
    elif multiprocessing_context is not None and not hasattr(multiprocessing_context,
                                                             "Process"):
        raise TypeError(f"DataLoader: multiprocessing_context must be a start method name or "
                        f"a multiprocessing context, got {multiprocessing_context!r}")
    for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
        if value is not None and not hasattr(value, "__iter__"):
            raise TypeError(f"DataLoader: {name} must be an iterable of "
                            f"{'index lists' if name == 'batch_sampler' else 'indices'} "
                            f"(a Sampler or a list), got {type(value).__name__}")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                         "batch_size, shuffle, sampler, and drop_last")
    if batch_size is None and drop_last:
        raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                         "mutually exclusive with drop_last")
    if replacement and not own_order:
        raise ValueError("DataLoader: replacement=True draws the loader's own indices; it "
                         "is mutually exclusive with sampler and batch_sampler")
    if shuffle and replacement:
        raise ValueError("DataLoader: choose shuffle=True (permutation) or "
                         "replacement=True (sampling with replacement), not both")
    if own_order:
        n = len(dataset)
        if n == 0:
            raise ValueError("DataLoader: the dataset is empty")
        if drop_last and batch_size is not None and batch_size > n:
            raise ValueError(f"DataLoader: drop_last=True with batch_size={batch_size} > "
                             f"{n} samples would give no batches at all")
