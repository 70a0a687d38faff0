"""Reductions over ``dim`` (an int, a tuple, or None for all) with ``keepdim``, as in
PyTorch: sum, mean, var, std, max, min (with their indices along one dim), argmax,
argmin, all, any. NumPy's ``axis``/``keepdims`` are accepted as aliases."""
import builtins  # this module's max/min/sum are the ops; the builtins are needed too
import collections
import numbers

from .. import backend
from ..autograd import Function, Tensor


def _axes(axis, ndim, name):
    """Normalise ``axis`` (None, int or tuple, negatives allowed) to a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{name}: dim must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor with {ndim} "
                             f"dimensions")
        a = a % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{name}: dim {a} appears more than once in dim={axis!r}")
        out.append(a)
    return tuple(sorted(out))


def _expand(g, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        shape = [1 if i in axes else n for i, n in enumerate(in_shape)]
        g = g.reshape(shape)
    return g


class Sum(Function):
    saves_inputs = False
    saves = ("in_shape",)

    def __init__(self, axes, keepdims=False):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.in_shape = a.shape
        return xp.asarray(a.sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        xp = backend.get_array_module(g)
        g = _expand(g, self.in_shape, self.axes, self.keepdims)
        return (xp.broadcast_to(g, self.in_shape),)


class Mean(Function):
    saves_inputs = False
    saves = ("in_shape", "count")

    def __init__(self, axes, keepdims=False):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.in_shape = a.shape
        self.count = 1
        for i in self.axes:
            self.count *= a.shape[i]
        return xp.asarray(a.mean(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        xp = backend.get_array_module(g)
        g = _expand(g, self.in_shape, self.axes, self.keepdims) / g.dtype.type(self.count)
        return (xp.broadcast_to(g, self.in_shape),)


class Max(Function):
    """Maximum (or minimum with ``smallest=True``); ties share the gradient equally.

    That is PyTorch's rule for ``amax``/``amin`` and for a full ``max()``.
    """

    saves_output = True
    saves = ("axes", "a", "y_kept")

    def __init__(self, axis=None, keepdims=False, smallest=False):
        self.axis, self.keepdims, self.smallest = axis, keepdims, smallest

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.axes = _axes(self.axis, a.ndim, "min" if self.smallest else "max")
        if a.size == 0 and (not a.ndim or builtins.any(a.shape[i] == 0 for i in self.axes)):
            raise ValueError(f"max/min of an empty tensor of shape {tuple(a.shape)}")
        reduce = a.min if self.smallest else a.max
        if a.size == 0:  # over non-empty dims of an empty tensor: an empty result
            y = xp.zeros([1 if i in self.axes else n for i, n in enumerate(a.shape)], a.dtype)
        else:
            y = xp.asarray(reduce(axis=self.axes, keepdims=True))
        self.a, self.y_kept = a, y
        return y if self.keepdims else y.reshape([n for i, n in enumerate(a.shape) if i not in self.axes])

    def backward(self, g):
        g = _expand(g, self.a.shape, self.axes, self.keepdims)
        hit = self.a == self.y_kept
        count = hit.sum(axis=self.axes, keepdims=True)
        return (hit * (g / count.astype(g.dtype)),)


class MaxAlong(Function):
    """Values of the maximum (or minimum) along one dim; the gradient goes to the
    element whose index is returned, as PyTorch's ``max(dim)``."""

    saves_inputs = False
    saves = ("shape", "indices")

    def __init__(self, dim, keepdim, smallest):
        self.dim, self.keepdim, self.smallest = dim, keepdim, smallest

    def forward(self, a):
        xp = backend.get_array_module(a)
        pick = xp.argmin if self.smallest else xp.argmax
        self.shape = a.shape
        self.indices = xp.expand_dims(pick(a, axis=self.dim), self.dim)
        values = xp.take_along_axis(a, self.indices, axis=self.dim)
        return values if self.keepdim else xp.squeeze(values, self.dim)

    def backward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        g = g if self.keepdim else xp.expand_dims(g, self.dim)
        xp.put_along_axis(out, self.indices, g, axis=self.dim)
        return (out,)


class Var(Function):
    """Variance over ``axes`` with ``correction`` (1: the unbiased estimate, PyTorch's
    default; 0: the population variance)."""

    saves = ("divisor", "centred")

    def __init__(self, axes, correction, keepdims):
        self.axes, self.correction, self.keepdims = axes, correction, keepdims

    def forward(self, a):
        xp = backend.get_array_module(a)
        count = 1
        for i in self.axes:
            count *= a.shape[i]
        self.divisor = a.dtype.type(builtins.max(count - self.correction, 0))
        self.centred = a - a.mean(axis=self.axes, keepdims=True)
        return xp.asarray((self.centred * self.centred).sum(axis=self.axes, keepdims=self.keepdims)
                          / self.divisor)

    def backward(self, g):
        g = _expand(g, self.centred.shape, self.axes, self.keepdims)
        return (g * (2 / self.divisor) * self.centred,)


def _dims(name, a, dim, axis):
    """The dims to reduce over: PyTorch's ``dim`` (an int, a tuple, or None for all),
    with NumPy's ``axis`` as an alias."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: give dim or its alias axis, not both")
        dim = axis
    return _axes(dim, a.ndim, name)


def _keep(keepdim, keepdims, name="reduction"):
    keep = keepdims if keepdims is not None else keepdim
    if not isinstance(keep, (bool, backend.np.bool_)):
        raise TypeError(f"{name}: keepdim must be True or False, got {keep!r}")
    return bool(keep)


def _as(a, dtype):
    if dtype is None:
        return a
    from .arithmetic import to_dtype
    return to_dtype(a, dtype)


def sum(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001
    """Sum over ``dim`` (all dims if None). Integer and bool tensors sum to int64, as in
    PyTorch."""
    if dtype is None and a.dtype.kind in "biu":
        dtype = backend.np.int64
    return Sum(_dims("sum", a, dim, axis), _keep(keepdim, keepdims, "sum"))(_as(a, dtype))


def mean(a, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The mean over ``dim`` (all elements when None); floating-point inputs only, as in
    PyTorch."""
    if dtype is None and a.dtype.kind not in "fc":
        raise RuntimeError(f"mean(): input dtype should be floating point, got {a.dtype}; "
                           f"use .float().mean()")
    return Mean(_dims("mean", a, dim, axis), _keep(keepdim, keepdims, "mean"))(_as(a, dtype))


def var(a, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, _name="var"):
    """Variance; ``correction=1`` (or ``unbiased=True``, the default) divides by N - 1."""
    if a.dtype.kind not in "fc":
        raise RuntimeError(f"{_name}(): std and var only support floating point dtypes, "
                           f"got {a.dtype}; use .float()")
    if correction is None:
        correction = 0 if unbiased is False else 1
    return Var(_dims(_name, a, dim, axis), correction, _keep(keepdim, keepdims, _name))(a)


def std(a, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None):
    """The standard deviation, ``sqrt(var(...))``: ``correction=1`` (the default) divides
    by N - 1."""
    from .elementwise import sqrt
    return sqrt(var(a, dim, unbiased, keepdim, correction=correction, axis=axis,
                    keepdims=keepdims, _name="std"))


MaxResult = collections.namedtuple("max", ["values", "indices"])
MinResult = collections.namedtuple("min", ["values", "indices"])


def _extreme(name, a, dim, keepdim, other, axis, keepdims, smallest):
    if isinstance(dim, Tensor) or other is not None:  # dg.max(a, b): elementwise
        from .elementwise import maximum, minimum
        return (minimum if smallest else maximum)(a, other if other is not None else dim)
    keep = _keep(keepdim, keepdims, name)
    if dim is None and axis is None:
        if a._data.size == 0:
            raise RuntimeError(f"{name}(): the {name} of an empty tensor (shape "
                               f"{tuple(a.shape)}) is undefined; give a dim")
        return Max(None, keep, smallest)(a)
    if isinstance(dim if axis is None else axis, (tuple, list)):
        raise TypeError(f"{name}(): dim must be one int (the pair (values, indices) comes "
                        f"back); use amax/amin to reduce over several dims")
    d = _dims(name, a, dim, axis)
    if a.ndim and a.shape[d[0]] == 0:
        raise IndexError(f"{name}(): cannot reduce over a zero-size dim of a tensor of "
                         f"shape {tuple(a.shape)}")
    if a.ndim == 0:
        return (MinResult if smallest else MaxResult)(a, Tensor(backend.np.asarray(0)))
    values = MaxAlong(d[0], keep, smallest)(a)
    xp = backend.get_array_module(a._data)
    pick = xp.argmin if smallest else xp.argmax
    indices = pick(a._data, axis=d[0], keepdims=keep)
    return (MinResult if smallest else MaxResult)(values, Tensor(indices.astype(xp.int64)))


def max(a, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):  # noqa: A001
    """``max(a)``: the largest element (0-d); ``max(a, dim)``: the pair (values,
    indices) along ``dim``; ``max(a, b)`` with a tensor ``b``: the elementwise maximum."""
    return _extreme("max", a, dim, keepdim, other, axis, keepdims, smallest=False)


def min(a, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):  # noqa: A001
    """As :func:`max`, for the smallest."""
    return _extreme("min", a, dim, keepdim, other, axis, keepdims, smallest=True)


def amax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest values over ``dim`` (an int, a tuple, or None for all); ties share
    the gradient."""
    return Max(_extent("amax", a, dim, axis), _keep(keepdim, keepdims, "amax"))(a)


def amin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest value over ``dim`` (all when None); ties share the gradient equally."""
    return Max(_extent("amin", a, dim, axis), _keep(keepdim, keepdims, "amin"),
               smallest=True)(a)


def _extent(name, a, dim, axis):
    """The dims of a max or min, none of them empty (there is nothing to pick)."""
    dims = _dims(name, a, dim, axis)
    if a.ndim and builtins.any(a.shape[d] == 0 for d in dims) or a._data.size == 0 and not dims:
        raise IndexError(f"{name}(): cannot reduce over a zero-size dim of a tensor of "
                         f"shape {tuple(a.shape)} (dim={dim!r})")
    return dims


def _arg(name, a, dim, keepdim, axis, keepdims):
    xp = backend.get_array_module(a._data)
    pick = xp.argmin if name == "argmin" else xp.argmax
    keep = _keep(keepdim, keepdims, name)
    if dim is None and axis is None:
        if a._data.size == 0:
            raise RuntimeError(f"{name}(): the {name} of an empty tensor (shape "
                               f"{tuple(a.shape)}) is undefined")
        return Tensor(xp.asarray(pick(a._data)).astype(xp.int64))
    if isinstance(dim if axis is None else axis, (tuple, list)):
        raise TypeError(f"{name}(): dim must be one int, got {dim!r}")
    d = _dims(name, a, dim, axis)[0]
    if a.ndim and a.shape[d] == 0:
        raise IndexError(f"{name}(): cannot reduce over a zero-size dim of a tensor of "
                         f"shape {tuple(a.shape)} (dim={d})")
    return Tensor(pick(a._data, axis=d, keepdims=keep).astype(xp.int64))


def argmax(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest element (of the flattened tensor when ``dim`` is None)."""
    return _arg("argmax", a, dim, keepdim, axis, keepdims)


def argmin(a, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the smallest element (of the flattened tensor when ``dim`` is None)."""
    return _arg("argmin", a, dim, keepdim, axis, keepdims)


def _boolean(name, a, dim, keepdim):
    xp = backend.get_array_module(a._data)
    reduce = xp.all if name == "all" else xp.any
    axes = None if dim is None else _axes(dim, a.ndim, name)
    return Tensor(xp.asarray(reduce(a._data, axis=axes, keepdims=keepdim)))


def all(a, dim=None, keepdim=False):  # noqa: A001
    """True where every element over ``dim`` (all when None) is nonzero."""
    return _boolean("all", a, dim, keepdim)


def any(a, dim=None, keepdim=False):  # noqa: A001
    """True where some element over ``dim`` (all when None) is nonzero."""
    return _boolean("any", a, dim, keepdim)
