"""Indexing ops: ``a[index]`` (``GetItem``, basic and advanced indexing), ``a[index] =
value`` as a new tensor in the graph (``SetItem``) and PyTorch's ``gather``
(``Gather``); their backward puts the gradient back where it was read (accumulating
where an index repeats) or written, and ``_plain_index`` turns Tensors inside an index
into arrays. ``shape.py`` re-exports these names (its ``split`` slices with ``GetItem``).
"""
from .. import backend
from ..autograd import Function, Tensor, sum_to
from ..checks import check_index
from .dims import _dim


class GetItem(Function):
    """``a[index]`` for basic and advanced (integer array, boolean mask) indexing."""

    saves_inputs = False
    saves = ("index", "in_shape", "in_dtype")

    def __init__(self, index):
        self.index = index
        self.is_view = _is_basic(index)  # NumPy returns a view for basic indexing

    def forward(self, a):
        self.in_shape, self.in_dtype = a.shape, a.dtype
        try:
            return a[self.index]
        except IndexError as err:
            raise IndexError(f"index {self.index!r} is invalid for a tensor of shape "
                             f"{tuple(a.shape)}: {err}") from None

    def backward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros(self.in_shape, dtype=g.dtype)
        index = self.index
        if _is_basic(index):
            out[index] = g  # basic indexing selects each element at most once
        else:  # repeated integer indices must accumulate
            xp.add.at(out, _index_on_device(index, backend.device_of(g)), g)
        return (out,)


def _index_on_device(index, device):
    """Index arrays moved to the gradient's device (CuPy's add.at refuses host arrays)."""
    if isinstance(index, tuple):
        return tuple(_index_on_device(item, device) for item in index)
    if hasattr(index, "shape") and getattr(index, "ndim", 0) > 0:
        return backend.to_device(index, device)
    return index


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in items)


class SetItem(Function):
    """``a[index] = value`` as a new array: the gradient of ``a`` is zero where it was
    overwritten, ``value`` gets the gradient of the places it was written to."""

    saves_inputs = False
    saves = ("index", "value_shape")

    def __init__(self, index):
        self.index = index

    def forward(self, a, value):
        self.value_shape = getattr(value, "shape", ())
        out = a.copy()
        out[self.index] = value
        return out

    def backward(self, g):
        na, nv = self.needs_input_grad
        ga = gv = None
        if na:
            ga = g.copy()
            ga[self.index] = 0
        if nv:
            gv = sum_to(g[self.index], self.value_shape)
        return ga, gv


class Gather(Function):
    """``out[i][j] = a[i][index[i][j]]`` along ``dim`` (PyTorch's ``gather``)."""

    saves_inputs = False
    saves = ("index", "shape")

    def __init__(self, dim, index):
        self.dim, self.index = dim, index

    def forward(self, a):
        self.shape = a.shape
        # PyTorch reads only the part of the input the index covers in the other dims
        # (NumPy would broadcast the index over all of it)
        part = tuple(slice(None) if k == self.dim else slice(0, n)
                     for k, n in enumerate(self.index.shape))
        return backend.get_array_module(a).take_along_axis(a[part], self.index,
                                                           axis=self.dim)

    def backward(self, g):
        xp = backend.get_array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        grid = list(xp.indices(self.index.shape, sparse=True))
        grid[self.dim] = self.index
        xp.add.at(out, tuple(grid), g)  # an index may repeat: accumulate
        return (out,)


def gather(a, dim, index):
    """Pick along ``dim`` by ``index`` (an int64 tensor of ``a``'s number of dims):
    ``out[i][j] = a[index[i][j]][j]`` for ``dim=0``, as ``torch.gather``."""
    d = _dim(dim, a.ndim, "gather")
    index = check_index("gather", index, a.shape[d] if a.ndim else 1, d)
    if index.ndim != a.ndim:
        raise RuntimeError(f"gather: index has {index.ndim} dims and the input {a.ndim}; "
                           f"they must have the same number of dimensions")
    for k, (n, m) in enumerate(zip(index.shape, a.shape)):
        if k != d and n > m:
            raise RuntimeError(f"gather: index of shape {tuple(index.shape)} is larger than "
                               f"the input {tuple(a.shape)} in dim {k}")
    return Gather(d, index)(a)


def setitem(a, index, value):
    """``a`` with ``a[index] = value`` as a new tensor in the graph."""
    return SetItem(_plain_index(index))(a, value)


def _plain_index(index):
    """An index with Tensors replaced by their arrays (masks and integer tensors)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def getitem(a, index):
    return GetItem(_plain_index(index))(a)
