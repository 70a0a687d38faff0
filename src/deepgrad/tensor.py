"""Tensor creation and the Tensor's operators and methods, bound to the ops."""
import numpy as np

from . import backend, ops
from .autograd import Tensor


def tensor(data, requires_grad=False, dtype=None, device=None):
    """Make a Tensor from a number, a (nested) list, an array or a Tensor (copied).

    Python floats and lists of floats become float32 (``backend.default_dtype``);
    integers int64; NumPy arrays keep their dtype unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.array_module_for(device if device is not None else _device_of(data))
    if dtype is None and not hasattr(data, "dtype"):
        probe = np.asarray(data)
        if probe.dtype.kind == "f":
            dtype = backend.default_dtype
        elif probe.dtype.kind == "O":
            raise TypeError(f"tensor(): cannot make a tensor from {type(data).__name__} "
                            f"with ragged or non-numeric content")
    array = xp.array(data, dtype=dtype, copy=True)
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"tensor(): only floating-point tensors can require grad, got "
                        f"dtype {array.dtype}")
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Like :func:`tensor` but shares memory with an array of the right kind."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if hasattr(data, "dtype") and device is None and (dtype is None or data.dtype == dtype):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def _device_of(data):
    return backend.device_of(data) if hasattr(data, "dtype") else "cpu"


def _dtype(dtype):
    return backend.default_dtype if dtype is None else dtype


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    xp = backend.array_module_for(device)
    return Tensor(xp.zeros(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    xp = backend.array_module_for(device)
    return Tensor(xp.ones(_shape(shape), dtype=_dtype(dtype)), requires_grad)


def randn(*shape, dtype=None, requires_grad=False, device=None):
    """Standard normal samples from the seeded generator."""
    gen = backend.generator(device)
    data = gen.standard_normal(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(backend.array_module_for(device).asarray(data), requires_grad)


def rand(*shape, dtype=None, requires_grad=False, device=None):
    """Uniform samples in [0, 1) from the seeded generator."""
    gen = backend.generator(device)
    data = gen.random(_shape(shape), dtype=np.float64).astype(_dtype(dtype))
    return Tensor(backend.array_module_for(device).asarray(data), requires_grad)


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return shape


# -- operators and methods ------------------------------------------------------------

def _reflected(op):
    return lambda self, other: op(other, self)


def _argmax(self, axis=None, keepdims=False):
    return Tensor(self.data.argmax(axis=axis, keepdims=keepdims))


def _astype(self, dtype):
    return Tensor(self.data.astype(dtype))


_METHODS = {
    "__add__": ops.add, "__radd__": _reflected(ops.add),
    "__sub__": ops.sub, "__rsub__": _reflected(ops.sub),
    "__mul__": ops.mul, "__rmul__": _reflected(ops.mul),
    "__truediv__": ops.div, "__rtruediv__": _reflected(ops.div),
    "__pow__": ops.pow, "__rpow__": _reflected(ops.pow),
    "__matmul__": ops.matmul, "__rmatmul__": _reflected(ops.matmul),
    "__neg__": ops.neg, "__abs__": ops.abs,
    "__getitem__": ops.getitem,
    "sum": ops.sum, "mean": ops.mean, "max": ops.max, "min": ops.min,
    "reshape": ops.reshape, "transpose": ops.transpose, "swapaxes": ops.swapaxes,
    "exp": ops.exp, "log": ops.log, "sqrt": ops.sqrt, "abs": ops.abs, "clip": ops.clip,
    "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    "softmax": ops.softmax, "log_softmax": ops.log_softmax,
    "to": ops.to_device, "cpu": lambda self: ops.to_device(self, "cpu"),
    "cuda": lambda self: ops.to_device(self, "cuda"), "argmax": _argmax, "astype": _astype,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: ops.transpose(self))


def _compare(name):
    def compare(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(getattr(self.data, name)(other))
    return compare


for _name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
    setattr(Tensor, _name, _compare(_name))
Tensor.__hash__ = object.__hash__  # == is elementwise, identity still hashes
