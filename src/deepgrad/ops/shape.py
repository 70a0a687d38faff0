"""Shape ops: reshape, transpose, indexing, concatenate, stack, broadcast_to."""
from .. import backend
from ..autograd import Function, Tensor, sum_to


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                f"into {tuple(self.shape)}"
            ) from None

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class Transpose(Function):
    """Permute axes (``axes=None`` reverses them, like ``ndarray.transpose``)."""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        if self.axes is None:
            self.axes = tuple(reversed(range(a.ndim)))
        elif sorted(a_ % max(a.ndim, 1) for a_ in self.axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {self.axes} are not a permutation of the "
                             f"{a.ndim} axes of a tensor of shape {a.shape}")
        return a.transpose(self.axes)

    def backward(self, g):
        xp = backend.get_array_module(g)
        inverse = xp.argsort(xp.asarray(self.axes) % g.ndim).tolist() if g.ndim else ()
        return (g.transpose(inverse),)


class GetItem(Function):
    """``a[index]`` for basic and advanced (integer array, boolean mask) indexing."""

    def __init__(self, index):
        self.index = index

    def forward(self, a):
        self.in_shape, self.in_dtype = a.shape, a.dtype
        try:
            return a[self.index]
        except IndexError as err:
            raise IndexError(f"index {self.index!r} is invalid for a tensor of shape "
                             f"{a.shape}: {err}") from None

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


class Concatenate(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        xp = backend.get_array_module(arrays[0])
        self.sizes = [a.shape[self.axis] for a in arrays]
        return xp.concatenate(arrays, axis=self.axis)

    def backward(self, g):
        xp = backend.get_array_module(g)
        bounds = list(_cumsum(self.sizes))[:-1]
        return tuple(xp.split(g, bounds, axis=self.axis))


def _cumsum(values):
    total = 0
    for v in values:
        total += v
        yield total


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        xp = backend.get_array_module(arrays[0])
        return xp.stack(arrays, axis=self.axis)

    def backward(self, g):
        xp = backend.get_array_module(g)
        return tuple(xp.moveaxis(g, self.axis, 0))


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.in_shape = a.shape
        return backend.get_array_module(a).broadcast_to(a, self.shape)

    def backward(self, g):
        return (sum_to(g, self.in_shape),)


class ToDevice(Function):
    """A copy on another device; the gradient travels back to the source device."""

    def __init__(self, device):
        self.device = device

    def forward(self, a):
        self.source = backend.device_of(a)
        return backend.to_device(a, self.device)

    def backward(self, g):
        return (backend.to_device(g, self.source),)


def to_device(a, device):
    """``a`` on ``device`` ('cpu' or 'cuda'): ``a`` itself if already there, else a copy
    that stays in the graph, as PyTorch's ``Tensor.to``."""
    if backend.normalize_device(device) == a.device:
        return a
    backend.array_module_for(device)  # a clear error for an absent device
    return ToDevice(device)(a)


def reshape(a, *shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape(shape)(a)


def transpose(a, *axes):
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return Transpose(axes or None)(a)


def swapaxes(a, axis1, axis2):
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose(tuple(axes))(a)


def getitem(a, index):
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(a)


def _check_same(name, tensors, axis, stacking):
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    first = tensors[0].shape
    for i, t in enumerate(tensors[1:], 1):
        same = t.shape == first if stacking else (
            len(t.shape) == len(first)
            and all(a == b for k, (a, b) in enumerate(zip(t.shape, first))
                    if k != axis % len(first)))
        if not same:
            raise ValueError(f"{name}: tensor {i} has shape {t.shape}, tensor 0 has "
                             f"{first}" + ("" if stacking else f" (joining on axis {axis})"))


def concatenate(tensors, axis=0):
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    _check_same("concatenate", tensors, axis, stacking=False)
    return Concatenate(axis)(*tensors)


def stack(tensors, axis=0):
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    _check_same("stack", tensors, axis, stacking=True)
    return Stack(axis)(*tensors)


def broadcast_to(a, shape):
    return BroadcastTo(shape)(a)
