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
