"""The autograd core: Tensor and the Function protocol.

Tensor and Function need each other (a Function makes Tensors, a Tensor remembers the
Function that made it), so both live here; ``tensor_methods.py`` adds the operators and
methods that call into ``ops``, ``engine.py`` holds the backward walk, ``grad_mode.py``
the switches (``no_grad``, ``detect_anomaly``), and ``function_ctx.py`` Functions
written in PyTorch's protocol.

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
from . import backend, grad_mode
from .engine import Captured, run_backward
from .grad_mode import (AnomalyError, check_finite, detect_anomaly, enable_grad,  # noqa: F401
                        inference_mode, is_grad_enabled, no_grad, set_grad_enabled, user_frame)


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


class Function:
    """One differentiable operation. Subclasses define ``forward`` and ``backward``.

    Non-tensor arguments (axis, shape, slope...) go to ``__init__``; tensors go to
    ``__call__``. What backward needs, ``forward`` keeps as attributes, and the class
    names them in ``saves`` (``saves = ("mask",)``): :meth:`release` drops exactly those
    once backward has run. Three more class flags tell the engine what an op keeps, so
    that in-place changes are caught or allowed as in PyTorch: ``saves_inputs``
    (backward reads the input arrays), ``saves_output`` (backward reads the output
    array) and ``is_view`` (the output shares the first input's memory, so the two
    share one version counter).

    User code writes Functions in PyTorch's protocol instead (static ``forward(ctx,
    ...)`` and ``backward(ctx, grad)``, called through ``apply``): see :meth:`apply`.
    """

    inputs = None
    input_creators = ()
    needs_input_grad = ()
    generation = 0
    _hooks = None
    _origin = None  # where in user code the op was created (kept in anomaly mode)
    _versions = None  # (input index or -1 for the output, version box, version, shape)
    saves = ()
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
        if grad_mode.is_anomaly_enabled():
            self._origin = user_frame()
            check_finite(out._data, f"the forward of {self.name}", self._origin)
        if grad_mode.is_grad_enabled():
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
        self.generation = max([x.generation for x in inputs if isinstance(x, Tensor)])
        out.requires_grad, out.creator, out.generation = True, self, self.generation + 1


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
        """Free what backward needed: the links to the inputs (so the graph below can
        go) and the attributes ``saves`` names."""
        self.inputs, self.input_creators, self._versions = None, (), None
        for name in self.saves:
            self.__dict__.pop(name, None)

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
        from .function_ctx import FunctionCtx  # the protocol's node is a Function too
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
    captured = Captured(inputs)
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
