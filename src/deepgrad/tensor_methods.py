"""The Tensor's operators and methods, with PyTorch's names, arguments and behaviour.

Most methods are the ops of :mod:`deepgrad.ops` bound to the Tensor. The in-place ones
(``add_``, ``x += y``, ``x[i] = v``, ...) write into the tensor's own memory, as
PyTorch's do, so every view and every name for it sees the change. Their autograd rules
are PyTorch's too:

* in place on a leaf that requires grad is refused while grad mode is on (the update
  belongs under ``no_grad()``);
* on a tensor in the graph, the tensor takes the in-place op as its new creator, the
  old value going on as the op's input;
* each in-place change bumps the tensor's version (shared with its views); backward
  refuses to use an array that an op saved and that was changed since.
"""
import numbers

import numpy as np

from . import backend, dtypes, ops
from .autograd import Tensor, is_grad_enabled, no_grad
from .ops import reduction, shape


# -- in place -------------------------------------------------------------------------

def _check_leaf(t, name):
    if is_grad_enabled() and t.requires_grad and t.creator is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be changed in place while "
            f"the graph is recorded (its gradient would no longer match its value); "
            f"update it under 'with deepgrad.no_grad():' or through .data")


def _in_graph(t, args):
    return is_grad_enabled() and (t.requires_grad or any(
        isinstance(a, Tensor) and a.requires_grad for a in args))


def _write(t, name, array):
    """Copy ``array`` into ``t``'s memory: the shape and dtype stay ``t``'s."""
    data = t._data
    if array.shape != data.shape and np.broadcast_shapes(array.shape, data.shape) != data.shape:
        raise RuntimeError(f"{name}: the result has shape {tuple(array.shape)}, which does "
                           f"not fit the tensor's shape {tuple(data.shape)} (an in-place "
                           f"operation cannot change a tensor's shape)")
    if not np.can_cast(array.dtype, data.dtype, "same_kind"):
        raise RuntimeError(f"{name}: the result type {array.dtype} can't be cast to the "
                           f"tensor's dtype {data.dtype}; convert the tensor first "
                           f"(x = x.float()) or use an out-of-place operation")
    if not data.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's memory is read-only (an expanded view or "
                           f"a read-only NumPy array); .clone() it first")
    data[...] = array
    t._version_box[0] += 1


def _rebase(t, name, compute, args, kwargs):
    """In place inside the graph: ``t`` gets ``compute(old t, *args)``'s value and creator."""
    if t._base is not None:
        raise NotImplementedError(
            f"{name}: in-place change of a view (made by view, reshape, indexing or "
            f"transpose) while its tensor is in the graph; deepgrad does not rewrite the "
            f"base tensor's graph: use an out-of-place op (y = x + 1), or .clone() the view")
    old = Tensor(t._data.copy(), t.requires_grad)
    old.creator, old.generation = t.creator, t.generation
    result = compute(old, *args, **kwargs)
    _write(t, name, result._data)
    t.creator, t.generation, t.requires_grad = (result.creator, result.generation,
                                                result.requires_grad)
    return t


def _in_place(name, compute):
    """The in-place method ``name`` from ``compute(tensor, *args)``, its out-of-place form."""
    def method(self, *args, **kwargs):
        _check_leaf(self, name)
        if _in_graph(self, args):
            return _rebase(self, name, compute, args, kwargs)
        with no_grad():
            result = compute(self, *args, **kwargs)
        _write(self, name, result._data)
        return self
    method.__name__ = name
    method.__doc__ = f"In-place form of ``{name.rstrip('_')}``: writes into this tensor."
    return method


def _arithmetic_in_place(name, ufunc_name, compute):
    """``add_`` and its kin: outside the graph, one NumPy call that writes in place (the
    update ``p -= lr * p.grad`` of hand-written SGD costs no extra copy)."""
    general = _in_place(name, compute)

    def method(self, other, *, alpha=None):
        if alpha is not None:
            other = other * alpha
        if _in_graph(self, (other,)) or not backend.is_array(self._data):
            return general(self, other)
        value = other._data if isinstance(other, Tensor) else other
        xp = backend.get_array_module(self._data)
        try:
            getattr(xp, ufunc_name)(self._data, value, out=self._data, casting="same_kind")
        except TypeError:
            raise RuntimeError(
                f"{name}: the result type of {self.dtype} and {_dtype_of(value)} can't be "
                f"cast to the tensor's dtype {self.dtype}; convert the tensor first "
                f"(x = x.float()) or use an out-of-place operation") from None
        except ValueError as err:
            if not self._data.flags.writeable:
                raise RuntimeError(f"{name}: the tensor's memory is read-only (an expanded "
                                   f"view or a read-only NumPy array); .clone() it "
                                   f"first") from None
            raise RuntimeError(f"{name}: the operand of shape {np.shape(value)} does not "
                               f"broadcast to the tensor's shape {tuple(self.shape)} ("
                               f"{err})") from None
        self._version_box[0] += 1
        return self
    method.__name__ = name
    method.__doc__ = general.__doc__
    return method


def _dtype_of(value):
    return getattr(value, "dtype", type(value).__name__)


def _filled(t, value):
    xp = backend.get_array_module(t._data)
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"fill_: the value must be a number or a one-element tensor, "
                               f"got shape {tuple(value.shape)}")
        return shape.expand(value.reshape(()).to(t.dtype), *t.shape)
    return Tensor(xp.full(t._data.shape, value, dtype=t.dtype))


_fill_in_graph = _in_place("fill_", _filled)


def fill_(self, value):
    """Set every element to ``value`` (a number or a one-element tensor)."""
    if _in_graph(self, (value,)) or isinstance(value, Tensor):
        return _fill_in_graph(self, value)
    _check_leaf(self, "fill_")
    self._data.fill(value)
    self._version_box[0] += 1
    return self


def _copied(t, src, non_blocking=False):
    src = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    src = ops.to_device(src, t.device.type).to(t.dtype)
    if src.shape != t.shape:
        src = shape.expand(src, *t.shape)
    return src


def _normal(t, mean=0.0, std=1.0, generator=None):
    from .tensor import randn
    return randn(t.shape, generator=generator, dtype=t.dtype, device=t.device) * std + mean


def _uniform(t, a=0.0, b=1.0, generator=None):
    from .tensor import rand
    return rand(t.shape, generator=generator, dtype=t.dtype, device=t.device) * (b - a) + a


def _setitem(self, index, value):
    _check_leaf(self, "__setitem__ (x[i] = v)")
    if _in_graph(self, (value,)):
        _rebase(self, "__setitem__ (x[i] = v)",
                lambda old, v: shape.setitem(old, index, v), (value,), {})
        return
    data = value._data if isinstance(value, Tensor) else value
    try:
        self._data[shape._plain_index(index)] = data
    except (IndexError, ValueError, TypeError) as err:
        raise type(err)(f"x[index] = value: index {index!r} with a value of shape "
                        f"{np.shape(data)} does not fit a tensor of shape "
                        f"{tuple(self.shape)}: {err}") from None
    self._version_box[0] += 1


# -- conversions ----------------------------------------------------------------------

def numpy(self, *, force=False):
    """The values as a NumPy array, sharing memory on the CPU (copied from a GPU)."""
    if self.requires_grad and not force:
        raise RuntimeError("numpy(): can't call numpy() on a tensor that requires grad; "
                           "use tensor.detach().numpy()")
    data = self._data
    return data.get() if hasattr(data, "get") else data


def _array(self, dtype=None, copy=None):
    """NumPy's protocol: ``np.asarray(t)`` shares memory, ``np.array(t)`` copies."""
    out = numpy(self)
    if dtype is not None and out.dtype != dtype:
        return out.astype(dtype)
    return out.copy() if copy else out


def item(self):
    """The value of a one-element tensor as a Python number."""
    if self._data.size != 1:
        raise RuntimeError(f"item(): a tensor with {self._data.size} elements cannot be "
                           f"converted to a Python number (only one-element tensors can)")
    return self._data.item()


def tolist(self):
    return numpy(self, force=True).tolist()


def _scalar(kind):
    def convert(self):
        if self._data.size != 1:
            raise TypeError(f"{kind.__name__}(): only one-element tensors can be converted "
                            f"to Python scalars, this one has shape {tuple(self.shape)}")
        return kind(self._data.item())
    return convert


def _bool(self):
    if self._data.size != 1:
        raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is "
                           f"ambiguous; use .any() or .all()")
    return bool(self._data.item())


def _index(self):
    if self._data.size != 1 or self.dtype.kind not in "iub":
        raise TypeError(f"only integer tensors of a single element can be used as an index, "
                        f"got dtype {self.dtype} and shape {tuple(self.shape)}")
    return int(self._data.item())


def _format(self, spec):
    if self._data.ndim == 0 and spec:
        return format(self._data.item(), spec)
    return format(repr(self), spec)


def _repr(self):
    data = numpy(self, force=True)
    extras = []
    if self.device.type != "cpu":
        extras.append(f"device='{self.device}'")
    if data.dtype not in (np.dtype(backend.default_dtype), np.int64, np.bool_):
        extras.append(f"dtype=deepgrad.{data.dtype.name}")
    if data.size == 0 and data.ndim != 1:
        extras.insert(0, f"size={tuple(data.shape)}")
    if self.creator is not None:
        extras.append(f"grad_fn={self.creator!r}")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    body = np.array2string(data, separator=", ", prefix="tensor(", threshold=1000,
                           edgeitems=3, max_line_width=80, formatter=_formatter(data))
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _formatter(data):
    """PyTorch's number style: '1.' for whole floats, four decimals, else 1.0000e-05;
    every element right-aligned to the widest."""
    if data.dtype.kind != "f" or data.size == 0:
        return None
    finite = np.abs(data[np.isfinite(data)]).astype(np.float64)
    nonzero = finite[finite > 0]
    if finite.size and np.all(finite == np.round(finite)) and finite.max() < 1e8:
        style = lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)  # noqa: E731
    elif nonzero.size and (nonzero.max() >= 1e8 or nonzero.min() < 1e-4
                           or nonzero.max() / nonzero.min() > 1e3):
        style = lambda v: f"{v:.4e}" if np.isfinite(v) else str(v)  # noqa: E731
    else:
        style = lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)  # noqa: E731
    shown = data if data.size <= 1000 else np.concatenate([data.ravel()[:3], data.ravel()[-3:]])
    width = max(len(style(v)) for v in shown.ravel())
    return {"float_kind": lambda v: style(v).rjust(width)}


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
    if device is not None:
        out = ops.to_device(out, backend.normalize_device(device))
    if dtype is not None:
        out = ops.to_dtype(out, dtypes.resolve(dtype))
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


def _floor_divide(self, other):
    other = other._data if isinstance(other, Tensor) else other
    return Tensor(np.asarray(self._data // other))


def _remainder(self, other):
    other = other._data if isinstance(other, Tensor) else other
    return Tensor(np.asarray(self._data % other))


def mm(self, other):
    if self.ndim != 2 or other.ndim != 2:
        raise RuntimeError(f"mm: expects two matrices, got shapes {tuple(self.shape)} and "
                           f"{tuple(other.shape)}; use matmul for other shapes")
    return ops.matmul(self, other)


def bmm(self, other):
    if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
        raise RuntimeError(f"bmm: expects two batches of matrices (b, n, m) and (b, m, p), "
                           f"got shapes {tuple(self.shape)} and {tuple(other.shape)}")
    return ops.matmul(self, other)


def dot(self, other):
    if self.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: expects two 1-D tensors, got shapes {tuple(self.shape)} "
                           f"and {tuple(other.shape)}")
    return ops.matmul(self, other)


def norm(self, p="fro", dim=None, keepdim=False):
    """The 2-norm (``p='fro'`` or 2), 1-norm or max-norm (``p=inf``) over ``dim``."""
    if p in ("fro", 2):
        return ops.sqrt(reduction.sum(self * self, dim, keepdim))
    if p == 1:
        return reduction.sum(ops.abs(self), dim, keepdim)
    if p == float("inf"):
        return reduction.amax(ops.abs(self), dim, keepdim)
    return reduction.sum(ops.abs(self) ** p, dim, keepdim) ** (1.0 / p)


def masked_fill(self, mask, value):
    mask = mask._data if isinstance(mask, Tensor) else mask
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_fill: the mask must be a bool tensor, got {mask.dtype}")
    return ops.where(mask, value, self)


def index_select(self, dim, index):
    d = shape._dim(dim, self.ndim, "index_select")
    index = index._data if isinstance(index, Tensor) else np.asarray(index)
    return shape.getitem(self, (slice(None),) * d + (index,))


def expand_as(self, other):
    return shape.expand(self, *other.shape)


def logsumexp(self, dim, keepdim=False):
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
    return test


isfinite, isnan, isinf = _test("isfinite"), _test("isnan"), _test("isinf")


def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    xp = backend.get_array_module(self._data)
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
    index = index._data if isinstance(index, Tensor) else backend.np.asarray(index)
    if index.ndim == 0 and self.ndim == 1:  # scatter_(0, tensor(3), value=1): one index
        index = index.reshape(1)
    out = self._data.copy()
    backend.get_array_module(out).put_along_axis(out, index, fill,
                                                 axis=shape._dim(dim, self.ndim, "scatter"))
    return Tensor(out)


def numel(self):
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
