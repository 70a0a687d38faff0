"""The Tensor's operators and methods, with PyTorch's names, arguments and behaviour.

Most methods are the ops of :mod:`deepgrad.ops` bound to the Tensor; the in-place ones
come from :mod:`deepgrad.inplace`, the conversions and ``repr`` from
:mod:`deepgrad.tensor_conversions`.
"""
import numbers

import numpy as np

from . import backend, checks, dtypes, ops
from .autograd import Tensor
from .inplace import (_arithmetic_in_place, _copied, _in_place, _normal, _setitem,
                      _uniform, fill_)
from .ops import reduction, shape
from .tensor_conversions import (_array, _bool, _format, _index, _repr, _repr_html, _scalar,
                                 item, numpy, tolist)


# -- shape and type -------------------------------------------------------------------

def size(self, dim=None):
    """The shape (a ``Size``), or the length of one dim."""
    if dim is None:
        return self.shape
    return self._data.shape[shape._dim(dim, self.ndim, "size")]


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, backend.device)):
            device = a
        else:
            dtype = a
    out = self
    try:
        device = None if device is None else backend.normalize_device(device)
        dtype = None if dtype is None else dtypes.resolve(dtype)
    except (TypeError, ValueError) as err:
        raise type(err)(f"to(): {err}") from None
    if device is not None:
        out = ops.to_device(out, device)
    if dtype is not None:
        out = ops.to_dtype(out, dtype)
    if copy and out is self:
        out = clone(self)
    return out


def _cast(dtype):
    def cast(self, memory_format=None):
        return ops.to_dtype(self, dtype)
    return cast


def type_(self, dtype=None, non_blocking=False):
    """Without an argument, the type's name ('deepgrad.FloatTensor'); with one, a cast."""
    if dtype is None:
        return dtypes.type_name(self.dtype)
    return ops.to_dtype(self, dtypes.resolve(dtype))


def clone(self, memory_format=None):
    """A copy that stays in the graph (its gradient flows back to this tensor)."""
    return shape.clone(self)


def is_contiguous(self, memory_format=None):
    """True unless this is a strided view (transposed, expanded, sliced with steps). A
    layer may keep its output in another memory order (a convolution's is
    channels-last): that is a detail of the kernels, and the tensor counts as
    contiguous, as PyTorch's output does."""
    return self._base is None or bool(self._data.flags.c_contiguous)


def contiguous(self, memory_format=None):
    return self if is_contiguous(self) else clone(self)


def view(self, *shape_or_dtype):
    if len(shape_or_dtype) == 1 and not isinstance(shape_or_dtype[0], (tuple, list,
                                                                        numbers.Integral)):
        raise NotImplementedError("view(dtype) (reinterpreting bits) is not supported; "
                                  "use .to(dtype) to convert values")
    return shape.view(self, *shape_or_dtype)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    from .tensor import tensor
    return tensor(data, requires_grad, dtype or self.dtype, device or self.device)


def _new(fill):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        from .tensor import _filled
        return _filled(f"new_{fill}", {"zeros": 0, "ones": 1, "empty": 0}[fill], size,
                       dtype or self.dtype, device or self.device, requires_grad)
    return new


def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    from .tensor import _filled
    return _filled("new_full", fill_value, (size,), dtype or self.dtype,
                   device or self.device, requires_grad)


# -- math -----------------------------------------------------------------------------

def _compare(name):
    def compare(self, other):
        other = other._data if isinstance(other, Tensor) else other
        return Tensor(np.asarray(getattr(self._data, name)(other)))
    return compare


def _logical(name):
    def combine(self, other):
        other = other._data if isinstance(other, Tensor) else other
        xp = backend.get_array_module(self._data)
        return Tensor(getattr(xp, name)(self._data, other))
    return combine


def _invert(self):
    xp = backend.get_array_module(self._data)
    return Tensor(xp.logical_not(self._data) if self.dtype == np.bool_ else ~self._data)


def _integer_division(who, self, other):
    """The divisor's array; an integer division by zero is refused, as in PyTorch
    (NumPy would give 0 with a warning)."""
    checks.check_operand(who, other)
    other = other._data if isinstance(other, Tensor) else other
    if self.dtype.kind in "biu" and np.asarray(other).dtype.kind in "biu" and not np.all(
            np.asarray(other)):
        raise RuntimeError(f"{who}: integer division by zero (ZeroDivisionError)")
    checks.check_broadcast(who, self.shape, np.shape(other))
    return other


def _floor_divide(self, other):
    other = _integer_division("floor_divide", self, other)
    return Tensor(np.asarray(self._data // other))


def _remainder(self, other):
    other = _integer_division("remainder", self, other)
    return Tensor(np.asarray(self._data % other))


def mm(self, other):
    """The product of two matrices (2-D only; :func:`matmul` broadcasts)."""
    if self.ndim != 2 or other.ndim != 2:
        raise RuntimeError(f"mm: expects two matrices, got shapes {tuple(self.shape)} and "
                           f"{tuple(other.shape)}; use matmul for other shapes")
    if self.shape[1] != other.shape[0]:
        raise RuntimeError(f"mm: shapes {tuple(self.shape)} and {tuple(other.shape)} cannot "
                           f"be multiplied ({self.shape[1]} != {other.shape[0]})")
    return ops.matmul(self, other, who="mm")


def bmm(self, other):
    """The products of two batches of matrices, (b, n, m) @ (b, m, p) -> (b, n, p)."""
    if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
        raise RuntimeError(f"bmm: expects two batches of matrices (b, n, m) and (b, m, p), "
                           f"got shapes {tuple(self.shape)} and {tuple(other.shape)}")
    return ops.matmul(self, other, who="bmm")


def dot(self, other):
    """The inner product of two 1-D tensors of one length."""
    if self.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: expects two 1-D tensors, got shapes {tuple(self.shape)} "
                           f"and {tuple(other.shape)}")
    if self.shape[0] != other.shape[0]:
        raise RuntimeError(f"dot: the tensors have {self.shape[0]} and {other.shape[0]} "
                           f"elements")
    return ops.matmul(self, other, who="dot")


def norm(self, p="fro", dim=None, keepdim=False):
    """The 2-norm (``p='fro'`` or 2), 1-norm or max-norm (``p=inf``) over ``dim``."""
    if self.dtype.kind not in "fc":
        raise RuntimeError(f"norm(): expected a floating point tensor, got {self.dtype}")
    reduction._dims("norm", self, dim, None)  # the checks, named for norm
    reduction._keep(keepdim, None, "norm")
    if p in ("fro", 2):
        return ops.sqrt(reduction.sum(self * self, dim, keepdim))
    if p == 1:
        return reduction.sum(ops.abs(self), dim, keepdim)
    if p == float("inf"):
        return reduction.amax(ops.abs(self), dim, keepdim)
    return reduction.sum(ops.abs(self) ** p, dim, keepdim) ** (1.0 / p)


def masked_fill(self, mask, value):
    """A copy with ``value`` where the bool ``mask`` (broadcast) is True."""
    checks.check_tensor("masked_fill", mask, "mask")
    mask = mask._data
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_fill: the mask must be a bool tensor, got {mask.dtype}")
    if checks.check_broadcast("masked_fill", self.shape, mask.shape) != tuple(self.shape):
        raise RuntimeError(f"masked_fill: the mask of shape {tuple(mask.shape)} must "
                           f"broadcast to the tensor's shape {tuple(self.shape)}")
    checks.check_value("masked_fill", "value", value)
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got "
                           f"shape {tuple(value.shape)}")
    return ops.where(mask, value, self)


def index_select(self, dim, index):
    d = shape._dim(dim, self.ndim, "index_select")
    if not isinstance(index, Tensor) and not backend.is_array(index):
        raise TypeError(f"index_select: index must be a Tensor, got {type(index).__name__}")
    index = checks.check_index("index_select", index, self.shape[d] if self.ndim else 1, d)
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be 1-D (a vector), got shape "
                         f"{tuple(index.shape)}")
    index = index.reshape(-1)
    return shape.getitem(self, (slice(None),) * d + (index,))


def expand_as(self, other):
    return shape.expand(self, *other.shape)


def logsumexp(self, dim, keepdim=False):
    """``log(sum(exp(a)))`` over ``dim``, shifted by the maximum so it cannot overflow."""
    if self.dtype.kind not in "fc":
        self = self.to(backend.default_dtype)  # noqa: PLW0642 - PyTorch's promotion
    reduction._dims("logsumexp", self, dim, None)
    if self.numel() == 0:  # nothing to shift by: the sum of no terms is 0, its log -inf
        with np.errstate(divide="ignore"):
            return ops.log(reduction.sum(ops.exp(self), dim, keepdim))
    peak = reduction.amax(self, dim, keepdim=True).detach()
    out = ops.log(reduction.sum(ops.exp(self - peak), dim, keepdim=True)) + peak
    return out if keepdim else shape.squeeze(out, dim)


def _numpy_protocol(fn):
    """NumPy's functions call a non-array's method with ``axis``, ``out`` and ``keepdims``
    (``np.sum(t)`` calls ``t.sum(axis=None, dtype=None, out=None)``): accept them."""
    def method(self, *args, out=None, **kwargs):
        if out is not None:
            raise TypeError(f"{fn.__name__}: out= is not supported; assign the result")
        if "axis" in kwargs and fn.__name__ in ("all", "any", "cumsum"):
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs and fn.__name__ in ("all", "any"):
            kwargs["keepdim"] = bool(kwargs.pop("keepdims"))
        return fn(self, *args, **kwargs)
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


def _test(name):
    def test(self):
        return Tensor(getattr(backend.get_array_module(self._data), name)(self._data))
    test.__name__ = name
    test.__doc__ = f"A bool tensor, True where an element is {name[2:]} (NumPy's {name})."
    return test


isfinite, isnan, isinf = _test("isfinite"), _test("isnan"), _test("isinf")


def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True when every ``|a - b| <= atol + rtol * |b|`` (NumPy's and PyTorch's test)."""
    xp = backend.get_array_module(self._data)
    checks.check_tensor("allclose", other, "other")
    checks.check_broadcast("allclose", self.shape, other.shape)
    return bool(xp.allclose(self._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(self, other):
    """True when both have the same shape and the same values."""
    return tuple(self.shape) == tuple(other.shape) and bool((self._data == other._data).all())


def scatter(self, dim, index, src=None, value=None, reduce=None):
    """A copy with ``out[i][index[i][j]] = src[i][j]`` along ``dim`` (or ``value``);
    outside the graph only (no gradient flows through it in deepgrad)."""
    if reduce is not None:
        raise NotImplementedError("scatter(reduce=...) is not supported; use index_add "
                                  "patterns with out-of-place ops")
    if self.requires_grad or (isinstance(src, Tensor) and src.requires_grad):
        raise NotImplementedError("scatter: deepgrad does not differentiate scatter; "
                                  "build the tensor outside the graph (one-hot targets "
                                  "have no gradient) or use gather")
    fill = value if src is None else src
    fill = fill._data if isinstance(fill, Tensor) else fill
    d = shape._dim(dim, self.ndim, "scatter")
    index = checks.check_index("scatter", index if isinstance(index, Tensor) else
                               backend.np.asarray(index), self.shape[d] if self.ndim else 1, d)
    if index.ndim == 0 and self.ndim == 1:  # scatter_(0, tensor(3), value=1): one index
        index = index.reshape(1)
    out = self._data.copy()
    backend.get_array_module(out).put_along_axis(out, index, fill,
                                                 axis=shape._dim(dim, self.ndim, "scatter"))
    return Tensor(out)


def numel(self):
    """The number of elements."""
    return self._data.size


def _softmax(fn):
    def method(self, dim=None, dtype=None):
        if dim is None:
            raise TypeError(f"{fn.__name__}(): missing the dim argument (PyTorch's "
                            f"Tensor.{fn.__name__} needs it)")
        return fn(self if dtype is None else self.to(dtype), dim)
    return method


_METHODS = {
    # operators
    "__add__": ops.add, "__radd__": lambda s, o: ops.add(o, s),
    "__sub__": ops.sub, "__rsub__": lambda s, o: ops.sub(o, s),
    "__mul__": ops.mul, "__rmul__": lambda s, o: ops.mul(o, s),
    "__truediv__": ops.div, "__rtruediv__": lambda s, o: ops.div(o, s),
    "__pow__": ops.pow, "__rpow__": lambda s, o: ops.pow(o, s),
    "__matmul__": ops.matmul, "__rmatmul__": lambda s, o: ops.matmul(o, s),
    "__floordiv__": _floor_divide, "__mod__": _remainder,
    "__neg__": ops.neg, "__abs__": ops.abs, "__pos__": lambda s: s,
    "__getitem__": shape.getitem, "__setitem__": _setitem,
    "__and__": _logical("logical_and"), "__or__": _logical("logical_or"),
    "__xor__": _logical("logical_xor"), "__invert__": _invert,
    # conversions
    "numpy": numpy, "__array__": _array, "item": item, "tolist": tolist,
    "__float__": _scalar(float), "__int__": _scalar(int), "__bool__": _bool,
    "__index__": _index, "__format__": _format, "__repr__": _repr, "__str__": _repr,
    "_repr_html_": _repr_html,
    # shape
    "size": size, "dim": lambda s: s._data.ndim, "numel": numel, "nelement": numel,
    "view": view, "view_as": lambda s, o: shape.view(s, *o.shape),
    "reshape": shape.reshape, "reshape_as": lambda s, o: shape.reshape(s, *o.shape),
    "flatten": shape.flatten, "unflatten": shape.unflatten,
    "squeeze": shape.squeeze, "unsqueeze": shape.unsqueeze,
    "permute": shape.permute, "transpose": shape.transpose, "swapaxes": shape.transpose,
    "t": lambda s: shape.transpose(s), "expand": shape.expand, "expand_as": expand_as,
    "repeat": shape.repeat, "contiguous": contiguous, "gather": shape.gather,
    "split": shape.split, "chunk": shape.chunk, "index_select": index_select,
    "is_contiguous": is_contiguous,
    # types and devices
    "to": to, "cpu": lambda s: ops.to_device(s, "cpu"),
    "cuda": lambda s, device=None, non_blocking=False: ops.to_device(s, "cuda"),
    "float": _cast(np.float32), "double": _cast(np.float64), "half": _cast(np.float16),
    "long": _cast(np.int64), "int": _cast(np.int32), "short": _cast(np.int16),
    "byte": _cast(np.uint8), "bool": _cast(np.bool_), "type": type_,
    "type_as": lambda s, o: ops.to_dtype(s, o.dtype), "astype": lambda s, d: ops.to_dtype(s, d),
    "is_floating_point": lambda s: s.dtype.kind == "f",
    "element_size": lambda s: s.dtype.itemsize,
    "clone": clone, "new_tensor": new_tensor, "new_zeros": _new("zeros"),
    "new_ones": _new("ones"), "new_empty": _new("empty"), "new_full": new_full,
    # reductions
    "sum": reduction.sum, "mean": reduction.mean, "var": reduction.var,
    "std": reduction.std, "max": reduction.max, "min": reduction.min,
    "amax": reduction.amax, "amin": reduction.amin,
    "argmax": reduction.argmax, "argmin": reduction.argmin,
    "all": reduction.all, "any": reduction.any, "norm": norm, "logsumexp": logsumexp,
    "cumsum": ops.cumsum,
    "sort": ops.sort, "argsort": ops.argsort, "topk": ops.topk,
    # math
    "add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div, "pow": ops.pow,
    "neg": ops.neg,
    "matmul": ops.matmul, "mm": mm, "bmm": bmm, "dot": dot,
    "exp": ops.exp, "log": ops.log, "log1p": ops.log1p, "sqrt": ops.sqrt,
    "rsqrt": lambda s: 1 / ops.sqrt(s), "reciprocal": lambda s: 1 / s,
    "abs": ops.abs, "sin": ops.sin, "cos": ops.cos, "square": ops.square,
    "sign": ops.sign, "floor": ops.floor, "ceil": ops.ceil, "round": ops.round,
    "clamp": ops.clamp, "clip": ops.clamp, "maximum": ops.maximum, "minimum": ops.minimum,
    "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh,
    "softmax": _softmax(ops.softmax), "log_softmax": _softmax(ops.log_softmax),
    "masked_fill": masked_fill, "scatter": scatter,
    "isfinite": isfinite, "isnan": isnan, "isinf": isinf, "allclose": allclose,
    "equal": equal,
    "eq": _compare("__eq__"), "ne": _compare("__ne__"), "lt": _compare("__lt__"),
    "le": _compare("__le__"), "gt": _compare("__gt__"), "ge": _compare("__ge__"),
    "__lt__": _compare("__lt__"), "__le__": _compare("__le__"),
    "__gt__": _compare("__gt__"), "__ge__": _compare("__ge__"),
    "__eq__": _compare("__eq__"), "__ne__": _compare("__ne__"),
    "logical_not": _invert, "logical_and": _logical("logical_and"),
    "logical_or": _logical("logical_or"),
    # in place
    "add_": _arithmetic_in_place("add_", "add", ops.add),
    "sub_": _arithmetic_in_place("sub_", "subtract", ops.sub),
    "mul_": _arithmetic_in_place("mul_", "multiply", ops.mul),
    "div_": _arithmetic_in_place("div_", "true_divide", ops.div),
    "pow_": _in_place("pow_", ops.pow), "neg_": _in_place("neg_", ops.neg),
    "clamp_": _in_place("clamp_", ops.clamp), "clip_": _in_place("clip_", ops.clamp),
    "exp_": _in_place("exp_", ops.exp), "log_": _in_place("log_", ops.log),
    "sqrt_": _in_place("sqrt_", ops.sqrt), "abs_": _in_place("abs_", ops.abs),
    "relu_": _in_place("relu_", ops.relu), "sigmoid_": _in_place("sigmoid_", ops.sigmoid),
    "tanh_": _in_place("tanh_", ops.tanh),
    "masked_fill_": _in_place("masked_fill_", masked_fill),
    "scatter_": _in_place("scatter_", scatter),
    "fill_": fill_, "zero_": lambda s: fill_(s, 0),
    "copy_": _in_place("copy_", _copied),
    "normal_": _in_place("normal_", _normal), "uniform_": _in_place("uniform_", _uniform),
}
for _name in ("sum", "mean", "var", "std", "max", "min", "argmax", "argmin", "all", "any"):
    _METHODS[_name] = _numpy_protocol(_METHODS[_name])
_METHODS["__iadd__"] = _METHODS["add_"]
_METHODS["__isub__"] = _METHODS["sub_"]
_METHODS["__imul__"] = _METHODS["mul_"]
_METHODS["__itruediv__"] = _METHODS["div_"]
_METHODS["__ipow__"] = _METHODS["pow_"]

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: shape.permute(self, *reversed(range(self.ndim))))
Tensor.mT = property(lambda self: shape.transpose(self, -2, -1))
Tensor.is_cuda = property(lambda self: self.device.type == "cuda")
Tensor.itemsize = property(lambda self: self.dtype.itemsize)
Tensor.nbytes = property(lambda self: self._data.nbytes)
Tensor.__hash__ = object.__hash__  # == is elementwise, identity still hashes
