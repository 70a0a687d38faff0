"""Argument and input checks shared by the public wrappers (functional ops, layers).

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong
shape or value) with one sentence naming ``who`` (the layer or function), the argument,
what was expected and what was given. Checks belong at the public boundary, never deep
inside an op's forward.
"""
import math
import numbers

from ..autograd import Tensor


def check_tensor(who, x, name="input"):
    """``x`` must be a Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def check_floating(who, x, name="input"):
    """``x`` (a Tensor or an array) must hold floating-point numbers."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        raise TypeError(f"{who}: {name} must be a Tensor, got {type(x).__name__}")
    if dtype.kind != "f":
        raise TypeError(f"{who}: {name} must be floating point, got dtype {dtype}; "
                        f"convert with .float()")
    return x


def check_same_dtype(who, x, other, name="input", other_name="weight"):
    """No silent promotion (a float64 input would turn a float32 model's output float64)."""
    if x.dtype != other.dtype:
        raise TypeError(f"{who}: {name} has dtype {x.dtype} but {other_name} has "
                        f"{other.dtype}; convert one with .to(dtype)")


def check_dim(who, dim, ndim, name="dim"):
    """A dimension index valid for an ``ndim``-D input, returned as a non-negative int."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an int, got {dim!r}")
    low, high = -max(ndim, 1), max(ndim, 1) - 1
    if not low <= dim <= high:
        raise ValueError(f"{who}: {name} must be in [{low}, {high}] for a {ndim}-D input, "
                         f"got {dim}")
    return int(dim) % max(ndim, 1)


def check_int_arg(who, name, value):
    """An int (not a bool) argument, e.g. a dimension given at construction."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {name} must be an int, got {value!r}")
    return int(value)


def check_real_arg(who, name, value):
    """A finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{who}: {name} must be finite, got {value!r}")
    return value


def check_bool_arg(who, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be True or False, got {value!r}")
    return value


# -- convolution and pooling arguments (conv, locally connected, pooling, layers) --

def array_of(t):
    """A Tensor's array (an array stays itself)."""
    return t._data if isinstance(t, Tensor) else t


def check_weight(who, weight, axes):
    """The weight's array, after checking that it has one dimension per name in
    ``axes`` (its layout, for the message)."""
    w = array_of(weight)
    if w.ndim != len(axes):
        raise ValueError(f"{who}: weight must be {len(axes)}-D ({', '.join(axes)}), got "
                         f"shape {tuple(w.shape)}")
    return w


def pair(who, name, value, minimum=1):
    """An int or a pair of ints -> a tuple of two ints, each ``>= minimum``."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        items = tuple(value)
    elif isinstance(value, (list, tuple)):
        raise ValueError(f"{who}: {name} must be an int or a pair of ints, got {value!r}")
    else:
        items = (value, value)
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(f"{who}: {name} must be an int >= {minimum} or a pair of them, "
                             f"got {value!r}")
    return items


def parse_padding(who, padding, kernel_size, stride, dilation, allow_strings=True):
    """Padding as ((top, bottom), (left, right)).

    ``'valid'`` is no padding; ``'same'`` (stride 1 only, as in PyTorch) pads a total of
    ``dilation * (k - 1)`` per axis, the extra pixel of an odd total at the end.
    """
    if isinstance(padding, str):
        if not allow_strings:
            raise ValueError(f"{who}: padding must be an int or a pair of ints, got "
                             f"{padding!r}")
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{who}: padding='same' needs stride 1, got stride "
                                 f"{stride}")
            pads = []
            for k, d in zip(kernel_size, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{who}: padding must be an int, a pair, 'same' or 'valid', got "
                         f"{padding!r}")
    ph, pw = pair(who, "padding", padding, minimum=0)
    return (ph, ph), (pw, pw)


def check_input(who, x, channels=None):
    """A 4-D (N, C, H, W) floating-point input with ``channels`` channels."""
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"{who}: expected a 4-D input (N, C, H, W), got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise ValueError(f"{who}: expected {channels} input channels, got input of shape "
                         f"{shape} ({shape[1]} channels)")
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: input must be floating point, got dtype {x.dtype}")


def check_fits(who, shape, pads, kernel, dilation):
    """The dilated kernel must fit in the padded input."""
    for axis, (n, p, k, d) in enumerate(zip(shape[2:], pads, kernel, dilation)):
        extent = d * (k - 1) + 1
        if n + p[0] + p[1] < extent:
            padded = tuple(s + q[0] + q[1] for s, q in zip(shape[2:], pads))
            raise ValueError(f"{who}: the kernel {tuple(kernel)} (dilation {tuple(dilation)}, "
                             f"extent {extent} on axis {axis + 2}) is larger than the padded "
                             f"input {padded} (input shape {tuple(shape)})")
