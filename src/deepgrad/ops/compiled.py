"""Compiled loops for hot kernels NumPy cannot make fast (optional: Numba).

Max pooling in NumPy takes several passes over the input per window offset (compare,
maximum, index update), and its backward a few more; in a small convnet's training step
that was a quarter of the time. One compiled loop reads each input element once. Only
the pooling every convnet uses, 2x2 windows with stride 2 and no padding or dilation, is
compiled: the window is then four named values, and the compiler turns the maximum and
its index into branch-free selects. (A loop over a window size known only at run time
compiled to branches, which mispredict on real data: it ran five times slower than
this, and slower than NumPy.)

These kernels are optional: without Numba, or with ``DEEPGRAD_COMPILED=0`` in the
environment, the NumPy code in ``pool.py`` runs, and it stays the oracle: the tests check
that both give the same bits. Kernels take 4-D arrays in memory order, ``(N, C, H, W)``
or, for a channels-last array, the transposed view ``(N, H, W, C)``; compiled code is
cached on disk (Numba's ``cache=True``), so it is compiled once per machine.
"""
import os

_kernels = None  # the compiled functions, or False when unavailable


def kernels():
    """The compiled kernels, or None (no Numba, or switched off)."""
    global _kernels
    if _kernels is None:
        _kernels = False
        if os.environ.get("DEEPGRAD_COMPILED", "1") != "0":
            try:
                from . import _numba_kernels
            except ImportError:
                pass
            else:
                _kernels = _numba_kernels
    return _kernels or None
