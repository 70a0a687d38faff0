"""The Function protocol: ``Function``, one differentiable operation (``forward`` and
``backward`` on arrays, ``__call__`` on Tensors, which links the output into the graph
and records the version counters that backward checks), ``AccumulateGrad``, the node a
leaf's gradient ends in, and the helpers of ``__call__`` and ``next_functions``.
Layering: this module imports ``Tensor`` from ``tensor_core.py`` (a Function makes
Tensors); ``autograd.py`` gathers both into the ``deepgrad.autograd`` namespace.
"""
from . import backend, grad_mode
from .tensor_core import Tensor
from .grad_mode import check_finite, user_frame


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
        if self.inputs is not None:  # linked into a graph (else these are the defaults)
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
