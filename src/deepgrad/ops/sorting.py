"""Sorting and running sums: sort, argsort, topk, cumsum. The sorted values are a gather
of the input, so their gradient goes back to the elements they came from."""
import collections

from .. import backend
from ..autograd import Function, Tensor
from ..checks import check_bool_arg, check_int_arg
from .shape import _dim, gather

SortResult = collections.namedtuple("sort", ["values", "indices"])
TopkResult = collections.namedtuple("topk", ["values", "indices"])


def argsort(a, dim=-1, descending=False, stable=False):
    """Indices that sort ``a`` along ``dim`` (int64); ties keep their order."""
    xp = backend.get_array_module(a._data)
    d = _dim(dim, a.ndim, "argsort")
    check_bool_arg("sort", "descending", descending)
    keys = -a._data if descending and a.dtype.kind != "b" else a._data
    if not a.ndim:
        order = xp.zeros((), xp.int64)
    elif descending and a.dtype.kind == "f" and xp.isnan(a._data).any():
        # PyTorch counts NaN as the largest value: first when descending. Sort by value,
        # then (stably) by "is a number", so the NaNs come first in their order.
        order = xp.argsort(keys, axis=d, kind="stable")
        numbers = xp.take_along_axis(~xp.isnan(a._data), order, axis=d).astype(xp.int8)
        order = xp.take_along_axis(order, xp.argsort(numbers, axis=d, kind="stable"), axis=d)
    else:
        order = xp.argsort(keys, axis=d, kind="stable")
    if descending and a.dtype.kind == "b":
        order = xp.flip(xp.argsort(a._data, axis=d, kind="stable"), axis=d)
    return Tensor(order.astype(xp.int64))


def sort(a, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``a`` sorted along ``dim``."""
    indices = argsort(a, dim, descending)
    return SortResult(gather(a, dim, indices) if a.ndim else a, indices)


def topk(a, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``."""
    d = _dim(dim, a.ndim, "topk")
    check_int_arg("topk", "k", k)
    check_bool_arg("topk", "largest", largest)
    check_bool_arg("topk", "sorted", sorted)
    if not 0 <= k <= (a.shape[d] if a.ndim else 1):
        raise RuntimeError(f"topk: k={k} is out of range for dim {dim} of size "
                           f"{a.shape[d] if a.ndim else 1}")
    order = argsort(a, d, descending=largest)._data
    xp = backend.get_array_module(order)
    indices = Tensor(xp.take(order, xp.arange(k), axis=d))
    return TopkResult(gather(a, d, indices), indices)


class Cumsum(Function):
    saves_inputs = False

    def __init__(self, dim):
        self.dim = dim

    def forward(self, a):
        return backend.get_array_module(a).cumsum(a, axis=self.dim)

    def backward(self, g):
        xp = backend.get_array_module(g)
        return (xp.flip(xp.cumsum(xp.flip(g, self.dim), axis=self.dim), self.dim),)


def cumsum(a, dim, dtype=None):
    """The running sum along ``dim``; integer inputs sum in int64 (as in PyTorch)."""
    if dtype is not None:
        a = a.to(dtype)
    elif a.dtype.kind in "biu":
        a = a.long()
    return Cumsum(_dim(dim, a.ndim, "cumsum"))(a)
