"""Reductions: sum, mean, max, min over all axes or a tuple of axes, with keepdims."""
import builtins  # this module's max/min/sum are the ops; the builtins are needed too
import operator

from .. import backend
from ..autograd import Function


def _axes(axis, ndim, name):
    """Normalise ``axis`` (None, int or tuple, negatives allowed) to a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = operator.index(a)  # ints and NumPy integers; a float axis is a TypeError
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"{name}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _expand(g, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        shape = [1 if i in axes else n for i, n in enumerate(in_shape)]
        g = g.reshape(shape)
    return g


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.axes = _axes(self.axis, a.ndim, "sum")
        self.in_shape = a.shape
        return xp.asarray(a.sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        xp = backend.get_array_module(g)
        g = _expand(g, self.in_shape, self.axes, self.keepdims)
        return (xp.broadcast_to(g, self.in_shape),)


class Mean(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.axes = _axes(self.axis, a.ndim, "mean")
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

    def __init__(self, axis=None, keepdims=False, smallest=False):
        self.axis, self.keepdims, self.smallest = axis, keepdims, smallest

    def forward(self, a):
        xp = backend.get_array_module(a)
        if a.size == 0:
            raise ValueError(f"max/min of an empty tensor of shape {a.shape}")
        self.axes = _axes(self.axis, a.ndim, "min" if self.smallest else "max")
        reduce = a.min if self.smallest else a.max
        y = xp.asarray(reduce(axis=self.axes, keepdims=True))
        self.a, self.y_kept = a, y
        return y if self.keepdims else y.reshape([n for i, n in enumerate(a.shape) if i not in self.axes])

    def backward(self, g):
        g = _expand(g, self.a.shape, self.axes, self.keepdims)
        hit = self.a == self.y_kept
        count = hit.sum(axis=self.axes, keepdims=True)
        return (hit * (g / count.astype(g.dtype)),)


def sum(a, axis=None, keepdims=False):  # noqa: A001
    return Sum(axis, keepdims)(a)


def mean(a, axis=None, keepdims=False):
    return Mean(axis, keepdims)(a)


def max(a, axis=None, keepdims=False):  # noqa: A001
    return Max(axis, keepdims)(a)


def min(a, axis=None, keepdims=False):  # noqa: A001
    return Max(axis, keepdims, smallest=True)(a)
