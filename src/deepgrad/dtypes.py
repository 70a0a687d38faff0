"""PyTorch's dtype names, as NumPy dtypes (``dg.float32 == np.float32``).

``x.dtype`` is a NumPy dtype, so ``x.dtype == dg.float32`` and ``x.dtype ==
np.float32`` both hold. Python's ``float``, ``int`` and ``bool`` stand for float64,
int64 and bool, as NumPy reads them.
"""
import numpy as np

float16 = half = np.dtype(np.float16)
float32 = float = np.dtype(np.float32)  # noqa: A001 - PyTorch's names
float64 = double = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = int = np.dtype(np.int32)  # noqa: A001
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)  # noqa: A001
complex64 = cfloat = np.dtype(np.complex64)
complex128 = cdouble = np.dtype(np.complex128)

_TYPE_NAMES = {
    "FloatTensor": float32, "DoubleTensor": float64, "HalfTensor": float16,
    "LongTensor": int64, "IntTensor": int32, "ShortTensor": int16, "CharTensor": int8,
    "ByteTensor": uint8, "BoolTensor": bool,
}


def resolve(dtype):
    """A dtype argument (None, a NumPy dtype or type, a Python type, a name such as
    'float32' or 'torch.LongTensor') as a NumPy dtype, or None."""
    if dtype is None:
        return None
    if isinstance(getattr(dtype, "dtype", None), np.dtype):  # a legacy type (LongTensor)
        return dtype.dtype
    if isinstance(dtype, str):
        name = dtype.rsplit(".", 1)[-1]
        if name in _TYPE_NAMES:
            return _TYPE_NAMES[name]
        dtype = name
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}: use deepgrad.float32, deepgrad.int64, "
                        f"deepgrad.bool, ...") from None


def type_name(dtype):
    """PyTorch's legacy type name of a dtype ('deepgrad.FloatTensor')."""
    for name, value in _TYPE_NAMES.items():
        if value == dtype:
            return f"deepgrad.{name}"
    return f"deepgrad.{np.dtype(dtype).name}"
