"""Every argument and input check of deepgrad, in one place: inputs of the functional
ops, convolution and pooling geometry, layer and model sizes, initialisers, optimizers'
hyper-parameters and schedulers' settings.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong
shape or value) with one sentence naming ``who`` (the layer, function, optimizer or
scheduler), the argument, what was expected and what was given. A check runs once, at
the public boundary (the functional op, the constructor), never again inside the op or
in the layer that calls it.
"""
import math
import numbers
import os

from .autograd import Tensor


class InputError(ValueError):
    """An op's input has the wrong shape or value. A Module whose ``forward`` called the
    op adds its own name in front (:func:`name_the_layer`), so the layer is checked once,
    by its op, and still named."""


class InputTypeError(TypeError):
    """An op's input is not a Tensor, or has the wrong dtype (named like InputError)."""


def name_the_layer(err, module):
    """Put the innermost module's name in front of an op's input error (only once: the
    modules around it leave it as it is)."""
    if not getattr(err, "layer_named", False):
        err.args = (f"{module._get_name()}({module.extra_repr()}): {err.args[0]}",
                    *err.args[1:])
        err.layer_named = True


def check_tensor(who, x, name="input"):
    """``x`` must be a Tensor."""
    if not isinstance(x, Tensor):
        raise InputTypeError(f"{who}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def check_floating(who, x, name="input"):
    """``x`` (a Tensor or an array) must hold floating-point numbers."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        raise InputTypeError(f"{who}: {name} must be a Tensor, got {type(x).__name__}")
    if dtype.kind != "f":
        raise InputTypeError(f"{who}: {name} must be floating point, got dtype {dtype}; "
                        f"convert with .float()")
    return x


def check_same_dtype(who, x, other, name="input", other_name="weight"):
    """No silent promotion (a float64 input would turn a float32 model's output float64)."""
    if x.dtype != other.dtype:
        raise InputTypeError(f"{who}: {name} has dtype {x.dtype} but {other_name} has "
                        f"{other.dtype}; convert one with .to(dtype)")


def check_dim(who, dim, ndim, name="dim"):
    """A dimension index valid for an ``ndim``-D input, returned as a non-negative int."""
    if type(dim) is int and -ndim <= dim < ndim:  # the common case, without the ABC check
        return dim % ndim
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


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(who, name, value):
    """A real number (not a bool); TypeError otherwise."""
    if not _is_number(value):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")


def check_count(who, name, value, minimum=1):
    """An int (not a bool) ``>= minimum``: a size, a step count, a milestone."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{who}: {name} must be {kind}, got {value!r}")
    return value


def check_range(who, name, value, low=None, high=None, low_open=False, high_open=False,
                expected=None):
    """A real number between ``low`` and ``high`` (open or closed at each end); the
    message says ``expected`` (in words)."""
    ok = _is_number(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(f"{who}: {name} must be {expected}, got {value!r}")


# -- optimizers' hyper-parameters --

def check_non_negative(optimizer, name, value):
    """A finite number >= 0 (NaN and inf would silently poison every parameter)."""
    if not _is_number(value) or not 0 <= value < math.inf:
        raise ValueError(f"{optimizer}: {name} must be a finite non-negative number, got "
                         f"{value!r}")


def check_interval(optimizer, name, value, low, high, closed_high=False):
    """``low <= value < high`` (``<= high`` with ``closed_high``), else ValueError."""
    ok = _is_number(value) and low <= value and (value <= high if closed_high
                                                  else value < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{optimizer}: {name} must be a number in [{low}, {high}{bracket}, "
                         f"got {value!r}")


def check_pair(optimizer, name, value):
    """A pair of numbers (betas, etas, step_sizes), returned as a tuple of floats."""
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or not all(_is_number(v) for v in value)):
        raise ValueError(f"{optimizer}: {name} must be a pair of numbers, got {value!r}")
    return tuple(float(v) for v in value)


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
    if type(value) is int and value >= minimum:  # the common cases first (not bools)
        return value, value
    if (type(value) is tuple and len(value) == 2 and type(value[0]) is int
            and type(value[1]) is int and min(value) >= minimum):
        return value
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
        raise InputError(f"{who}: expected a 4-D input (N, C, H, W), got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise InputError(f"{who}: expected {channels} input channels, got input of shape "
                         f"{shape} ({shape[1]} channels)")
    if x.dtype.kind != "f":
        raise InputTypeError(f"{who}: input must be floating point, got dtype {x.dtype}")


def check_fits(who, shape, pads, kernel, dilation):
    """The dilated kernel must fit in the padded input."""
    for axis, (n, p, k, d) in enumerate(zip(shape[2:], pads, kernel, dilation)):
        extent = d * (k - 1) + 1
        if n + p[0] + p[1] < extent:
            padded = tuple(s + q[0] + q[1] for s, q in zip(shape[2:], pads))
            raise InputError(f"{who}: the kernel {tuple(kernel)} (dilation {tuple(dilation)}, "
                             f"extent {extent} on axis {axis + 2}) is larger than the padded "
                             f"input {padded} (input shape {tuple(shape)})")


# -- sizes and allocations (factories, layers' parameters) --

def check_sizes(who, sizes, name="size"):
    """Sizes as PyTorch takes them (``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``): a tuple
    of non-negative ints. TypeError for a non-integer, ValueError for a negative one."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{who}: {name} must be non-negative integers, got "
                            f"{tuple(sizes)!r}")
        if n < 0:
            raise ValueError(f"{who}: {name} must be non-negative integers, got "
                             f"{tuple(sizes)!r}")
    return tuple(int(n) for n in sizes)


def _physical_memory():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_allocation(who, shape, itemsize, name="the tensor"):
    """An array of ``shape`` must be possible (fewer than 2**63 bytes: ValueError) and
    fit in this machine's memory (MemoryError), said before NumPy tries."""
    count = 1
    for n in shape:
        count *= int(n)
    nbytes = count * itemsize
    if nbytes >= 2 ** 63 or any(int(n) >= 2 ** 63 for n in shape):
        raise ValueError(f"{who}: {name} of shape {tuple(shape)} would need {count} "
                         f"elements of {itemsize} bytes, more than any array can hold")
    memory = _physical_memory()
    if memory and nbytes > memory:
        raise MemoryError(f"{who}: {name} of shape {tuple(shape)} needs "
                          f"{nbytes / 2 ** 30:.4g} GiB, more than this machine's "
                          f"{memory / 2 ** 30:.4g} GiB of memory")


def check_value(who, name, value, allow_tensor=True):
    """A number (bool, int, float) or, with ``allow_tensor``, a one-element Tensor: the
    value a tensor is filled or compared with."""
    if isinstance(value, Tensor) and allow_tensor and value.numel() == 1:
        return value
    if not isinstance(value, numbers.Number) or isinstance(value, complex):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    return value


# -- operands and indices --

def check_operand(who, value, name="other"):
    """The other side of an elementwise op: a Tensor, an array, or a number."""
    if isinstance(value, Tensor) or hasattr(value, "__array_interface__") or (
            hasattr(value, "__cuda_array_interface__")):
        return value
    if not isinstance(value, numbers.Number):
        raise TypeError(f"{who}: {name} must be a Tensor or a number, got "
                        f"{type(value).__name__} {value!r:.60}")
    return value


def check_broadcast(who, *shapes):
    """The shapes must broadcast together (NumPy's rule, which is PyTorch's)."""
    import numpy as np
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise InputError(f"{who}: shapes {', '.join(str(tuple(s)) for s in shapes)} do "
                         f"not broadcast together") from None


def check_index(who, index, size, dim, name="index"):
    """An integer index Tensor (or array) with every entry in [0, size): its array."""
    data = index._data if isinstance(index, Tensor) else index
    if not hasattr(data, "dtype"):
        raise InputTypeError(f"{who}: {name} must be a Tensor of int64 indices, got "
                             f"{type(index).__name__}")
    if data.dtype.kind not in "iu":
        raise InputTypeError(f"{who}: {name} must hold integers (int64), got dtype "
                             f"{data.dtype}")
    if data.size and (int(data.min()) < 0 or int(data.max()) >= size):
        bad = int(data.min()) if int(data.min()) < 0 else int(data.max())
        raise IndexError(f"{who}: {name} {bad} is out of range for dim {dim} of size "
                         f"{size}")
    return data
