"""The Tensor: an array with the autograd record (``requires_grad``, the Function that
made it, hooks), ``Size`` and ``sum_to``.

Layering: this module needs no Function to be defined (a Tensor only refers to its
creator); ``function.py`` (the Function protocol) and ``gradients.py`` (``grad()``)
import ``Tensor`` from here, and ``autograd.py`` gathers them all into the namespace
``deepgrad.autograd``, importing nothing back. ``tensor_methods.py`` adds the operators
and methods that call into ``ops``, ``engine.py`` holds the backward walk,
``grad_mode.py`` the switches (``no_grad``, ``detect_anomaly``), and ``function_ctx.py``
Functions written in PyTorch's protocol.

Conventions:

* A Function has one output. ``forward(*arrays)`` returns an array, ``backward(grad)``
  returns one gradient per input (``None`` where ``needs_input_grad`` is False). Each op
  saves only what its backward needs, as attributes of itself.
* Gradients are plain arrays. The engine never modifies a gradient in place and neither
  may an op; a leaf's ``.grad`` always owns its memory, so users and optimizers may.
* The walk is iterative, in decreasing generation (the graph depth), so deep graphs
  cannot overflow the Python stack, and each Function runs once, after all gradients for
  its output arrived.
* After backward the graph is freed (inputs and saved arrays dropped) unless
  ``retain_graph=True``; a second backward through a freed graph raises.
"""
from . import backend
from .engine import run_backward


def sum_to(grad, shape):
    """Undo broadcasting: sum ``grad`` down to ``shape``. The one place this is done."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        out = out.reshape(shape)
    return out


_ndarray = backend.np.ndarray


class Tensor:
    """An array with an optional gradient and the Function that produced it.

    The array itself is private (``_data``, and ``_grad`` for the gradient): users see
    ``.data`` and ``.grad`` as Tensors, as in PyTorch, while the framework's hot paths
    work on the arrays. ``Tensor(array)`` wraps an array without copying; given Python
    data (``Tensor([1, 2])``) or sizes (``Tensor(2, 3)``) it builds a float32 tensor, as
    ``torch.Tensor`` does.
    """

    __array_priority__ = 1000  # NumPy defers ``ndarray + Tensor`` to Tensor.__radd__
    __slots__ = ("_data", "_grad", "requires_grad", "creator", "generation", "_hooks",
                 "_version_box", "_base", "__weakref__")

    def __init__(self, data=(), requires_grad=False, *more_sizes):
        if type(data) is not _ndarray and not backend.is_array(data):
            if isinstance(data, backend.np.generic):  # a NumPy scalar: keep its dtype
                data = backend.np.asarray(data)
            else:
                data, requires_grad = _from_python(data, requires_grad, more_sizes), False
        self._data = data
        self._grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.generation = 0  # the graph depth: 1 + the deepest input's
        self._hooks = None
        # In-place operations bump the version; views share their base's box, so that
        # backward can tell when an array it saved was overwritten (PyTorch's counter).
        self._version_box = [0]
        self._base = None

    # -- basic properties -------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def device(self):
        return backend.device(backend.device_of(self._data))

    @property
    def is_leaf(self):
        return self.creator is None

    @property
    def grad_fn(self):
        """The Function that made this tensor (None for a leaf), as PyTorch's ``grad_fn``."""
        return self.creator

    @property
    def _version(self):
        return self._version_box[0]

    @property
    def data(self):
        """The same memory as a Tensor outside the graph (changes through it are not
        tracked by autograd, as in PyTorch)."""
        return Tensor(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got "
                            f"{type(value).__name__}; wrap it with deepgrad.tensor(...)")
        self._data = value._data

    @property
    def grad(self):
        """The accumulated gradient as a Tensor sharing its memory, or None."""
        return None if self._grad is None else Tensor(self._grad)

    @grad.setter
    def grad(self, value):
        if value is None:
            self._grad = None
            return
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.grad must be a Tensor or None, got {type(value).__name__}")
        if value.shape != self.shape:
            raise RuntimeError(f"assigned grad has shape {tuple(value.shape)}, the tensor "
                               f"has {tuple(self.shape)}")
        if value.dtype != self.dtype:
            raise RuntimeError(f"assigned grad has dtype {value.dtype}, the tensor has "
                               f"{self.dtype}")
        self._grad = value._data

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    # -- backward ---------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``.

        ``gradient`` is required unless the tensor has one element (then it is 1).
        """
        if create_graph:
            raise NotImplementedError(
                "backward(create_graph=True): deepgrad does not build graphs of the "
                "backward pass (no higher-order gradients); use a float64 numerical "
                "gradient (deepgrad.diagnostics.gradcheck) where you need them")
        if inputs is not None:
            raise NotImplementedError("backward(inputs=...) is not supported: call "
                                      "backward() and read the .grad you need")
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): the tensor does not require grad; did you create it under "
                "no_grad() or from tensors without requires_grad=True?"
            )
        xp = backend.get_array_module(self._data)
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be omitted only for a single-element tensor, "
                    f"this one has shape {tuple(self.shape)}; pass gradient= of that shape"
                )
            gradient = xp.ones_like(self._data)
        else:
            gradient = gradient._data if isinstance(gradient, Tensor) else gradient
            gradient = xp.array(gradient, dtype=self._data.dtype, copy=True)
            if gradient.shape != self._data.shape:
                raise ValueError(f"backward(): gradient has shape {tuple(gradient.shape)}, the "
                                 f"tensor has {tuple(self.shape)}")
        run_backward(self, gradient, bool(retain_graph))

    def requires_grad_(self, requires_grad=True):
        if self.creator is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) is only allowed on leaf tensors; "
                               "use detach() to cut a tensor from the graph")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad_(): only floating-point tensors can "
                               f"require grad, this one has dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def detach(self):
        """The same memory, cut from the graph (sharing the version counter)."""
        out = Tensor(self._data)
        out._version_box = self._version_box
        return out

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        A hook may return a replacement gradient (or None to keep it). Returns a handle
        with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        owner = self.creator if self.creator is not None else self
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return _HookHandle(owner._hooks, hook)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if self.creator is None:
            return

        def keep(grad):
            # A copy: the engine's array may be a read-only broadcast view, or the very
            # array that goes on to become a leaf's .grad.
            self._grad = grad.copy() if self._grad is None else self._grad + grad

        self.register_hook(keep)


class Size(tuple):
    """A tensor's shape: a tuple of ints, as ``torch.Size``."""

    __slots__ = ()

    def numel(self):
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self):
        return f"deepgrad.Size({list(self)})"


def _from_python(data, second, more):
    """``Tensor([...])`` or ``Tensor(*sizes)``: what ``torch.Tensor(...)`` builds."""
    np = backend.np
    if isinstance(data, int) and not isinstance(data, bool):
        sizes = (data,) + ((second,) if second is not False else ()) + tuple(more)
        if not all(isinstance(s, int) and s >= 0 for s in sizes):
            raise TypeError(f"Tensor(*sizes): sizes must be non-negative ints, got {sizes}")
        return np.zeros(sizes, dtype=backend.default_dtype)
    if second is not False or more:
        raise TypeError("Tensor(data) takes one argument; use deepgrad.tensor(data, "
                        "requires_grad=True) for a tensor that requires grad")
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (float, bool)):
        raise TypeError(f"Tensor(): data must be a sequence, got {type(data).__name__}; "
                        f"use deepgrad.tensor({data!r}) for a 0-d tensor")
    if hasattr(data, "__array__") or hasattr(data, "dtype"):
        return np.asarray(data).astype(backend.default_dtype)
    try:
        array = np.asarray(data, dtype=backend.default_dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"Tensor(): cannot make a float tensor from {type(data).__name__}: "
                        f"{err}") from None
    return array


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

