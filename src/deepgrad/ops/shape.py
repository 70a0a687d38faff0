"""Shape ops: reshape and view, transpose and permute, flatten and squeeze, expand,
broadcast_to and repeat, and joining and splitting (cat, stack, split, chunk).

Indexing (``getitem``, ``setitem``, ``gather``) lives in ``indexing.py``, the copies
(``to_device``, ``clone``) in ``copying.py`` and the dim and size arguments in
``dims.py``; their names are re-exported here, where callers (``tensor_methods``,
``inplace``, ``sorting``, ``ops/__init__``) have always found them.
"""
from .. import backend
from ..autograd import Function, Tensor, sum_to
from .copying import Copy, ToDevice, clone, to_device  # noqa: F401 - re-exported
from .dims import _dim, _sizes
from .indexing import (Gather, GetItem, SetItem, _plain_index, gather,  # noqa: F401
                       getitem, setitem)


class Reshape(Function):
    saves_inputs, is_view = False, True
    saves = ("in_shape",)

    def __init__(self, shape, who="reshape"):
        self.shape, self.who = shape, who

    def forward(self, a):
        self.in_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"{self.who}: cannot reshape a tensor of shape {tuple(a.shape)} ({a.size} elements) "
                f"into {tuple(self.shape)}"
            ) from None

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class Transpose(Function):
    """Permute axes (``axes=None`` reverses them, like ``ndarray.transpose``)."""

    saves_inputs, is_view = False, True
    saves = ("axes",)

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, a):
        if self.axes is None:
            self.axes = tuple(reversed(range(a.ndim)))
        elif sorted(a_ % max(a.ndim, 1) for a_ in self.axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {self.axes} are not a permutation of the "
                             f"{a.ndim} axes of a tensor of shape {tuple(a.shape)}")
        return a.transpose(self.axes)

    def backward(self, g):
        xp = backend.get_array_module(g)
        inverse = xp.argsort(xp.asarray(self.axes) % g.ndim).tolist() if g.ndim else ()
        return (g.transpose(inverse),)


class Concatenate(Function):
    saves_inputs = False
    saves = ("sizes",)

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
    saves_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        xp = backend.get_array_module(arrays[0])
        return xp.stack(arrays, axis=self.axis)

    def backward(self, g):
        xp = backend.get_array_module(g)
        return tuple(xp.moveaxis(g, self.axis, 0))


class BroadcastTo(Function):
    saves_inputs, is_view = False, True
    saves = ("in_shape",)

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, a):
        self.in_shape = a.shape
        return backend.get_array_module(a).broadcast_to(a, self.shape)

    def backward(self, g):
        return (sum_to(g, self.in_shape),)


class Tile(Function):
    """``a`` repeated ``reps[i]`` times along each dim; the gradient sums the copies."""

    saves_inputs = False
    saves = ("in_shape", "shape")

    def __init__(self, reps):
        self.reps = reps

    def forward(self, a):
        self.in_shape = a.shape
        self.shape = (1,) * (len(self.reps) - a.ndim) + a.shape
        return backend.get_array_module(a).tile(a.reshape(self.shape), self.reps)

    def backward(self, g):
        split = [n for pair in zip(self.reps, self.shape) for n in pair]  # (r0, n0, r1, ...)
        summed = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed.reshape(self.in_shape),)


def _new_shape(shape, who):
    """A target shape: ints, at most one of them -1 (inferred), none below -1."""
    shape = _sizes(shape, who)
    if any(n < -1 for n in shape) or shape.count(-1) > 1:
        raise ValueError(f"{who}: shape {shape} is invalid: sizes must be >= 0, with at "
                         f"most one -1 (inferred)")
    return shape


def reshape(a, *shape):
    """The same elements in a new shape (one size may be -1); a view when it can be."""
    return Reshape(_new_shape(shape, "reshape"), "reshape")(a)


def view(a, *shape):
    """``reshape`` that never copies: a strided view is refused (PyTorch's ``view`` needs
    compatible strides). Layers may keep their outputs in another memory order (a
    convolution's is channels-last); those are contiguous tensors to the user."""
    shape = _new_shape(shape, "view")
    data = a._data
    if not (data.flags.c_contiguous or data.ndim <= 1):
        if a._base is not None:
            raise RuntimeError(f"view: the tensor of shape {tuple(a.shape)} is a strided "
                               f"view (transposed, expanded or sliced with steps); use "
                               f".reshape(...) or .contiguous().view(...)")
        # A layer's output in its own memory order: move it to row-major once, in
        # place, so that the view shares its memory as PyTorch's does.
        a._data = backend.get_array_module(data).ascontiguousarray(data)
    return Reshape(shape, "view")(a)


def permute(a, *dims):
    """Reorder the dimensions: ``permute(a, 1, 0)`` is the transpose of a matrix."""
    dims = _sizes(dims, "permute")
    if len(dims) != a.ndim:
        raise RuntimeError(f"permute: got {len(dims)} dims for a tensor with {a.ndim} "
                           f"dimensions")
    dims = tuple(_dim(d, a.ndim, "permute") for d in dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"permute: dims must be a permutation of the {a.ndim} dims (as "
                         f"transpose takes them), got {dims}")
    return Transpose(dims)(a)


def transpose(a, dim0=None, dim1=None):
    """Swap two dims (PyTorch's ``transpose(dim0, dim1)``); for a tensor of 2 or fewer
    dims both may be left out (``t()``)."""
    if dim0 is None and dim1 is None:
        if a.ndim > 2:
            raise RuntimeError(f"t(): expects a tensor with <= 2 dimensions, got {a.ndim}; "
                               f"use transpose(dim0, dim1) or permute(...)")
        return Transpose(None)(a)
    axes = list(range(a.ndim))
    i, j = _dim(dim0, a.ndim, "transpose"), _dim(dim1, a.ndim, "transpose")
    if a.ndim == 0:
        return a
    axes[i], axes[j] = axes[j], axes[i]
    return Transpose(tuple(axes))(a)


swapaxes = transpose


def flatten(a, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim`` to ``end_dim`` into one."""
    if a.ndim == 0:
        return Reshape((1,))(a)
    s, e = _dim(start_dim, a.ndim, "flatten"), _dim(end_dim, a.ndim, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = a.shape
    return Reshape(tuple(shape[:s]) + (-1 if 0 not in shape[s:e + 1] else 0,)
                   + tuple(shape[e + 1:]))(a)


def unflatten(a, dim, sizes):
    d = _dim(dim, a.ndim, "unflatten")
    sizes = _new_shape((tuple(sizes),), "unflatten")
    known = 1
    for n in sizes:
        known *= n if n != -1 else 1
    if (known != a.shape[d]) if -1 not in sizes else (known == 0 or a.shape[d] % known):
        raise RuntimeError(f"unflatten: sizes {sizes} do not make up dim {d} of size "
                           f"{a.shape[d]} (tensor shape {tuple(a.shape)})")
    return Reshape(tuple(a.shape[:d]) + sizes + tuple(a.shape[d + 1:]), "unflatten")(a)


def squeeze(a, dim=None):
    """Drop dims of size 1 (only ``dim``, or a tuple of dims, if given)."""
    if dim is None:
        dims = [i for i, n in enumerate(a.shape) if n == 1]
    else:
        given = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = [d for d in (_dim(g, a.ndim, "squeeze") for g in given) if a.shape[d] == 1]
    return Reshape(tuple(n for i, n in enumerate(a.shape) if i not in dims))(a)


def unsqueeze(a, dim):
    """Insert a dimension of size 1 at ``dim``."""
    d = _dim(dim, a.ndim + 1, "unsqueeze")
    return Reshape(tuple(a.shape[:d]) + (1,) + tuple(a.shape[d:]))(a)


def expand(a, *sizes):
    """A broadcast view to ``sizes`` (-1 keeps a dim), as PyTorch's ``expand``."""
    sizes = _sizes(sizes, "expand")
    lead = len(sizes) - a.ndim
    if lead < 0:
        raise RuntimeError(f"expand: {len(sizes)} sizes for a tensor with {a.ndim} dims")
    shape = tuple(a.shape[i - lead] if (n == -1 and i >= lead) else n
                  for i, n in enumerate(sizes))
    if any(n < 0 for n in shape):
        raise RuntimeError(f"expand: sizes {sizes} are invalid for a tensor of shape "
                           f"{tuple(a.shape)} (-1 keeps a dim; new leading dims need a "
                           f"size >= 0)")
    for i, n in enumerate(a.shape):
        if n != 1 and n != shape[i + lead]:
            raise RuntimeError(f"expand: the size of dim {i} ({n}) must match the new size "
                               f"{shape[i + lead]} or be 1; tensor shape {tuple(a.shape)}, "
                               f"sizes {sizes}")
    return BroadcastTo(shape)(a)


def repeat(a, *sizes):
    """Tile ``a`` ``sizes[i]`` times along each dim (PyTorch's ``repeat``)."""
    sizes = _sizes(sizes, "repeat")
    if len(sizes) < a.ndim:
        raise RuntimeError(f"repeat: {len(sizes)} repeat counts for a tensor with {a.ndim} "
                           f"dims; give at least one per dim")
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"repeat: repeat counts must be >= 0, got {sizes}")
    return Tile(sizes)(a)


def split(a, split_size_or_sections, dim=0):
    """Split along ``dim`` into pieces of ``split_size_or_sections`` (an int: equal
    pieces, the last smaller; a list: those sizes)."""
    d = _dim(dim, a.ndim, "split")
    n = a.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections < 0 or split_size_or_sections == 0 and n:
            raise RuntimeError(f"split: split_size must be positive (0 only for an empty "
                               f"dim), got {split_size_or_sections}")
        if split_size_or_sections == 0:
            return (GetItem((slice(None),) * d + (slice(0, 0),))(a),)
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} do not add up to {n}, the size of "
                               f"dim {dim}")
    out, start = [], 0
    for size in sizes:
        index = (slice(None),) * d + (slice(start, start + size),)
        out.append(GetItem(index)(a))
        start += size
    return tuple(out)


def chunk(a, chunks, dim=0):
    """Split along ``dim`` into ``chunks`` pieces of ``ceil(n / chunks)`` (the last smaller;
    fewer pieces when n is small), as ``torch.chunk``."""
    n = a.shape[_dim(dim, a.ndim, "chunk")]
    if isinstance(chunks, bool) or not isinstance(chunks, int) or chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be a positive int, got {chunks!r}")
    return split(a, max(1, -(-n // chunks)), dim)


def _check_same(name, tensors, axis, stacking):
    if not tensors:
        raise ValueError(f"{name}: needs at least one tensor")
    first = tuple(tensors[0].shape)
    for i, t in enumerate(tensors[1:], 1):
        same = t.shape == first if stacking else (
            len(t.shape) == len(first)
            and all(a == b for k, (a, b) in enumerate(zip(t.shape, first))
                    if k != axis % len(first)))
        if not same:
            raise ValueError(f"{name}: tensor {i} has shape {tuple(t.shape)}, tensor 0 has "
                             f"{first}" + ("" if stacking else f" (joining on axis {axis})"))


def _joinable(name, tensors):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}: expects a list or tuple of tensors, got one Tensor")
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}: expects a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) and not backend.is_array(t):
            raise TypeError(f"{name}: expected Tensors, got a {type(t).__name__} as "
                            f"tensor {i}")
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if len({t.dtype for t in tensors}) > 1:
        from .arithmetic import to_dtype
        from .promotion import result_type
        common = tensors[0]._data
        for t in tensors[1:]:
            common = backend.np.empty((), result_type(common, t._data))
        tensors = [to_dtype(t, common.dtype) for t in tensors]
    return tensors


def concatenate(tensors, dim=0, *, axis=None):
    """Join tensors along an existing dim (PyTorch's ``cat``; ``axis`` is an alias)."""
    dim = axis if axis is not None else dim
    tensors = _joinable("cat", tensors)
    if tensors:
        dim = _dim(dim, tensors[0].ndim, "cat")
    _check_same("cat", tensors, dim, stacking=False)
    return Concatenate(dim)(*tensors)


cat = concatenate


def stack(tensors, dim=0, *, axis=None):
    """Join tensors of one shape along a new dim."""
    dim = axis if axis is not None else dim
    tensors = _joinable("stack", tensors)
    if tensors:
        dim = _dim(dim, tensors[0].ndim + 1, "stack")
    _check_same("stack", tensors, dim, stacking=True)
    return Stack(dim)(*tensors)


def broadcast_to(a, shape):
    return BroadcastTo(shape)(a)
