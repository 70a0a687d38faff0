"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax."""
from .. import backend
from ..autograd import Function
from ._compiled_ops import CompiledReLU, CompiledSigmoid, CompiledTanh
from ..checks import check_dim, check_floating, check_real_arg


class ReLU(Function):
    """``max(a, 0)``; saves the mask ``a > 0`` (gradient 0 at a == 0, as in PyTorch)."""

    saves_inputs = False  # the mask is its own array
    saves = ("mask",)

    def forward(self, a):
        y = backend.get_array_module(a).maximum(a, 0)
        self.mask = y > 0
        return y

    def backward(self, g):
        return (g * self.mask,)


class LeakyReLU(Function):
    """``a`` where a > 0, else ``slope * a``; the gradient's factor is 1 or ``slope``.

    For a slope in (0, 1] the two sides are ``max(a, slope * a)`` and the factor
    ``max(a > 0, slope)``: the same bits without a branch per element, which NumPy's
    ``where`` takes (several times slower on a random sign pattern).
    """

    saves_inputs = False
    saves = ("positive",)

    def __init__(self, negative_slope=0.01):
        self.slope = negative_slope

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.positive = a > 0
        scaled = a * a.dtype.type(self.slope)
        if 0 < self.slope <= 1:
            return xp.maximum(a, scaled)
        return xp.where(self.positive, a, scaled)

    def backward(self, g):
        xp = backend.get_array_module(g)
        slope = g.dtype.type(self.slope)
        if 0 < self.slope <= 1:
            return (g * xp.maximum(self.positive, slope),)
        return (xp.where(self.positive, g, g * slope),)


class Sigmoid(Function):
    saves_inputs, saves_output = False, True
    saves = ("y",)

    def forward(self, a):
        xp = backend.get_array_module(a)
        # exp(-|a|) never overflows, and each side keeps full relative precision:
        # y = 1 / (1 + e) where a >= 0, else e / (1 + e). As e <= 1, max(e, a >= 0) is 1 or
        # e, so one product gives both, without a branch per element
        e = xp.exp(-xp.abs(a))
        inv = 1 / (1 + e)
        self.y = inv * xp.maximum(e, a >= 0)
        return self.y

    def backward(self, g):
        y = self.y
        return (g * y * (1 - y),)


class Tanh(Function):
    saves_inputs, saves_output = False, True
    saves = ("y",)

    def forward(self, a):
        self.y = backend.get_array_module(a).tanh(a)
        return self.y

    def backward(self, g):
        y = self.y
        return (g * (1 - y * y),)


def _peak(a, axis):
    """The max along ``axis`` that softmax subtracts (0 for an empty input: nothing to
    subtract from, and NumPy's max has no identity)."""
    if a.size == 0:
        return backend.get_array_module(a).zeros((1,) * a.ndim, a.dtype)
    return a.max(axis=axis, keepdims=True)


def _log_softmax(a, axis):
    xp = backend.get_array_module(a)
    shifted = a - _peak(a, axis)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    saves_inputs, saves_output = False, True
    saves = ("y",)

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        xp = backend.get_array_module(a)
        e = xp.exp(a - _peak(a, self.axis))
        e /= e.sum(axis=self.axis, keepdims=True)
        self.y = e
        return e

    def backward(self, g):
        y = self.y
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    saves_inputs, saves_output = False, True
    saves = ("y",)

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        self.y = _log_softmax(a, self.axis)
        return self.y

    def backward(self, g):
        xp = backend.get_array_module(g)
        return (g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True),)


def relu(a):
    """ReLU, elementwise: ``max(a, 0)``; the gradient is 1 where ``a > 0``, else 0."""
    check_floating("relu", a)
    return (CompiledReLU if CompiledReLU.covers(a) else ReLU)()(a)  # the same values


def leaky_relu(a, negative_slope=0.01):
    """Leaky ReLU, elementwise: ``a`` where ``a > 0``, else ``negative_slope * a``."""
    check_real_arg("leaky_relu", "negative_slope", negative_slope)
    data = getattr(check_floating("leaky_relu", a), "_data", a)
    if data.size >= ONEDNN_FROM and 0 < negative_slope <= 1:
        from . import _onednn_eltwise  # the accelerated layer, loaded on first use
        fast = _onednn_eltwise.op_for("leaky_relu", data, negative_slope)
        if fast is not None:
            return fast(a)
    return LeakyReLU(negative_slope)(a)


def sigmoid(a):
    """The logistic sigmoid ``1 / (1 + exp(-a))``; its slope ``s (1 - s)`` is at most 0.25."""
    check_floating("sigmoid", a)
    return _activation_op("sigmoid", a, CompiledSigmoid, Sigmoid)(a)


def tanh(a):
    """The hyperbolic tangent; its slope ``1 - tanh(a)^2`` is at most 1."""
    check_floating("tanh", a)
    return _activation_op("tanh", a, CompiledTanh, Tanh)(a)


def _activation_op(name, a, compiled, reference):
    """The one place that chooses a sigmoid's or tanh's op: oneDNN's for a large float32
    array (all cores; a few ulp from the reference), else the compiled loop (the same
    bits as the reference), else the NumPy reference."""
    data = getattr(a, "_data", a)
    if data.size >= ONEDNN_FROM:
        from . import _onednn_eltwise  # the accelerated layer, loaded on first use
        fast = _onednn_eltwise.op_for(name, data)
        if fast is not None:
            return fast
    return (compiled if compiled.covers(a) else reference)()


ONEDNN_FROM = 1 << 16
"""Elements from which a sigmoid, tanh, leaky ReLU or softmax goes to oneDNN (where
``_onednn_eltwise.op_for`` or ``_onednn_softmax.op_for`` takes the array): smaller arrays stay with the compiled loops and NumPy, as a call
through ctypes costs more than oneDNN's threads save there (BENCHMARKS.md)."""


def softmax(a, dim=-1):
    """``exp(a) / sum(exp(a))`` along ``dim`` (computed after subtracting the maximum)."""
    check_floating("softmax", a)
    # a 0-d input is its own single "row" (as in PyTorch)
    axis = check_dim("softmax", dim, a.ndim) if a.ndim else None
    data = getattr(a, "_data", a)
    if data.size >= ONEDNN_FROM and axis is not None:
        from . import _onednn_softmax  # the accelerated layer, loaded on first use
        fast = _onednn_softmax.op_for(data, axis)
        if fast is not None:  # a few ulp from the reference, as PyTorch's
            return fast(a)
    return Softmax(axis)(a)


def log_softmax(a, dim=-1):
    """``a - logsumexp(a)`` along ``dim``: the log of :func:`softmax`, computed stably."""
    check_floating("log_softmax", a)
    # a 0-d input is its own single "row" (as in PyTorch)
    return LogSoftmax(check_dim("log_softmax", dim, a.ndim) if a.ndim else None)(a)
