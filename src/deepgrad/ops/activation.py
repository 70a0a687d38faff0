"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax."""
from .. import backend
from ..autograd import Function
from . import compiled
from .checks import check_dim, check_floating, check_real_arg


class ReLU(Function):
    """``max(a, 0)``; saves the mask ``a > 0`` (gradient 0 at a == 0, as in PyTorch).

    A large float NumPy array stored contiguously (row-major, or channels-last as
    convolutions leave it) goes through compiled kernels when Numba is there (see
    ``compiled.py``): one pass each way instead of two, the same values."""

    saves_inputs = False  # the mask is its own array

    COMPILED_FROM = 1 << 10
    """Elements from which the compiled kernels are used. Forward and backward together,
    measured on the 2-core EPYC: 64 elements 5.1 us NumPy / 5.5 us compiled, 1024: 7.1 /
    6.0, 64K (an MLP layer at batch 128): 91 / 30, 512K: 591 / 189."""

    def forward(self, a):
        layout = _memory_layout(a)
        wanted = layout and a.size >= self.COMPILED_FROM
        self.kernels = compiled.kernels_for(a) if wanted else None
        if self.kernels:
            np = backend.np
            y, self.mask = np.empty_like(a), np.empty_like(a, dtype=bool)  # a's order
            self.kernels.relu(_flat(a, layout), _flat(y, layout), _flat(self.mask, layout))
            self.layout = layout
            return y
        y = backend.get_array_module(a).maximum(a, 0)
        self.mask = y > 0
        return y

    def backward(self, g):
        if self.kernels and _memory_layout(g) == self.layout:
            out = backend.np.empty_like(g)
            bits = f"i{g.dtype.itemsize}"  # the kernel moves the float bits
            self.kernels.relu_grad(_flat(g, self.layout).view(bits),
                                   _flat(self.mask, self.layout),
                                   _flat(out, self.layout).view(bits))
            return (out,)
        return (g * self.mask,)


def _memory_layout(a):
    """'C' for a row-major NumPy array, 'NHWC' for a channels-last 4-D one (the
    transposed view of a row-major (N, H, W, C) array), else None."""
    if backend.get_array_module(a) is not backend.np:
        return None
    if a.flags.c_contiguous:
        return "C"
    if a.ndim == 4 and a.transpose(0, 2, 3, 1).flags.c_contiguous:
        return "NHWC"
    return None


def _flat(a, layout):
    """The 1-D view of ``a``'s elements in memory order (``layout`` from _memory_layout)."""
    return (a if layout == "C" else a.transpose(0, 2, 3, 1)).reshape(-1)


class LeakyReLU(Function):
    saves_inputs = False

    def __init__(self, negative_slope=0.01):
        self.slope = negative_slope

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.positive = a > 0
        return xp.where(self.positive, a, a * a.dtype.type(self.slope))

    def backward(self, g):
        xp = backend.get_array_module(g)
        return (xp.where(self.positive, g, g * g.dtype.type(self.slope)),)


class Sigmoid(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        xp = backend.get_array_module(a)
        # exp(-|a|) never overflows, and each branch keeps full relative precision
        e = xp.exp(-xp.abs(a))
        inv = 1 / (1 + e)
        self.y = xp.where(a >= 0, inv, e * inv)
        return self.y

    def backward(self, g):
        y = self.y
        return (g * y * (1 - y),)


class Tanh(Function):
    saves_inputs, saves_output = False, True

    def forward(self, a):
        self.y = backend.get_array_module(a).tanh(a)
        return self.y

    def backward(self, g):
        y = self.y
        return (g * (1 - y * y),)


def _log_softmax(a, axis):
    xp = backend.get_array_module(a)
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    saves_inputs, saves_output = False, True

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        xp = backend.get_array_module(a)
        e = xp.exp(a - a.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        self.y = e
        return e

    def backward(self, g):
        y = self.y
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    saves_inputs, saves_output = False, True

    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, a):
        self.y = _log_softmax(a, self.axis)
        return self.y

    def backward(self, g):
        xp = backend.get_array_module(g)
        return (g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True),)


def relu(a):
    return ReLU()(check_floating("relu", a))


def leaky_relu(a, negative_slope=0.01):
    check_real_arg("leaky_relu", "negative_slope", negative_slope)
    return LeakyReLU(negative_slope)(check_floating("leaky_relu", a))


def sigmoid(a):
    return Sigmoid()(check_floating("sigmoid", a))


def tanh(a):
    return Tanh()(check_floating("tanh", a))


def softmax(a, dim=-1):
    check_floating("softmax", a)
    # a 0-d input is its own single "row" (as in PyTorch)
    return Softmax(check_dim("softmax", dim, a.ndim) if a.ndim else None)(a)


def log_softmax(a, dim=-1):
    check_floating("log_softmax", a)
    # a 0-d input is its own single "row" (as in PyTorch)
    return LogSoftmax(check_dim("log_softmax", dim, a.ndim) if a.ndim else None)(a)
