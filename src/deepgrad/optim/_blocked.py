"""Run an element-wise update over cache-sized blocks of its arrays, in threads.

An update rule such as Adam is a dozen element-wise operations. Run on whole
10M-element arrays, every operation streams its operands through main memory, and the
update is bound by memory bandwidth, not arithmetic. Run on blocks of a few ten
thousand elements, the parameter, gradient and state are read from memory once and
written once, and every intermediate stays in the caches. The operations are
element-wise, so the result is bit for bit the same whatever the block size:
``block_bytes=None`` (one block, the whole array) is the reference and the oracle.

One core does not saturate the memory bandwidth: large arrays are cut into one
contiguous part per thread (``backend.compute_threads()``), each processed block by
block in a thread of its own (NumPy and the compiled loops release the GIL). The parts
are disjoint and the operations element-wise, so the result is still the same bit for
bit. The block sizes below are measured (BENCHMARKS.md, "Optimizer updates in blocks").
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import backend

BLOCK_BYTES = 512 * 1024
"""Bytes per array per block: with five to seven arrays live a block stays in the
caches, and the Python cost of each call is spread over 128K float32 values (smaller
blocks lose to that cost, larger ones to memory)."""

WHOLE_BELOW_BYTES = 2 * 1024 * 1024
"""Arrays up to this size are updated whole, in one block: all of a step's arrays then
fit the caches anyway, and blocks would only add calls."""

PARALLEL_MIN_ELEMENTS = 1 << 20
"""Arrays smaller than this (4 MB of float32) are updated by one thread: below it the
hand-off to the pool costs more than the second core gains."""

_executor = None
_executor_lock = threading.Lock()


def _thread_pool(threads):
    global _executor
    with _executor_lock:
        if _executor is None or _executor._max_workers < threads:
            _executor = ThreadPoolExecutor(max_workers=threads,
                                           thread_name_prefix="deepgrad-optim")
        return _executor


def run_blocked(update, arrays, block_bytes=BLOCK_BYTES):
    """Call ``update(**arrays)`` on matching blocks of ``arrays`` (a dict of same-shape,
    same-dtype arrays, the parameter ``p`` first), which it updates in place.

    Row-major NumPy arrays are cut into flat blocks of ``block_bytes`` per array;
    anything else (CuPy arrays, strided views, ``block_bytes=None``) runs whole.
    """
    first = arrays["p"]
    size = first.size
    whole = (block_bytes is None or backend.get_array_module(first) is not np
             or not all(a.flags.c_contiguous for a in arrays.values()))
    block = 1 if whole else max(1, block_bytes // first.itemsize)
    if whole or size <= block or size * first.itemsize <= WHOLE_BELOW_BYTES:
        update(**arrays)
        return
    flat = {name: a.reshape(-1) for name, a in arrays.items()}

    def run_part(lo, hi):
        for start in range(lo, hi, block):
            stop = min(start + block, hi)
            update(**{name: a[start:stop] for name, a in flat.items()})

    threads = backend.compute_threads() if size >= PARALLEL_MIN_ELEMENTS else 1
    if threads == 1:
        run_part(0, size)
        return
    blocks = -(-size // block)
    bounds = [min(size, (blocks * t // threads) * block) for t in range(threads + 1)]
    futures = [_thread_pool(threads).submit(run_part, bounds[t], bounds[t + 1])
               for t in range(threads)]
    for future in futures:
        future.result()  # re-raises a worker's exception here
