"""Elementwise math: exp, log, sqrt, abs, sin, cos, clamp, maximum, minimum, where, and
the rounding functions (which have no gradient)."""
from .. import backend
from ..autograd import Function, Tensor, sum_to
from ..checks import InputTypeError, check_broadcast, check_operand
from .arithmetic import _constant, _pair


class Exp(Function):
    saves_inputs, saves_output = False, True
    saves = ("y",)

    def forward(self, a):
        self.y = backend.get_array_module(a).exp(a)
        return self.y

    def backward(self, g):
        return (g * self.y,)


class Log(Function):
    saves = ("a",)

    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    saves_inputs, saves_output = False, True
    saves = ("y",)

    def forward(self, a):
        self.y = backend.get_array_module(a).sqrt(a)
        return self.y

    def backward(self, g):
        return (g / (2 * self.y),)


class Abs(Function):
    """|a|; the gradient at 0 is 0, as in PyTorch (sign(0) = 0)."""

    saves = ("a",)

    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).abs(a)

    def backward(self, g):
        return (g * backend.get_array_module(g).sign(self.a),)


class Clip(Function):
    """Clamp into [low, high]; the gradient passes where low <= a <= high (PyTorch's rule)."""

    saves = ("a",)

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

    saves_inputs = False
    saves = ("a_shape", "b_shape")

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


class Sin(Function):
    saves = ("a",)

    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).sin(a)

    def backward(self, g):
        return (g * backend.get_array_module(g).cos(self.a),)


class Cos(Function):
    saves = ("a",)

    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).cos(a)

    def backward(self, g):
        return (-g * backend.get_array_module(g).sin(self.a),)


class Log1p(Function):
    saves = ("a",)

    def forward(self, a):
        self.a = a
        return backend.get_array_module(a).log1p(a)

    def backward(self, g):
        return (g / (1 + self.a),)


class Maximum(Function):
    """Elementwise max (or min with ``smallest=True``); at ties each side gets half the
    gradient, as in PyTorch."""

    saves = ("a", "b")

    def __init__(self, smallest=False):
        self.smallest = smallest

    def forward(self, a, b):
        xp = backend.get_array_module(a)
        self.a, self.b = a, b
        return (xp.minimum if self.smallest else xp.maximum)(a, b)

    def backward(self, g):
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        wins = (a < b) if self.smallest else (a > b)
        share = wins + (a == b) * g.dtype.type(0.5)
        return (sum_to(g * share, a.shape) if na else None,
                sum_to(g * (1 - share), b.shape) if nb else None)


def _real(a):
    """An integer or bool input of a real function becomes the default float dtype, as
    in PyTorch (NumPy would give float64)."""
    if isinstance(a, Tensor) and a.dtype.kind in "biu":
        from .arithmetic import to_dtype
        return to_dtype(a, backend.default_dtype)
    return a


def exp(a):
    """``e ** a``, elementwise (integer inputs give the default float dtype)."""
    return Exp()(_real(a))


def log(a):
    """The natural logarithm, elementwise (integer inputs give the default float dtype)."""
    return Log()(_real(a))


def sqrt(a):
    """The square root, elementwise (integer inputs give the default float dtype)."""
    return Sqrt()(_real(a))


def abs(a):  # noqa: A001
    """``|a|``, elementwise; the gradient at 0 is 0, as in PyTorch."""
    if isinstance(a, Tensor) and a.dtype.kind == "b":
        raise InputTypeError("abs: not defined for bool tensors (as in PyTorch)")
    return Abs()(a)


def clip(a, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    """Clamp into [min, max] (numbers, or tensors that broadcast against ``a``)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None:
            check_operand("clamp", bound, name)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = a if min is None else maximum(a, min)
        return out if max is None else minimum(out, max)
    return Clip(min, max)(a)


clamp = clip


def sin(a):
    """The sine, elementwise (radians)."""
    return Sin()(_real(a))


def cos(a):
    """The cosine, elementwise (radians)."""
    return Cos()(_real(a))


def log1p(a):
    """``log(1 + a)``, accurate for small ``a``."""
    return Log1p()(_real(a))


def square(a):
    """``a * a``."""
    return a * a


def sign(a):
    """-1, 0 or 1 by the sign of each element; no gradient flows through it."""
    return _no_grad(a, "sign")


def floor(a):
    """The largest integer not above each element; no gradient flows through it."""
    return _no_grad(a, "floor")


def ceil(a):
    """The smallest integer not below each element; no gradient flows through it."""
    return _no_grad(a, "ceil")


def round(a, decimals=0):  # noqa: A001
    """Round to ``decimals`` decimal places, halves to even (NumPy's and PyTorch's rule)."""
    xp = backend.get_array_module(a._data)
    return Tensor(xp.round(a._data, decimals))


def _no_grad(a, name):
    """A piecewise-constant function: its gradient is zero, so the result leaves the graph
    (PyTorch records a zero gradient; leaves reached only through it keep grad None)."""
    return Tensor(getattr(backend.get_array_module(a._data), name)(a._data))


def maximum(a, b):
    """The elementwise maximum of two tensors; a tie sends half the gradient to each."""
    return Maximum()(*_pair(a, b, "maximum"))


def minimum(a, b):
    """The elementwise minimum of two tensors; a tie sends half the gradient to each."""
    return Maximum(smallest=True)(*_pair(a, b, "minimum"))


def where(condition, a, b):
    """Elementwise choice; ``a`` and ``b`` may be tensors or numbers."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        raise TypeError("where: at least one of a and b must be a Tensor")
    xp = backend.get_array_module(like._data)
    if getattr(cond, "dtype", None) is not None and cond.dtype.kind != "b":
        raise InputTypeError(f"where: condition must be a bool tensor, got dtype "
                             f"{cond.dtype}; compare first (x > 0)")
    cond = xp.asarray(cond, dtype=bool)
    for name, side in (("input", a), ("other", b)):
        if not isinstance(side, Tensor):
            check_operand("where", side, name)
    check_broadcast("where", cond.shape, _shape_of(a), _shape_of(b))
    if not isinstance(a, Tensor):
        a = _constant(a, like)
    if not isinstance(b, Tensor):
        b = _constant(b, like)
    return Where(cond)(a, b)


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()
