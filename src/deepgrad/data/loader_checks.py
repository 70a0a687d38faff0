"""The DataLoader's argument checks: ``_check_arguments`` refuses, when the loader is
made and with a message naming DataLoader and the argument, what PyTorch refuses and
what could only fail later (a wrong type or range, options that exclude each other, an
empty dataset); ``_is_int`` and ``_is_flag`` accept NumPy's integers and booleans as
well as Python's. ``DataLoader.__init__`` calls it before building anything.
"""
import multiprocessing

import numpy as np

from .sampler import numpy_generator


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_flag(value):
    return isinstance(value, (bool, np.bool_))


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
