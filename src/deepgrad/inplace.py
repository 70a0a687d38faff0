"""In-place operations (``add_``, ``x += y``, ``x[i] = v``, ...): they write into the
tensor's own memory, as PyTorch's do, so every view and every name for it sees the
change. Their autograd rules are PyTorch's too:

* in place on a leaf that requires grad is refused while grad mode is on (the update
  belongs under ``no_grad()``);
* on a tensor in the graph, the tensor takes the in-place op as its new creator, the
  old value going on as the op's input;
* each in-place change bumps the tensor's version (shared with its views); backward
  refuses to use an array that an op saved and that was changed since.
"""
import numpy as np

from . import backend, ops
from .autograd import Tensor, is_grad_enabled, no_grad
from .ops import shape


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
    from .checks import check_value
    check_value("fill_", "value", value)
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
