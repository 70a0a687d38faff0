"""The autograd core: Tensor, the Function protocol, and the backward walk.

Tensor and Function need each other (a Function makes Tensors, a Tensor remembers the
Function that made it), so both live here; ``tensor.py`` adds the operators and methods
that call into ``ops``.

Conventions:

* A Function has one output. ``forward(*arrays)`` returns an array, ``backward(grad)``
  returns one gradient per input (``None`` where ``needs_input_grad`` is False). Each op
  saves only what its backward needs, as attributes of itself.
* Gradients are plain arrays. The engine never modifies a gradient in place and neither
  may an op; a leaf's ``.grad`` always owns its memory, so users and optimizers may.
* The walk is iterative, in decreasing rank (a heap), so deep graphs cannot overflow the
  Python stack, and each Function runs once, after all gradients for its output arrived.
* After backward the graph is freed (inputs and saved arrays dropped) unless
  ``retain_graph=True``; a second backward through a freed graph raises.
"""
import contextlib
import heapq
import itertools
import os
import traceback

from . import backend

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run a block without recording the graph (evaluation, parameter updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Record the graph inside a block, even within ``no_grad``."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


_anomaly_mode = False


class AnomalyError(FloatingPointError):
    """An op produced NaN or Inf while ``detect_anomaly()`` was on."""


@contextlib.contextmanager
def detect_anomaly():
    """Raise at the first op whose forward or backward produces NaN or Inf, naming the
    op and the line of user code that created it. Slower: every result is checked."""
    global _anomaly_mode
    previous, _anomaly_mode = _anomaly_mode, True
    try:
        yield
    finally:
        _anomaly_mode = previous


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame():
    """'file:line in function' of the innermost caller outside deepgrad itself."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "(inside deepgrad)"


def _check_finite(array, what, origin):
    xp = backend.get_array_module(array)
    if array.dtype.kind in "fc" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise AnomalyError(f"{what} produced {kind}; the op was created at {origin}")


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


class Tensor:
    """An array with an optional gradient and the Function that produced it."""

    __array_priority__ = 1000  # NumPy defers ``ndarray + Tensor`` to Tensor.__radd__
    __slots__ = ("data", "grad", "requires_grad", "creator", "rank", "_hooks", "__weakref__")

    def __init__(self, data, requires_grad=False):
        self.data = data
        self.grad = None
        self.requires_grad = requires_grad
        self.creator = None
        self.rank = 0
        self._hooks = None

    # -- basic properties -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self):
        return self.creator is None

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = repr(self.data)
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{grad})"

    # -- conversions ------------------------------------------------------------------
    def numpy(self):
        """The values as a NumPy array (copied from the GPU if needed)."""
        data = self.data
        return data.get() if hasattr(data, "get") else data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): tensor has {self.data.size} elements, expected 1")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same values, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag=True):
        if self.creator is not None and not flag:
            raise RuntimeError("requires_grad_(False) is only allowed on leaf tensors")
        self.requires_grad = flag
        return self

    def zero_grad_(self):
        self.grad = None

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
            self.grad = grad.copy() if self.grad is None else self.grad + grad

        self.register_hook(keep)

    # -- backward ---------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``.

        ``grad`` is required unless the tensor has one element (then it is 1).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): the tensor does not require grad; did you create it under "
                "no_grad() or from tensors without requires_grad=True?"
            )
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be omitted only for a single-element tensor, "
                    f"this one has shape {self.shape}; pass grad= of that shape"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = xp.array(grad, dtype=self.data.dtype, copy=True)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {grad.shape}, the tensor has {self.shape}"
                )
        run_backward(self, grad, retain_graph)


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Function:
    """One differentiable operation. Subclasses define ``forward`` and ``backward``.

    Non-tensor arguments (axis, shape, slope...) go to ``__init__``; tensors go to
    ``__call__``. Saved arrays are attributes set in ``forward``.
    """

    inputs = None
    needs_input_grad = ()
    rank = 0
    _hooks = None
    _grad = None
    _origin = None  # where in user code the op was created (kept in anomaly mode)

    def __call__(self, *inputs):
        data = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if backend._cupy is not None and len(data) > 1:  # else every array is on the CPU
            backend.check_same_device(self.name, data)
        out = Tensor(self.forward(*data))
        if _anomaly_mode:
            self._origin = _user_frame()
            _check_finite(out.data, f"the forward of {self.name}", self._origin)
        if _grad_enabled:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            if any(needs):
                self.inputs = inputs
                self.needs_input_grad = needs
                self.rank = max(x.rank for x in inputs if isinstance(x, Tensor))
                out.requires_grad = True
                out.creator = self
                out.rank = self.rank + 1
                return out
        self.release()
        return out

    @property
    def name(self):
        return type(self).__name__

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def release(self):
        """Drop inputs and saved arrays. Subclasses keep saved arrays in ``__dict__``."""
        self.__dict__.clear()


def run_backward(root, grad, retain_graph=False):
    """Propagate ``grad`` from ``root`` to every leaf that requires grad."""
    if root.creator is None:
        _accumulate_leaf(root, grad, set())
        return
    counter = itertools.count()  # tie-breaker: Functions are not comparable
    heap = []
    queued = set()
    given_to_leaves = set()  # ids of arrays already stored as some leaf's .grad

    def push(fn, g):
        if fn._grad is None:
            fn._grad = g
        else:
            fn._grad = fn._grad + g
        if id(fn) not in queued:
            queued.add(id(fn))
            heapq.heappush(heap, (-fn.rank, next(counter), fn))

    push(root.creator, grad)
    while heap:
        fn = heapq.heappop(heap)[2]
        g, fn._grad = fn._grad, None
        if fn._hooks:
            g = _run_hooks(fn._hooks, g)
        if fn.inputs is None:
            raise RuntimeError(
                f"backward through {fn.name} a second time: its graph was freed after the "
                f"first backward. Pass retain_graph=True to the first backward()."
            )
        try:
            grads = fn.backward(g)
        except Exception as err:
            if fn._origin:
                err.add_note(f"in the backward of {fn.name}, created at {fn._origin}")
            raise
        if _anomaly_mode:
            for gx in grads:
                if gx is not None:
                    _check_finite(gx, f"the backward of {fn.name}", fn._origin)
        for x, gx in zip(fn.inputs, grads):
            if gx is None or not isinstance(x, Tensor) or not x.requires_grad:
                continue
            if x.creator is None:
                _accumulate_leaf(x, gx, given_to_leaves)
            else:
                push(x.creator, gx)
        if not retain_graph:
            fn.release()


def _run_hooks(hooks, grad):
    for hook in list(hooks):
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced.data if isinstance(replaced, Tensor) else replaced
    return grad


def _accumulate_leaf(leaf, grad, given_to_leaves):
    if grad.shape != leaf.shape:  # an op's backward is wrong: fail loudly, here
        raise RuntimeError(
            f"internal error: gradient of shape {grad.shape} for a tensor of shape "
            f"{leaf.shape}"
        )
    if leaf._hooks:
        grad = _run_hooks(leaf._hooks, grad)
    if leaf.grad is None:
        # The leaf must own its gradient: the same array may also be another leaf's
        # gradient, or a view of an array the graph still uses.
        if id(grad) in given_to_leaves or not grad.flags.owndata:
            grad = grad.copy()
        if grad.dtype != leaf.dtype:
            grad = grad.astype(leaf.dtype)
        given_to_leaves.add(id(grad))
        leaf.grad = grad
    else:
        leaf.grad = leaf.grad + grad
