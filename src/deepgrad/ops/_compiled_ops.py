"""Ops of the accelerated layer that run compiled kernels (``compiled.py``) in place of
a textbook op: ReLU, sigmoid, tanh, 2x2 max pooling and cross entropy.

Each gives its textbook op's results bit for bit (``activation.ReLU``, ``Sigmoid``,
``Tanh``, ``pool.MaxPool2d``, ``loss.CrossEntropy``, the tests' oracles; the compiled
cross entropy to float round-off) and says with ``covers`` which inputs it takes; the
op's public function (``relu``, ``sigmoid``, ``tanh``, ``max_pool2d``,
``cross_entropy``) makes that one choice. The kernels take arrays in memory order, a
channels-last image as its transposed view (no copy, see ``_layout.py``), and the
outputs keep the input's order. A gradient stored in the other order than the saved
arrays (a row-major one for a channels-last activation) is read in its own order by
a kernel of its own, not multiplied by NumPy across mismatched strides (seven times
slower: BENCHMARKS.md).
"""
from .. import backend
from ..autograd import Function, Tensor
from . import compiled
from ._layout import as_bhwc, empty_in_order, flat, is_channels_last, memory_layout


def _memory_3d(a, layout):
    """A 4-D array's memory as 3-D: (N, C, H*W) row-major, (N, H*W, C) channels-last."""
    n, c, h, w = a.shape
    return a.reshape(n, c, h * w) if layout == "C" else a.transpose(0, 2, 3, 1).reshape(
        n, h * w, c)


def _transposed(g, layout):
    """g's memory as (N, A, B) when g is a 4-D gradient stored in the other of the two
    orders than ``layout`` (the saved arrays', then (N, B, A)); else None."""
    other = memory_layout(g)
    if g.ndim != 4 or other is None or other == layout:
        return None
    return _memory_3d(g, other)


def _covers(cls, a):
    """A large NumPy float array (or Tensor) stored row-major or channels-last."""
    a = a._data if isinstance(a, Tensor) else a
    return (a.size >= cls.COMPILED_FROM and memory_layout(a) is not None
            and compiled.kernels_for(a) is not None)


class CompiledReLU(Function):
    """``max(a, 0)`` and the mask ``a > 0`` in one compiled pass (NumPy takes two), the
    gradient masked in one more; NaN passes through as in ``np.maximum``."""

    saves_inputs = False  # the mask is its own array

    COMPILED_FROM = 1 << 10
    """Elements from which the compiled kernels are used: below, NumPy's call is as
    fast (measured: BENCHMARKS.md)."""

    saves = ("layout", "kernels", "mask")

    covers = classmethod(_covers)

    def forward(self, a):
        np = backend.np
        self.layout, self.kernels = memory_layout(a), compiled.kernels_for(a)
        y, self.mask = np.empty_like(a), np.empty_like(a, dtype=bool)  # a's order
        self.kernels.relu(flat(a, self.layout), flat(y, self.layout),
                          flat(self.mask, self.layout))
        return y

    def backward(self, g):
        layout, mask = self.layout, self.mask
        if compiled.kernels_for(g) is None:  # a gradient of another dtype
            return (g * mask,)
        bits = f"i{g.dtype.itemsize}"  # the kernels move the float bits
        if memory_layout(g) == layout:
            out = backend.np.empty_like(g)
            self.kernels.relu_grad(flat(g, layout).view(bits), flat(mask, layout),
                                   flat(out, layout).view(bits))
            return (out,)
        g3 = _transposed(g, layout)
        if g3 is None:  # a strided gradient: the textbook product
            return (g * mask,)
        out = backend.np.empty_like(mask, dtype=g.dtype)  # the mask's order
        self.kernels.relu_grad_transposed(g3.view(bits), _memory_3d(mask, layout).view("u1"),
                                          _memory_3d(out, layout).view(bits))
        return (out,)


class CompiledSigmoid(Function):
    """The textbook's stable sigmoid (``activation.Sigmoid``): e = exp(-|a|), then
    1/(1+e) where a >= 0, else e * (1/(1+e)); -|a| and the last step compiled, NumPy's
    vectorised exp between them in place (Numba's exp is scalar: ``_numba_kernels``),
    so three passes over one array instead of eight NumPy calls, and the same bits.
    The gradient g * y * (1 - y) in one pass."""

    saves_inputs, saves_output = False, True
    saves = ("layout", "kernels", "y")

    COMPILED_FROM = 1
    """Elements from which the compiled kernels are used: every non-empty array, as its
    three calls cost less than the textbook's eight at any size (measured:
    BENCHMARKS.md)."""

    covers = classmethod(_covers)

    def forward(self, a):
        np = backend.np
        self.layout, self.kernels = memory_layout(a), compiled.kernels_for(a)
        y = np.empty_like(a)  # a's order
        a1, y1 = flat(a, self.layout), flat(y, self.layout)
        self.kernels.neg_abs(a1, y1)
        np.exp(y1, out=y1)
        self.kernels.sigmoid_from_exp(a1, y1)
        self.y = y
        return y

    def backward(self, g):
        return (_grad_by_y(self, g, "sigmoid_grad", lambda y: g * y * (1 - y)),)


class CompiledTanh(Function):
    """tanh (``activation.Tanh``): the forward is NumPy's tanh, one vectorised pass and
    the textbook's very call (Numba's tanh is 10 to 50 times slower: ``_numba_kernels``);
    the gradient g * (1 - y * y) compiled in one pass, where NumPy takes three."""

    saves_inputs, saves_output = False, True
    saves = ("layout", "kernels", "y")

    COMPILED_FROM = 1 << 12
    """Elements from which the compiled gradient is used: below, NumPy's three calls
    are as fast (measured: BENCHMARKS.md)."""

    covers = classmethod(_covers)

    def forward(self, a):
        self.layout, self.kernels = memory_layout(a), compiled.kernels()  # covers() ran
        self.y = backend.np.tanh(a)  # in a's order: NumPy keeps a dense array's strides
        return self.y

    def backward(self, g):
        return (_grad_by_y(self, g, "tanh_grad", lambda y: g * (1 - y * y)),)


def _grad_by_y(op, g, kernel, textbook):
    """The gradient of a sigmoid or tanh from its saved output ``op.y``: the kernel
    ``kernel`` in memory order, its transposed form for a gradient in the other order,
    the textbook formula for anything else."""
    y, layout = op.y, op.layout  # y is stored in ``layout``
    if type(g) is not type(y) or g.dtype != y.dtype:  # y: a NumPy array of the kernels'
        return textbook(y)
    if memory_layout(g) == layout:
        out = backend.np.empty_like(g)
        getattr(op.kernels, kernel)(flat(g, layout), flat(y, layout), flat(out, layout))
        return out
    g3 = _transposed(g, layout)
    if g3 is None:
        return textbook(y)
    out = backend.np.empty_like(y)  # the saved order
    op.kernels.activation_grad_transposed(g3, _memory_3d(y, layout), _memory_3d(out, layout),
                                          kernel == "tanh_grad")
    return out


class CompiledMaxPool2x2(Function):
    """``max_pool2d(x, 2)``: the window is four named values, which the compiler turns
    into branch-free selects. Saves per window the offset k = i*2 + j of its maximum
    (uint8), as MaxPool2d does."""

    kernel = stride = (2, 2)
    padding, dilation = (0, 0), (1, 1)

    saves = ("x_shape", "out_hw", "channels_last", "kernels", "idx")

    @staticmethod
    def covers(x, kernel, stride, dilation, pads):
        """A 2x2, stride 2 pool without padding (``pads``: with ceil mode's) of a NumPy
        float array (or Tensor)."""
        x = x._data if isinstance(x, Tensor) else x
        return (kernel == (2, 2) and stride == (2, 2) and dilation == (1, 1)
                and pads == ((0, 0), (0, 0)) and compiled.kernels_for(x) is not None)

    def forward(self, x):
        np = backend.np
        n, c, h, w = x.shape
        self.x_shape, self.out_hw = x.shape, (h // 2, w // 2)
        self.channels_last, self.kernels = is_channels_last(x), compiled.kernels_for(x)
        last = self.channels_last
        best = empty_in_order(np, (n, c) + self.out_hw, x.dtype, last)
        self.idx = empty_in_order(np, (n, c) + self.out_hw, np.uint8, last)
        self.kernels.max_pool_2x2(as_bhwc(x, last), as_bhwc(best, last),
                                  as_bhwc(self.idx, last))
        return best

    def backward(self, grad):
        np, last = backend.np, self.channels_last
        dx = empty_in_order(np, self.x_shape, grad.dtype, last)
        h, w = self.x_shape[2:]
        dx[:, :, 2 * (h // 2):] = 0  # the row and column an odd size leaves out
        dx[:, :, :, 2 * (w // 2):] = 0
        bits = np.dtype(f"i{grad.dtype.itemsize}")  # the kernel moves float bits
        self.kernels.max_pool_2x2_grad(as_bhwc(grad, last).view(bits),
                                       as_bhwc(self.idx, last), as_bhwc(dx, last).view(bits))
        return (dx,)


class CompiledCrossEntropy(Function):
    """Cross entropy of (N, C) logits and class indices, unweighted and unsmoothed: each
    row's loss and gradient (``softmax - onehot``) in one compiled pass, the gradient
    kept for backward."""

    saves_inputs = False
    saves = ("grad",)

    def __init__(self, reduction, ignore_index):
        self.reduction, self.ignore_index = reduction, ignore_index

    @staticmethod
    def covers(logits, target, weight, ignore_index, label_smoothing):
        """Row-major 2-D float32/64 NumPy logits, no class weights or smoothing, and
        integer targets all in range and none equal to ``ignore_index`` (the textbook op
        handles the rest)."""
        x, t = logits._data, getattr(target, "_data", target)
        if (weight is not None or label_smoothing or x.ndim != 2 or not x.flags.c_contiguous
                or compiled.kernels_for(x) is None or getattr(t, "dtype", None) is None
                or t.dtype.kind not in "iu" or t.shape != x.shape[:1]):
            return False
        classes = x.shape[1]
        return not t.size or (0 <= int(t.min()) and int(t.max()) < classes
                and not (0 <= ignore_index < classes and (t == ignore_index).any()))

    def forward(self, logits, target):
        np = backend.np
        losses, self.grad = np.empty(len(logits), logits.dtype), np.empty_like(logits)
        declined = compiled.kernels_for(logits).cross_entropy_rows(
            logits, target, self.ignore_index, losses, self.grad)
        if declined >= 0:  # covers() ruled this out
            raise RuntimeError(f"internal error: cross_entropy's kernel declined row "
                               f"{declined}")
        if self.reduction == "mean":
            return np.asarray(losses.mean())
        return np.asarray(losses.sum()) if self.reduction == "sum" else losses

    def backward(self, g):
        if self.reduction == "mean":
            g = g / g.dtype.type(len(self.grad))
        return self.grad * g.reshape(-1, 1), None
