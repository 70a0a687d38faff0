"""PyTorch's type promotion for operations on two tensors.

NumPy and PyTorch agree within a category (bool < integer < floating) but not across:
``float32 * int64`` is float64 in NumPy and float32 in PyTorch; a 0-d tensor counts
only when its category is higher (``float32 tensor + float64 0-d`` stays float32).
"""
import numpy as np


def _category(dtype):
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[dtype.kind]


def result_type(a, b):
    """The dtype PyTorch gives ``a op b`` for two Tensors (or arrays)."""
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _category(da), _category(db)
    if (a.ndim == 0) != (b.ndim == 0):
        dims, zero = (a, b) if b.ndim == 0 else (b, a)
        if _category(zero.dtype) <= _category(dims.dtype):
            return dims.dtype
        return zero.dtype
    if ca == cb:
        return np.promote_types(da, db)
    return da if ca > cb else db
