"""Making tensors: ``tensor``, ``as_tensor``, ``from_numpy`` and PyTorch's factories.

Python floats and lists of floats become float32 (the default dtype), Python ints int64,
bools bool; NumPy arrays keep their dtype unless ``dtype`` is given. Random factories
draw from the one seeded generator (``dg.manual_seed``).
"""
import math
import numbers

import numpy as np

from . import backend, checks, dtypes
from .autograd import Tensor


def tensor(data, requires_grad=False, dtype=None, device=None, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, a nested list, an array or a
    Tensor)."""
    if isinstance(data, Tensor):
        data = data._data
    elif isinstance(data, (list, tuple)) and _holds_tensors(data):
        data = [tensor(item)._data for item in data]
    xp = _module("tensor()", device if device is not None else _device_of(data))
    dtype = _dtype("tensor()", dtype)
    if not hasattr(data, "dtype"):
        try:
            probe = np.asarray(data)
        except ValueError:  # NumPy's "inhomogeneous shape"
            raise ValueError(f"tensor(): data is ragged (nested lists of different "
                             f"lengths), got {data!r}") from None
        if dtype is None and probe.dtype.kind == "f":
            dtype = backend.default_dtype
        elif dtype is None and probe.dtype.kind == "c":  # the default's complex type
            dtype = np.complex64 if backend.default_dtype == np.float32 else np.complex128
        kind = probe.dtype.kind
    else:
        kind = data.dtype.kind
    if kind not in "biufc":
        raise TypeError(f"tensor(): data must be numbers (nested lists, arrays or "
                        f"Tensors of them), got {type(data).__name__} of dtype kind "
                        f"{kind!r}: {data!r:.80}")
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


def _made(array, requires_grad, who="tensor"):
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError(f"{who}: only floating-point tensors can require grad, got "
                           f"dtype {array.dtype}")
    return Tensor(array, requires_grad)


def _module(who, device):
    """The array module of ``device``, its error naming the factory."""
    try:
        return backend.array_module_for(device)
    except ValueError as err:
        raise ValueError(f"{who}: {err}") from None


def _dtype(who, dtype):
    """A dtype argument resolved, its error naming the factory."""
    try:
        return dtypes.resolve(dtype)
    except TypeError as err:
        raise TypeError(f"{who}: dtype: {err}") from None


def _float_dtype(dtype, who="tensor"):
    dtype = _dtype(who, dtype)
    return backend.default_dtype if dtype is None else dtype


def _size(size, who):
    """``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` or ``f(size=(2, 3))``: one tuple."""
    return checks.check_sizes(who, size)


def _filled(who, value, size, dtype, device, requires_grad, size_keyword=None):
    size = _size(size if size_keyword is None else (size_keyword,), who)
    dtype = _float_dtype(dtype, who)
    checks.check_allocation(who, size, np.dtype(dtype).itemsize)
    xp = _module(who, device)
    if not isinstance(value, Tensor) and np.dtype(dtype).kind in "iu" and not (
            np.iinfo(dtype).min <= value <= np.iinfo(dtype).max):
        raise ValueError(f"{who}: fill_value {value!r} does not fit in {np.dtype(dtype)}")
    return _made(xp.full(size, value, dtype=dtype), requires_grad, who)


def zeros(*sizes, dtype=None, device=None, requires_grad=False, out=None, size=None):
    """A tensor of zeros: ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    return _filled("zeros", 0, sizes, dtype, device, requires_grad, size)


def ones(*sizes, dtype=None, device=None, requires_grad=False, out=None, size=None):
    """A tensor of ones: ``ones(2, 3)``, ``ones((2, 3))`` or ``ones(size=(2, 3))``."""
    return _filled("ones", 1, sizes, dtype, device, requires_grad, size)


def empty(*sizes, dtype=None, device=None, requires_grad=False, out=None, size=None):
    """Zeros: deepgrad never hands out uninitialised memory (runs stay reproducible)."""
    return _filled("empty", 0, sizes, dtype, device, requires_grad, size)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value (a
    bool gives bool, an int int64, a float the default dtype), as in PyTorch."""
    checks.check_value("full", "fill_value", fill_value)
    if isinstance(fill_value, Tensor):
        dtype = fill_value.dtype if dtype is None else dtype
        fill_value = fill_value.item()
    if dtype is None and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    if not isinstance(size, (tuple, list)):
        size = (size,)
    return _filled("full", fill_value, (size,), dtype, device, requires_grad)


def _like(t, dtype, device, who):
    checks.check_tensor(who, t)
    return (_dtype(who, dtype) or t.dtype), (device if device is not None else t.device)


def zeros_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """Zeros of ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device, "zeros_like")
    return _filled("zeros_like", 0, (input.shape,), dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """Ones of ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device, "ones_like")
    return _filled("ones_like", 1, (input.shape,), dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """A tensor of ``input``'s shape, dtype and device; deepgrad fills it with zeros."""
    dtype, device = _like(input, dtype, device, "empty_like")
    return _filled("empty_like", 0, (input.shape,), dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """``fill_value`` in ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device, "full_like")
    checks.check_value("full_like", "fill_value", fill_value, allow_tensor=False)
    return _filled("full_like", fill_value, (input.shape,), dtype, device, requires_grad)


def _random(who, draw, size, dtype, device, requires_grad):
    size = _size(size, who)
    dtype = _float_dtype(dtype, who)
    if np.dtype(dtype).kind not in "fc":
        raise TypeError(f"{who}: dtype must be floating point (the samples are real "
                        f"numbers), got {np.dtype(dtype)}")
    checks.check_allocation(who, size, 8)
    xp = _module(who, device)
    data = draw(backend.generator(device), size).astype(dtype)
    return _made(xp.asarray(data), requires_grad, who)


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
    """Standard normal samples in ``input``'s shape (from the seeded generator)."""
    dtype, device = _like(input, dtype, device, "randn_like")
    return randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
    """Uniform samples from [0, 1) in ``input``'s shape (from the seeded generator)."""
    dtype, device = _like(input, dtype, device, "rand_like")
    return rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, as PyTorch; int64 unless ``dtype`` says otherwise."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of ints, got {size!r}")
    for name, value in (("low", low), ("high", high)):
        checks.check_int_arg("randint", name, value)
        if not -2 ** 63 <= value < 2 ** 63:
            raise ValueError(f"randint: {name} {value} is out of the int64 range")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    size = _size((size,), "randint")
    checks.check_allocation("randint", size, 8)
    gen = _source(generator) or backend.generator(device)
    data = np.asarray(gen.integers(low, high, size=size)).astype(
        _dtype("randint", dtype) or np.int64)
    return _made(backend.array_module_for(device).asarray(data), requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None):
    """A random permutation of 0, ..., n-1 (int64)."""
    n = checks.check_sizes("randperm", (n,), "n")[0]
    checks.check_allocation("randperm", (n,), 8)
    gen = _source(generator) or backend.generator(device)
    data = gen.permutation(n).astype(_dtype("randperm", dtype) or np.int64)
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
    for name, value in zip(("start", "end", "step"), bounds):
        checks.check_real_arg("arange", name, value)
    start, end, step = bounds
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step "
                           f"sign (start={start}, end={end}, step={step})")
    checks.check_allocation("arange", (math.ceil((end - start) / step),), 8)
    if dtype is None:
        integral = all(isinstance(v, numbers.Integral) for v in bounds)
        dtype = np.int64 if integral else backend.default_dtype
    dtype = _dtype("arange", dtype)
    data = np.arange(*bounds, dtype=np.float64 if dtype.kind == "f" else None)
    xp = backend.array_module_for(device)
    return _made(xp.asarray(data.astype(dtypes.resolve(dtype))), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise RuntimeError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    start, end = (getattr(v, "item", lambda v=v: v)() for v in (start, end))
    checks.check_number("linspace", "start", start)
    checks.check_number("linspace", "end", end)
    dtype = _float_dtype(dtype, "linspace")
    checks.check_allocation("linspace", (steps,), 8)
    if math.isfinite(start) and math.isfinite(end):
        data = np.linspace(float(start), float(end), int(steps))
    else:  # PyTorch's formula (start + i * step, then end - ... from halfway): NaN
        i = np.arange(steps, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            step = (end - start) / (steps - 1) if steps > 1 else 0.0
            data = np.where(i < steps // 2, start + i * step, end - (steps - 1 - i) * step)
    data = data.astype(dtype)
    return _made(backend.array_module_for(device).asarray(data), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The ``n`` x ``m`` identity matrix (``m = n`` when not given)."""
    n = checks.check_sizes("eye", (n,), "n")[0]
    m = n if m is None else checks.check_sizes("eye", (m,), "m")[0]
    dtype = _float_dtype(dtype, "eye")
    checks.check_allocation("eye", (n, m), np.dtype(dtype).itemsize)
    xp = backend.array_module_for(device)
    return _made(xp.eye(n, m, dtype=dtype), requires_grad, "eye")


def get_default_dtype():
    """The dtype of new float tensors and parameters (float32 unless
    :func:`set_default_dtype` changed it)."""
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
    doc = (f"PyTorch's legacy ``{name}``: a tensor of dtype {np.dtype(dtype)} "
           f"(``{name}([1, 2])``, ``{name}(2, 3)``, ``isinstance(x, {name})``).")
    return _LegacyType(name, (), {"dtype": np.dtype(dtype), "__module__": "deepgrad",
                                  "__doc__": doc})


FloatTensor = _legacy_type("FloatTensor", np.float32)
DoubleTensor = _legacy_type("DoubleTensor", np.float64)
LongTensor = _legacy_type("LongTensor", np.int64)
IntTensor = _legacy_type("IntTensor", np.int32)
BoolTensor = _legacy_type("BoolTensor", np.bool_)
ByteTensor = _legacy_type("ByteTensor", np.uint8)
