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


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Turn recording on or off: as a call (``set_grad_enabled(False)``) until changed
    again, or for a ``with`` block, after which the previous mode returns."""

    def __init__(self, mode):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous


def inference_mode(mode=True):
    """PyTorch's faster ``no_grad`` for evaluation; here the same as ``no_grad()``."""
    return set_grad_enabled(not mode)


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
    __slots__ = ("_data", "_grad", "requires_grad", "creator", "rank", "_hooks",
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
        self.rank = 0
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


class Function:
    """One differentiable operation. Subclasses define ``forward`` and ``backward``.

    Non-tensor arguments (axis, shape, slope...) go to ``__init__``; tensors go to
    ``__call__``. Saved arrays are attributes set in ``forward``. Three class flags tell
    the engine what an op keeps, so that in-place changes are caught or allowed as in
    PyTorch: ``saves_inputs`` (backward reads the input arrays), ``saves_output``
    (backward reads the output array) and ``is_view`` (the output shares the first
    input's memory, so the two share one version counter).

    User code writes Functions in PyTorch's protocol instead (static ``forward(ctx,
    ...)`` and ``backward(ctx, grad)``, called through ``apply``): see :meth:`apply`.
    """

    inputs = None
    input_creators = ()
    needs_input_grad = ()
    rank = 0
    _hooks = None
    _grad = None
    _origin = None  # where in user code the op was created (kept in anomaly mode)
    _versions = None  # (input index or -1 for the output, version box, version, shape)
    saves_inputs = True
    saves_output = False
    is_view = False

    def __call__(self, *inputs):
        data = [x._data if isinstance(x, Tensor) else x for x in inputs]
        if backend._cupy is not None and len(data) > 1:  # else every array is on the CPU
            backend.check_same_device(self.name, data)
        out = Tensor(self.forward(*data))
        if self.is_view:
            source = inputs[0]
            out._version_box = source._version_box
            out._base = source if source._base is None else source._base
        if _anomaly_mode:
            self._origin = _user_frame()
            _check_finite(out._data, f"the forward of {self.name}", self._origin)
        if _grad_enabled:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            if True in needs:
                self._link(inputs, needs, out)
                saved = self.saves_inputs
                if saved or self.saves_output:
                    self._versions = _versions_of(
                        inputs if saved is True else _saved_inputs(saved, inputs, needs),
                        out if self.saves_output else None)
                return out
        self.release()
        return out

    def _link(self, inputs, needs, out):
        """Make this Function ``out``'s creator. Each input's creator is recorded now: an
        in-place op may later give that tensor a new creator, which must not change
        where this Function's gradient goes."""
        self.inputs = inputs
        self.input_creators = tuple(
            x.creator if isinstance(x, Tensor) else None for x in inputs)
        self.needs_input_grad = needs
        self.rank = max([x.rank for x in inputs if isinstance(x, Tensor)])
        out.requires_grad, out.creator, out.rank = True, self, self.rank + 1


    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name} backward>"

    @property
    def next_functions(self):
        """For each input: the node its gradient goes to next (``(node, 0)``), as
        PyTorch's ``grad_fn.next_functions``; ``(None, 0)`` for inputs without grad."""
        return tuple((_node_of(x, node, needed), 0) for x, node, needed in
                     zip(self.inputs or (), self.input_creators, self.needs_input_grad))

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def release(self):
        """Drop inputs and saved arrays. Subclasses keep saved arrays in ``__dict__``."""
        self.__dict__.clear()

    @classmethod
    def apply(cls, *args):
        """Run a Function written in PyTorch's protocol::

            class Cube(dg.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    ctx.save_for_backward(x)
                    return x ** 3

                @staticmethod
                def backward(ctx, grad):
                    x, = ctx.saved_tensors
                    return 3 * x ** 2 * grad

            y = Cube.apply(x)

        ``forward`` and ``backward`` see Tensors and run without recording a graph.
        """
        return FunctionCtx(cls)(*args)


class AccumulateGrad:
    """The node a leaf's gradient ends in (``next_functions`` shows it, as PyTorch)."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def __repr__(self):
        return "<AccumulateGrad>"


def _node_of(x, creator, needed):
    if not needed:
        return None
    return creator if creator is not None else AccumulateGrad(x)


def _saved_inputs(rule, inputs, needs):
    """The inputs whose arrays backward will read: all (``True``), or with ``"others"``
    (a product's rule: each factor is needed for the other's gradient) those whose
    partners need a gradient."""
    if rule != "others":
        return inputs
    return [x if any(n for j, n in enumerate(needs) if j != i) else None
            for i, x in enumerate(inputs)]


def _versions_of(inputs, output):
    saved = [(i, box, box[0], x._data.shape) for i, x in enumerate(inputs)
             if isinstance(x, Tensor) for box in (x._version_box,)]
    if output is not None:
        saved.append((-1, output._version_box, output._version_box[0], output._data.shape))
    return saved


def _check_versions(fn):
    for index, box, version, shape in fn._versions:
        if box[0] != version:
            what = "its output" if index < 0 else f"its input {index}"
            raise RuntimeError(
                f"backward of {fn.name}: {what} (shape {tuple(shape)}), which it saved for "
                f"the gradient, was modified by an in-place operation: it is at version "
                f"{box[0]}, expected version {version}. Use an out-of-place operation "
                f"(x = x + y instead of x += y) or .clone() the tensor before changing it.")


class FunctionCtx(Function):
    """The graph node of a user's Function and the ``ctx`` its forward and backward
    receive: ``save_for_backward``, ``saved_tensors``, ``needs_input_grad``, and any
    attribute the user sets on it."""

    saves_inputs = False  # only what save_for_backward names is checked

    def __init__(self, function_class):
        self.function_class = function_class
        self.saved = ()

    @property
    def name(self):
        return self.function_class.__name__

    def __call__(self, *args):
        self.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = self.function_class.forward(self, *args)
        if isinstance(result, (tuple, list)):
            raise NotImplementedError(
                f"{self.name}.forward returned {len(result)} outputs; deepgrad's "
                f"Functions have one output tensor: split it into one Function per output")
        if not isinstance(result, Tensor):
            raise TypeError(f"{self.name}.forward must return a Tensor, got "
                            f"{type(result).__name__}")
        out = Tensor(result._data)
        if _grad_enabled and any(self.needs_input_grad):
            self._link(args, self.needs_input_grad, out)
            self._versions = _versions_of(self.saved, None)
        return out

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self.name}: save_for_backward takes tensors (or None), "
                                f"got {type(t).__name__}; keep other values as ctx "
                                f"attributes")
        self.saved = tensors

    @property
    def saved_tensors(self):
        return self.saved

    def mark_non_differentiable(self, *tensors):
        pass  # one output, always differentiable: nothing to record

    def set_materialize_grads(self, value):
        pass  # the one output's gradient is always an array

    def backward(self, grad):
        with no_grad():
            grads = self.function_class.backward(self, Tensor(grad))
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) < len(self.inputs):
            raise RuntimeError(f"{self.name}.backward returned {len(grads)} gradients, "
                               f"forward took {len(self.inputs)} inputs (return None for "
                               f"an input without a gradient)")
        arrays = []
        for i, (x, g) in enumerate(zip(self.inputs, grads)):
            if g is None or not isinstance(x, Tensor) or not x.requires_grad:
                arrays.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"{self.name}.backward: gradient {i} must be a Tensor or "
                                f"None, got {type(g).__name__}")
            if g.shape != x.shape:
                raise RuntimeError(f"{self.name}.backward: gradient {i} has shape "
                                   f"{tuple(g.shape)}, its input has {tuple(x.shape)}")
            arrays.append(g._data)
        return arrays


def run_backward(root, grad, retain_graph=False, captured=None):
    """Propagate ``grad`` from ``root`` to every leaf that requires grad.

    With ``captured`` (a dict from tensor ids to None, see :func:`grad`), the gradients
    of those tensors are stored in it instead, and no ``.grad`` changes."""
    if captured is not None:
        creators = {id(t.creator): key for key, t in captured.items() if t.creator is not None}
    if root.creator is None:
        if captured is None:
            _accumulate_leaf(root, grad, set())
        elif id(root) in captured:
            _capture(captured, id(root), grad)
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
        if captured is not None and id(fn) in creators:
            _capture(captured, creators[id(fn)], g)
        if fn._versions:
            _check_versions(fn)
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
        for x, node, needed, gx in zip(fn.inputs, fn.input_creators, fn.needs_input_grad,
                                       grads):
            if gx is None or not needed:
                continue
            if node is None:
                if captured is None:
                    _accumulate_leaf(x, gx, given_to_leaves)
                elif id(x) in captured:
                    _capture(captured, id(x), gx)
            else:
                push(node, gx)
        if not retain_graph:
            fn.release()


class _Captured(dict):
    """Tensors whose gradients :func:`grad` returns, by id, with the sums found."""

    def __init__(self, tensors):
        super().__init__((id(t), t) for t in tensors)
        self.sums = {}


def _capture(captured, key, g):
    previous = captured.sums.get(key)
    captured.sums[key] = g.copy() if previous is None else previous + g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to each of ``inputs``, returned as a
    tuple of Tensors (PyTorch's ``torch.autograd.grad``); no ``.grad`` is changed."""
    if create_graph:
        raise NotImplementedError(
            "autograd.grad(create_graph=True): deepgrad does not record the backward pass, "
            "so there are no gradients of gradients; use a float64 numerical derivative "
            "(deepgrad.diagnostics.gradcheck shows how) where you need them")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs)
    captured = _Captured(inputs)
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"autograd.grad: output {i} does not require grad")
        xp = backend.get_array_module(out._data)
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(f"autograd.grad: output {i} has shape "
                                   f"{tuple(out.shape)}; pass grad_outputs for it")
            g = xp.ones_like(out._data)
        else:
            g = xp.array(g._data if isinstance(g, Tensor) else g, dtype=out.dtype, copy=True)
        keep = bool(retain_graph) or i < len(outputs) - 1
        run_backward(out, g, keep, captured)
    results = []
    for i, t in enumerate(inputs):
        found = captured.sums.get(id(t))
        if found is None and not (allow_unused or materialize_grads):
            raise RuntimeError(f"autograd.grad: input {i} was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        if found is None and materialize_grads:
            found = backend.get_array_module(t._data).zeros_like(t._data)
        results.append(None if found is None else Tensor(found))
    return tuple(results)


def _run_hooks(hooks, grad):
    for hook in list(hooks):
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced._data if isinstance(replaced, Tensor) else replaced
    return grad


def _accumulate_leaf(leaf, grad, given_to_leaves):
    if grad.shape != leaf.shape:  # an op's backward is wrong: fail loudly, here
        raise RuntimeError(
            f"internal error: gradient of shape {tuple(grad.shape)} for a tensor of shape "
            f"{tuple(leaf.shape)}"
        )
    if leaf._hooks:
        grad = _run_hooks(leaf._hooks, grad)
    if leaf._grad is None:
        # The leaf must own its gradient: the same array may also be another leaf's
        # gradient, or a view of an array the graph still uses.
        if id(grad) in given_to_leaves or not grad.flags.owndata:
            grad = grad.copy()
        if grad.dtype != leaf.dtype:
            grad = grad.astype(leaf.dtype)
        given_to_leaves.add(id(grad))
        leaf._grad = grad
    else:
        leaf._grad = leaf._grad + grad
