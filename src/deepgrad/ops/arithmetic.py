"""Elementwise arithmetic and matmul, with PyTorch's type promotion."""
from .. import backend
from ..autograd import Function, Tensor, sum_to
from ..checks import InputTypeError, check_broadcast, check_operand
from .products import mm
from .promotion import result_type


class Add(Function):
    saves_inputs = False
    saves = ("a_shape", "b_shape")

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (sum_to(g, self.a_shape) if na else None,
                sum_to(g, self.b_shape) if nb else None)


class Sub(Function):
    saves_inputs = False
    saves = ("a_shape", "b_shape")

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (sum_to(g, self.a_shape) if na else None,
                sum_to(-g, self.b_shape) if nb else None)


class Mul(Function):
    saves_inputs = "others"  # a is read for b's gradient, b for a's
    saves = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        return (sum_to(g * b, _shape(a)) if na else None,
                sum_to(g * a, _shape(b)) if nb else None)


class Div(Function):
    saves = ("a", "b")

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        gb = None
        ga = g / b
        if nb:
            gb = sum_to(-ga * a / b, _shape(b))
        return (sum_to(ga, _shape(a)) if na else None, gb)


class Neg(Function):
    saves_inputs = False

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """``a ** b``: d/da = b * a**(b-1), d/db = a**b * log(a).

    Off the smooth domain we follow PyTorch: d/da is 0 where b == 0 (even at a == 0);
    d/db is 0 where a == 0 and b >= 0, -inf where a == 0 and b < 0, nan where a < 0.
    """

    saves_output = True
    saves = ("a", "b", "y")

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a ** b
        return self.y

    def backward(self, g):
        na, nb = self.needs_input_grad
        a, b, y = self.a, self.b, self.y
        xp = backend.get_array_module(g)
        ga = gb = None
        if na:
            # where b == 0 use exponent 1 instead: b * a**0 = 0 with no 0 * inf at a == 0
            ga = sum_to(g * b * a ** (xp.where(b == 0, 1, b) - 1), _shape(a))
        if nb:
            t = y.dtype.type
            pos = a > 0
            with_log = xp.where(pos, y * xp.log(xp.where(pos, a, 1)),
                                xp.where(a == 0, xp.where(b >= 0, t(0), t(-xp.inf)), t(xp.nan)))
            gb = sum_to(g * with_log, _shape(b))
        return ga, gb


class MatMul(Function):
    """``a @ b`` for 1-D to N-D operands, with NumPy's (and PyTorch's) broadcasting."""

    saves_inputs = "others"
    saves = ("a", "b")

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                             f"{tuple(a.shape)} and {tuple(b.shape)}; use * for scalars")
        try:
            y = mm(a, b)
        except ValueError:
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                             f"match (the last axis of the first must equal the "
                             f"{'only' if b.ndim == 1 else 'second-to-last'} axis of the "
                             f"second, other axes must broadcast)") from None
        self.a, self.b = a, b
        return y

    def backward(self, g):
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        xp = backend.get_array_module(g)
        # Promote 1-D operands to matrices so one formula serves every case.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # Restore the axes the product dropped: b's trailing one first, so that a 1-D @
        # 1-D product's 0-d gradient becomes (1, 1).
        g_matrix = g
        if b.ndim == 1:
            g_matrix = xp.expand_dims(g_matrix, -1)
        if a.ndim == 1:
            g_matrix = xp.expand_dims(g_matrix, -2)
        ga = gb = None
        if na:
            ga = mm(g_matrix, xp.swapaxes(b2, -1, -2))
            ga = sum_to(ga, a2.shape).reshape(a.shape)
        if nb:
            gb = mm(xp.swapaxes(a2, -1, -2), g_matrix)
            gb = sum_to(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Cast(Function):
    """The same values in another dtype; the gradient goes back in the source dtype."""

    saves_inputs = False
    saves = ("source",)

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.dtype)

    def backward(self, g):
        return (g.astype(self.source),)


def to_dtype(a, dtype):
    """``a`` as ``dtype``: ``a`` itself when it has it; a cast to a non-float dtype
    leaves the graph (integers have no gradient), as in PyTorch."""
    dtype = backend.np.dtype(dtype)
    if not isinstance(a, Tensor):
        return backend.get_array_module(a).asarray(a, dtype=dtype)
    if a._data.dtype == dtype:
        return a
    if dtype.kind not in "fc":
        return Tensor(a._data.astype(dtype))
    return Cast(dtype)(a)


def _shape(a):
    return getattr(a, "shape", ())


# -- thin wrappers: Python scalars take the dtype of the tensor they meet --------------

def _pair(a, b, who="elementwise op"):
    """Turn the non-tensor side of a binary op into an array, and bring both sides to
    the dtype PyTorch gives the result (a Python number counts as a 0-d operand)."""
    swapped = not isinstance(a, Tensor)
    t, other = (b, a) if swapped else (a, b)
    if not isinstance(other, Tensor):
        other = _constant(check_operand(who, other), t)
    if other.shape != t._data.shape and who != "matmul":
        check_broadcast(who, t._data.shape, other.shape)
    if other.dtype != t._data.dtype:
        dtype = result_type(t, other)
        t, other = to_dtype(t, dtype), to_dtype(other, dtype)
    return (other, t) if swapped else (t, other)


def _constant(value, like):
    """A Python number (or array) as an array next to the tensor ``like``: ints take an
    integer or float tensor's dtype, floats a float tensor's (else the default dtype)."""
    xp = backend.get_array_module(like._data)
    if isinstance(value, (bool, int, float)):
        kind = like.dtype.kind
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if kind == "f" or (kind in "iu" and is_int):
            return xp.asarray(value, dtype=like.dtype)
        return xp.asarray(value, dtype=backend.default_dtype if isinstance(value, float) else None)
    return xp.asarray(value)


def _into(out, result):
    """PyTorch's ``out=``: the result is written into ``out`` (resized if needed), which
    is returned; outside the graph only, as in PyTorch."""
    if out is None:
        return result
    if result.requires_grad:
        raise RuntimeError("out=: functions with out=... arguments don't support "
                           "automatic differentiation; assign the result instead")
    if tuple(out.shape) == tuple(result.shape) and out.dtype == result.dtype:
        out._data[...] = result._data
    else:
        out._data = result._data
    out._version_box[0] += 1
    return out


def add(a, b, *, alpha=None, out=None):
    """``a + alpha * b``, broadcasting as PyTorch does; ``out=`` writes into a tensor."""
    return _into(out, Add()(*_pair(a, b if alpha is None else b * alpha, "add")))


def sub(a, b, *, alpha=None, out=None):
    """``a - alpha * b``, broadcasting as PyTorch does; ``out=`` writes into a tensor."""
    return _into(out, Sub()(*_pair(a, b if alpha is None else b * alpha, "sub")))


def mul(a, b, *, out=None):
    """The elementwise product ``a * b``, broadcasting as PyTorch does."""
    return _into(out, Mul()(*_pair(a, b, "mul")))


def div(a, b, *, out=None):
    """True division: integer operands give a float tensor (the default dtype)."""
    a, b = _pair(a, b, "div")
    if a.dtype.kind in "biu" and _kind(b) in "biu":
        a, b = to_dtype(a, backend.default_dtype), to_dtype(b, backend.default_dtype)
    return _into(out, Div()(a, b))


def _kind(x):
    return x.dtype.kind if hasattr(x, "dtype") else "f"


def neg(a):
    """``-a``, elementwise."""
    return Neg()(a)


def pow(a, b, *, out=None):  # noqa: A001 - the name users expect
    """``a ** b``, elementwise (either may be a number), broadcasting as PyTorch does."""
    return _into(out, Pow()(*_pair(a, b, "pow")))


def matmul(a, b, *, out=None, who="matmul"):
    """The matrix product; both operands of one dtype, as PyTorch requires (no silent
    promotion of a float32 model's product to float64)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        raise InputTypeError(f"{who}: expected both operands to have the same dtype, got "
                             f"{a.dtype} and {b.dtype}; convert one with .to(dtype)")
    return _into(out, MatMul()(*_pair(a, b, "matmul")))
