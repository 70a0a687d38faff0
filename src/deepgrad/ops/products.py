"""The matrix product of the layers' ops, chosen in one place: NumPy's ``a @ b`` (the
reference; OpenBLAS, or cuBLAS through CuPy), or oneDNN's for float32 matrices large
enough to pay for the call (``_onednn_matmul.py``; the tests hold it to NumPy's to
float32 round-off). oneDNN's kernels for AVX-512 ran the MLPs' products 1.5-3x faster
than OpenBLAS on the machines measured, and they share one thread pool with its
convolutions (BENCHMARKS.md)."""


ONEDNN_FROM = 1 << 19
"""Multiply-adds from which a product may go to oneDNN (where
``_onednn_matmul.product`` takes its operands): a call through ctypes costs more than
oneDNN saves below about half a million (BENCHMARKS.md)."""


def mm(a, b, bias=None):
    """``a @ b``, plus ``bias`` (broadcast over the rows) when given."""
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] * a.shape[1] * b.shape[1] >= ONEDNN_FROM:
        from . import _onednn_matmul  # the bindings load with the first large product
        y = _onednn_matmul.product(a, b, bias)
        if y is not None:
            return y
    y = a @ b
    if bias is not None:
        y += bias  # y is a fresh array: adding in place saves one allocation
    return y
