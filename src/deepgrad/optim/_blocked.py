"""Run an element-wise optimizer kernel over cache-sized blocks of its arrays.

An update rule such as Adam is a dozen element-wise NumPy operations. Run on whole
10M-element arrays, every operation streams its operands through main memory, and the
update is bound by memory bandwidth, not arithmetic. Run on blocks of a few ten
thousand elements, the parameter, gradient and state are read from memory once and
written once, and every intermediate stays in the L2 cache. The operations are
element-wise, so the result is bit for bit the same whatever the block size:
``block_elements=None`` (one block, the whole array) is the simple path and the oracle.

A kernel is a function ``kernel(*arrays, *scratch)`` that updates some of ``arrays`` in
place and may use the ``scratch`` arrays (same shape, uninitialised) freely. Scratch
buffers of one block are allocated once per optimizer and reused at every step, so a
step allocates nothing parameter-sized.

An update is bound by memory bandwidth, which one core does not saturate: large arrays
are cut into one contiguous part per thread (``backend.compute_threads()``), each
processed block by block in a thread of its own (NumPy releases the GIL inside ufuncs).
The parts are disjoint and the operations element-wise, so the result is still the same
bit for bit.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import backend

PARALLEL_MIN_ELEMENTS = 1 << 20
"""Arrays smaller than this (4 MB of float32) are updated by one thread: below it the
hand-off to the pool costs more than the second core gains."""

_executor = None
_executor_lock = threading.Lock()


def _threads_pool(threads):
    global _executor
    with _executor_lock:
        if _executor is None or _executor._max_workers < threads:
            _executor = ThreadPoolExecutor(max_workers=threads,
                                           thread_name_prefix="deepgrad-optim")
        return _executor

BLOCK_BYTES = 512 * 1024
"""Bytes per array per block. With five to seven arrays live a block stays in the L2/L3
caches, and the Python cost of each ufunc call is spread over 128K float32 values.
Measured on the 2-core EPYC with 10M parameters (16 MB arrays, two threads), one step,
by block size 32 KB / 128 KB / 256 KB / 512 KB / 1 MB / 4 MB / whole arrays: SGD
momentum 37 / 15 / 12-13 / 11-13 / 11.5 / 16 / 24 ms, Adam 116 / 36 / 25-27 / 23-24 /
23.5 / 32 / 56 ms. Small blocks lose to the call overhead, made worse by the two threads
taking turns at the GIL for every call."""


WHOLE_BELOW_BYTES = 2 * 1024 * 1024
"""Arrays up to this size are updated whole, in one block: all of a step's arrays then
fit the caches anyway, and blocks only add calls. Measured on the 2-core EPYC, the
784-512-256-10 MLP's 535K parameters (the largest array 1.6 MB): SGD momentum 0.35 ms
whole vs 0.42 in 256 KB blocks, Adam 1.88 vs 2.55 ms."""


class ScratchPool:
    """Reusable uninitialised 1-D buffers, one set per (array module, dtype)."""

    def __init__(self):
        self._buffers = {}

    def get(self, xp, dtype, count, size, slot=0):
        if not count:  # a compiled kernel: nothing to look up
            return []
        key = (xp.__name__, np.dtype(dtype).str, slot)  # one set per worker thread
        have = self._buffers.get(key, [])
        if len(have) < count or (have and have[0].size < size):
            have = [xp.empty(max(size, have[0].size if have else 0), dtype=dtype)
                    for _ in range(max(count, len(have)))]
            self._buffers[key] = have
        return have[:count]


def run_blocked(kernel, arrays, n_scratch, pool, block_bytes=BLOCK_BYTES):
    """Apply ``kernel`` to ``arrays`` (same shape and dtype) block by block.

    NumPy arrays that are all C-contiguous are cut into flat blocks of ``block_bytes``
    per array; anything else (CuPy arrays, strided views) runs as one block, with
    scratch taken from ``pool`` when the shape allows (or freshly allocated for a
    strided parameter, the rare case).
    """
    first = arrays[0]
    xp = backend.get_array_module(first)
    size = first.size
    contiguous = all(a.flags.c_contiguous for a in arrays)
    if xp is np and contiguous and block_bytes is not None:
        block = max(1, block_bytes // first.itemsize)
        if size <= block or size * first.itemsize <= WHOLE_BELOW_BYTES:
            scratch = pool.get(xp, first.dtype, n_scratch, size)
            kernel(*arrays, *[s[:size].reshape(first.shape) for s in scratch])
            return
        flat = [a.reshape(-1) for a in arrays]

        def run_part(slot, lo, hi):
            scratch = pool.get(xp, first.dtype, n_scratch, block, slot)
            for start in range(lo, hi, block):
                stop = min(start + block, hi)
                n = stop - start
                kernel(*[f[start:stop] for f in flat], *[s[:n] for s in scratch])

        threads = backend.compute_threads() if size >= PARALLEL_MIN_ELEMENTS else 1
        if threads == 1:
            run_part(0, 0, size)
            return
        blocks = -(-size // block)
        bounds = [min(size, (blocks * t // threads) * block) for t in range(threads + 1)]
        futures = [_threads_pool(threads).submit(run_part, t, bounds[t], bounds[t + 1])
                   for t in range(threads)]
        for future in futures:
            future.result()  # re-raises a worker's exception here
        return
    if contiguous:
        scratch = [s[:size].reshape(first.shape)
                   for s in pool.get(xp, first.dtype, n_scratch, size)]
    else:
        scratch = [xp.empty_like(first) for _ in range(n_scratch)]
    kernel(*arrays, *scratch)


def effective_grad(p, g, out, weight_decay, maximize):
    """The gradient an L2-coupled rule uses: ``(-g if maximize else g) + weight_decay*p``.

    Returns ``g`` itself when nothing changes it, else ``out`` filled with the result
    (never modifies ``g``, which belongs to the caller).
    """
    if weight_decay:
        np_mod = backend.get_array_module(p)
        np_mod.multiply(p, weight_decay, out=out)
        if maximize:
            np_mod.subtract(out, g, out=out)
        else:
            out += g
        return out
    if maximize:
        backend.get_array_module(g).negative(g, out=out)
        return out
    return g


def lerp_(start, end, weight, scratch):
    """``start <- start + weight * (end - start)`` in place, as ``torch.lerp_`` rounds it.

    PyTorch uses ``end - (end - start) * (1 - weight)`` for ``weight >= 0.5``, which is
    exact at ``weight = 1``; the two forms differ in the last bit, so we follow it.
    """
    xp = backend.get_array_module(start)
    xp.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1.0 - weight
        xp.subtract(end, scratch, out=start)
