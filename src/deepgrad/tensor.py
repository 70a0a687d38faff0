"""Making tensors: ``tensor``, ``as_tensor``, ``from_numpy`` and PyTorch's factories.

Python floats and lists of floats become float32 (the default dtype), Python ints int64,
bools bool; NumPy arrays keep their dtype unless ``dtype`` is given. Random factories
draw from the one seeded generator (``dg.manual_seed``).
"""
import numbers

import numpy as np

from . import backend, dtypes
from .autograd import Tensor


def tensor(data, requires_grad=False, dtype=None, device=None, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, a nested list, an array or a
    Tensor)."""
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, (list, tuple)) and _holds_tensors(data):
        data = [tensor(item)._data for item in data]
    xp = backend.array_module_for(device if device is not None else _device_of(data))
    dtype = dtypes.resolve(dtype)
    if dtype is None and not hasattr(data, "dtype"):
        probe = np.asarray(data)
        if probe.dtype.kind == "f":
            dtype = backend.default_dtype
        elif probe.dtype.kind == "O":
            raise TypeError(f"tensor(): cannot make a tensor from {type(data).__name__} "
                            f"with ragged or non-numeric content")
    array = xp.array(data, dtype=dtype, copy=True)
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError(f"tensor(): only floating-point tensors can require grad, got "
                           f"dtype {array.dtype}")
    return Tensor(array, requires_grad)


def _holds_tensors(items):
    return any(isinstance(i, Tensor) or (isinstance(i, (list, tuple)) and _holds_tensors(i))
               for i in items)


def as_tensor(data, dtype=None, device=None):
    """Like :func:`tensor` but shares memory with an array of the right kind."""
    dtype = dtypes.resolve(dtype)
    if isinstance(data, Tensor) and dtype in (None, data.dtype) and device is None:
        return data
    if backend.is_array(data) and device is None and dtype in (None, data.dtype):
        return Tensor(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor(array)


def _device_of(data):
    return backend.device_of(data) if hasattr(data, "dtype") else "cpu"


def _made(array, requires_grad):
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError(f"only floating-point tensors can require grad, got dtype "
                           f"{array.dtype}")
    return Tensor(array, requires_grad)


def _float_dtype(dtype):
    dtype = dtypes.resolve(dtype)
    return backend.default_dtype if dtype is None else dtype


def _size(size, who):
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``: one tuple."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"{who}: sizes must be non-negative integers, got "
                             f"{tuple(size)!r}")
    return tuple(int(n) for n in size)


def _filled(who, value, size, dtype, device, requires_grad, size_keyword=None):
    size = _size(size if size_keyword is None else (size_keyword,), who)
    xp = backend.array_module_for(device)
    return _made(xp.full(size, value, dtype=_float_dtype(dtype)), requires_grad)


def zeros(*sizes, dtype=None, device=None, requires_grad=False, out=None, size=None):
    return _filled("zeros", 0, sizes, dtype, device, requires_grad, size)


def ones(*sizes, dtype=None, device=None, requires_grad=False, out=None, size=None):
    return _filled("ones", 1, sizes, dtype, device, requires_grad, size)


def empty(*sizes, dtype=None, device=None, requires_grad=False, out=None, size=None):
    """Zeros: deepgrad never hands out uninitialised memory (runs stay reproducible)."""
    return _filled("empty", 0, sizes, dtype, device, requires_grad, size)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (a
    bool gives bool, an int int64, a float the default dtype), as in PyTorch."""
    if dtype is None and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    return _filled("full", fill_value, (size,), dtype, device, requires_grad)


def _like(t, dtype, device):
    return (dtypes.resolve(dtype) or t.dtype), (device if device is not None else t.device)


def zeros_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like(input, dtype, device)
    return _filled("zeros_like", 0, (input.shape,), dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like(input, dtype, device)
    return _filled("ones_like", 1, (input.shape,), dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return zeros_like(input, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like(input, dtype, device)
    return _filled("full_like", fill_value, (input.shape,), dtype, device, requires_grad)


def _random(who, draw, size, dtype, device, requires_grad):
    size = _size(size, who)
    dtype = _float_dtype(dtype)
    data = draw(backend.generator(device), size).astype(dtype)
    return _made(backend.array_module_for(device).asarray(data), requires_grad)


def randn(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the seeded generator."""
    sizes = sizes if size is None else (size,)
    return _random("randn", _standard_normal(generator), sizes, dtype, device, requires_grad)


def rand(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator."""
    sizes = sizes if size is None else (size,)
    return _random("rand", _uniform(generator), sizes, dtype, device, requires_grad)


def _source(generator, device="cpu"):
    """A generator argument (a ``deepgrad.Generator`` or None) as a NumPy Generator."""
    if generator is None:
        return None
    rng = getattr(generator, "_rng", None)
    if rng is None:
        raise TypeError(f"generator must be a deepgrad.Generator, got "
                        f"{type(generator).__name__}")
    return rng


def _standard_normal(generator):
    rng = _source(generator)
    return lambda gen, size: (rng or gen).standard_normal(size, dtype=np.float64)


def _uniform(generator):
    rng = _source(generator)
    return lambda gen, size: (rng or gen).random(size, dtype=np.float64)


def randn_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, as PyTorch; int64 unless ``dtype`` says otherwise."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    size = _size((size,), "randint")
    gen = _source(generator) or backend.generator(device)
    data = np.asarray(gen.integers(low, high, size=size)).astype(dtypes.resolve(dtype) or np.int64)
    return _made(backend.array_module_for(device).asarray(data), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None):
    """A random permutation of 0, ..., n-1 (int64)."""
    gen = _source(generator) or backend.generator(device)
    data = gen.permutation(int(n)).astype(dtypes.resolve(dtype) or np.int64)
    return Tensor(backend.array_module_for(device).asarray(data))


def normal(mean, std, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Normal samples with ``mean`` and ``std`` (numbers, with ``size``; or tensors that
    give the shape)."""
    shape = size if size is not None else np.broadcast_shapes(
        np.shape(getattr(mean, "_data", mean)), np.shape(getattr(std, "_data", std)))
    noise = randn(shape, generator=generator, dtype=dtype, device=device)
    return _made((noise * std + mean)._data, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """``start, start + step, ...`` below ``end``; int64 when every bound is an int, else
    the default float dtype."""
    if end is None:
        start, end = 0, start
    bounds = [getattr(v, "item", lambda v=v: v)() for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        integral = all(isinstance(v, numbers.Integral) for v in bounds)
        dtype = np.int64 if integral else backend.default_dtype
    data = np.arange(*bounds, dtype=np.float64 if dtypes.resolve(dtype).kind == "f" else None)
    xp = backend.array_module_for(device)
    return _made(xp.asarray(data.astype(dtypes.resolve(dtype))), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    data = np.linspace(float(start), float(end), int(steps)).astype(_float_dtype(dtype))
    return _made(backend.array_module_for(device).asarray(data), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    xp = backend.array_module_for(device)
    return _made(xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def get_default_dtype():
    return np.dtype(backend.default_dtype)


def set_default_dtype(dtype):
    """The dtype of float tensors made from Python numbers, of factories and of new
    parameters: float32 (the default) or float64."""
    dtype = np.dtype(dtypes.resolve(dtype))
    if dtype not in (np.float32, np.float64, np.float16):
        raise TypeError(f"set_default_dtype: only float16, float32 and float64 can be the "
                        f"default, got {dtype}")
    backend.default_dtype = dtype.type


class _LegacyType(type):
    """PyTorch's legacy tensor types: ``FloatTensor([1, 2])`` or ``FloatTensor(2, 3)``
    build a tensor of the type's dtype, ``x.type(LongTensor)`` converts, and
    ``isinstance(x, FloatTensor)`` checks the dtype."""

    def __call__(cls, *data):
        if len(data) == 1 and not isinstance(data[0], numbers.Integral):
            return tensor(data[0], dtype=cls.dtype)
        return zeros(*data, dtype=cls.dtype)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype


def _legacy_type(name, dtype):
    return _LegacyType(name, (), {"dtype": np.dtype(dtype), "__module__": "deepgrad"})


FloatTensor = _legacy_type("FloatTensor", np.float32)
DoubleTensor = _legacy_type("DoubleTensor", np.float64)
LongTensor = _legacy_type("LongTensor", np.int64)
IntTensor = _legacy_type("IntTensor", np.int32)
BoolTensor = _legacy_type("BoolTensor", np.bool_)
ByteTensor = _legacy_type("ByteTensor", np.uint8)
