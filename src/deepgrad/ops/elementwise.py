"""Elementwise math: exp, log, sqrt, abs, clip, where."""
from .. import backend
from ..autograd import Function, Tensor, sum_to
from .arithmetic import _constant


class Exp(Function):
    def forward(self, a):
        self.y = backend.get_array_module(a).exp(a)
        return self.y

    def backward(self, g):
        return (g * self.y,)


class Log(Function):
    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    def forward(self, a):
        self.y = backend.get_array_module(a).sqrt(a)
        return self.y

    def backward(self, g):
        return (g / (2 * self.y),)


class Abs(Function):
    """|a|; the gradient at 0 is 0, as in PyTorch (sign(0) = 0)."""

    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).abs(a)

    def backward(self, g):
        return (g * backend.get_array_module(g).sign(self.a),)


class Clip(Function):
    """Clamp into [low, high]; the gradient passes where low <= a <= high (PyTorch's rule)."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        xp = backend.get_array_module(a)
        self.a = a
        return xp.clip(a, self.low, self.high)

    def backward(self, g):
        a = self.a
        inside = True
        if self.low is not None:
            inside = a >= self.low
        if self.high is not None:
            inside = inside & (a <= self.high)
        return (g * inside,)


class Where(Function):
    """``cond ? a : b`` elementwise; ``cond`` is a boolean array, not differentiated."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.a_shape, self.b_shape = a.shape, b.shape
        return xp.where(self.cond, a, b)

    def backward(self, g):
        na, nb = self.needs_input_grad
        zero = g.dtype.type(0)
        xp = backend.get_array_module(g)
        return (sum_to(xp.where(self.cond, g, zero), self.a_shape) if na else None,
                sum_to(xp.where(self.cond, zero, g), self.b_shape) if nb else None)


def exp(a):
    return Exp()(a)


def log(a):
    return Log()(a)


def sqrt(a):
    return Sqrt()(a)


def abs(a):  # noqa: A001
    return Abs()(a)


def clip(a, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return Clip(min, max)(a)


def where(condition, a, b):
    """Elementwise choice; ``a`` and ``b`` may be tensors or numbers."""
    cond = condition.data if isinstance(condition, Tensor) else condition
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise TypeError("where: at least one of a and b must be a Tensor")
    xp = backend.get_array_module(like.data)
    cond = xp.asarray(cond, dtype=bool)
    if not isinstance(a, Tensor):
        a = _constant(a, like)
    if not isinstance(b, Tensor):
        b = _constant(b, like)
    return Where(cond)(a, b)
