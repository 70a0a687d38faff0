"""Compiled loops for hot kernels NumPy cannot make fast (optional: Numba).

NumPy runs an element-wise chain as one pass over memory per operation; where a kernel
needs several (a maximum and its index, a mask and a product) or a Python loop of small
operations, one compiled loop over the data is several times faster. These are compiled
(``_numba_kernels.py``), each measured in BENCHMARKS.md:

* 2x2 max pooling with stride 2, forward and backward (``_compiled_ops.py``, for
  ``pool.py``): the window is four named values, and the compiler turns the maximum and
  its index into branch-free selects (a loop over a window size known only at run time
  compiles to branches, which mispredict on real data: BENCHMARKS.md);
* the convolution's col2im, adding the column gradient back into the image
  (``_conv_fast.py``, channels-last, one group);
* ReLU from 1024 elements (``_compiled_ops.py``, for ``activation.py``);
* cross-entropy over (N, C) logits without class weights or label smoothing
  (``_compiled_ops.py``, for ``loss.py``): loss and gradient of each row in one go.

They are optional: without Numba, or with ``DEEPGRAD_COMPILED=0`` in the environment,
the NumPy code runs, and it stays the oracle: the tests check that both give the same
bits (the convolution and the cross-entropy: the same to round-off, their sums run in
another order or precision).
Kernels take arrays in memory order (channels-last ones as their transposed view, no
copy); compiled code is cached on disk (Numba's ``cache=True``), so it is compiled once
per machine.
"""
import numpy as np

from .. import backend
from ..backend import COMPILED_DTYPES

_kernels = None  # the compiled functions, or False when unavailable


def kernels():
    """The compiled kernels, or None (no Numba, or switched off)."""
    global _kernels
    if _kernels is None:
        _kernels = backend.load_compiled("deepgrad.ops._numba_kernels")
    return _kernels or None


def kernels_for(*arrays):
    """The compiled kernels if every array is a NumPy float32 or float64 array (what
    they are compiled for), else None: the NumPy code runs (CuPy arrays, float16...)."""
    for a in arrays:  # a loop, not all(...): this runs in every activation's call
        if type(a) is not np.ndarray or a.dtype not in COMPILED_DTYPES:
            return None
    return kernels()
