"""Losses, each one fused op: cross_entropy, nll_loss, mse_loss,
binary_cross_entropy_with_logits. ``reduction`` is 'mean' | 'sum' | 'none' as in PyTorch.
"""
from .. import backend
from ..autograd import Function, Tensor
from .activation import _log_softmax
from .checks import check_floating, check_same_dtype, check_tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(losses, reduction):
    xp = backend.get_array_module(losses)
    if reduction == "mean":
        return xp.asarray(losses.mean())
    if reduction == "sum":
        return xp.asarray(losses.sum())
    return losses


def _scale(g, count, reduction):
    """The upstream gradient of each of the ``count`` unreduced losses (for 'mean' and
    'sum' a 0-d array that broadcasts)."""
    if reduction == "mean":
        return g / g.dtype.type(count)
    return g


def _class_last(x):
    """(N, C, d1, ...) -> (N*d1*..., C); (N, C) and (C,) pass as (N, C) and (1, C)."""
    xp = backend.get_array_module(x)
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _check_targets(name, logits, target):
    """Class-index targets: integer dtype, the input's shape minus the class axis, in range."""
    xp = backend.get_array_module(logits)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got dtype "
                        f"{target.dtype}; for probabilities use another loss")
    expected = logits.shape[:1] + logits.shape[2:] if logits.ndim != 1 else ()
    if target.shape != expected:
        raise ValueError(f"{name}: input of shape {logits.shape} needs a target of shape "
                         f"{expected}, got {target.shape}")
    classes = logits.shape[1] if logits.ndim > 1 else logits.shape[0]
    if target.size and (int(target.min()) < 0 or int(target.max()) >= classes):
        bad = int(target.min()) if int(target.min()) < 0 else int(target.max())
        raise ValueError(f"{name}: target holds class {bad}, but the input has {classes} "
                         f"classes (valid: 0..{classes - 1})")
    return xp.asarray(target).reshape(-1)


class CrossEntropy(Function):
    """log_softmax and negative log-likelihood in one op (stable, one pass back)."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, logits, target):
        xp = backend.get_array_module(logits)
        self.shape = logits.shape
        flat = _class_last(logits)
        t = _check_targets("cross_entropy", logits, target)
        log_p = _log_softmax(flat, axis=1)
        rows = xp.arange(len(t))
        losses = -log_p[rows, t]
        self.log_p, self.t = log_p, t
        out_shape = (logits.shape[:1] + logits.shape[2:]) if logits.ndim != 1 else ()
        return _reduce(losses.reshape(out_shape), self.reduction)

    def backward(self, g):
        xp = backend.get_array_module(g)
        grad = xp.exp(self.log_p)
        grad[xp.arange(len(self.t)), self.t] -= 1
        g = _scale(g, len(self.t), self.reduction)
        grad *= g.reshape(-1, 1)
        return (_restore(grad, self.shape), None)


class NLLLoss(Function):
    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, log_p, target):
        xp = backend.get_array_module(log_p)
        self.shape, self.dtype = log_p.shape, log_p.dtype
        flat = _class_last(log_p)
        t = _check_targets("nll_loss", log_p, target)
        self.t = t
        losses = -flat[xp.arange(len(t)), t]
        out_shape = (log_p.shape[:1] + log_p.shape[2:]) if log_p.ndim != 1 else ()
        return _reduce(losses.reshape(out_shape), self.reduction)

    def backward(self, g):
        xp = backend.get_array_module(g)
        n = len(self.t)
        classes = self.shape[1] if len(self.shape) > 1 else self.shape[0]
        grad = xp.zeros((n, classes), dtype=self.dtype)
        g = _scale(g, n, self.reduction)
        grad[xp.arange(n), self.t] = -g.reshape(-1)
        return (_restore(grad, self.shape), None)


def _restore(flat_grad, shape):
    """Inverse of ``_class_last``."""
    xp = backend.get_array_module(flat_grad)
    if len(shape) <= 2:
        return flat_grad.reshape(shape)
    moved = flat_grad.reshape((shape[0],) + shape[2:] + (shape[1],))
    return xp.moveaxis(moved, -1, 1)


def _check_same_shape(name, input, target):
    if input.shape != target.shape:
        raise ValueError(f"{name}: input has shape {input.shape} but target has shape "
                         f"{target.shape}; they must be equal")


class MSE(Function):
    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, a, b):
        self.diff = a - b
        return _reduce(self.diff * self.diff, self.reduction)

    def backward(self, g):
        g = _scale(g, self.diff.size, self.reduction)
        ga = (2 * g) * self.diff
        na, nb = self.needs_input_grad
        return (ga if na else None, -ga if nb else None)


class BCEWithLogits(Function):
    """Binary cross-entropy on logits: max(x, 0) - x*y + log(1 + exp(-|x|))."""

    def __init__(self, reduction="mean"):
        self.reduction = reduction

    def forward(self, x, y):
        xp = backend.get_array_module(x)
        self.x, self.y = x, y
        losses = xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))
        return _reduce(losses, self.reduction)

    def backward(self, g):
        xp = backend.get_array_module(g)
        x, y = self.x, self.y
        g = _scale(g, x.size, self.reduction)
        na, nb = self.needs_input_grad
        gx = gy = None
        if na:
            e = xp.exp(-xp.abs(x))
            sig = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
            gx = g * (sig - y)
        if nb:
            gy = -g * x
        return gx, gy


def _as_target(value, input):
    """A target given as an array or list, as a Tensor on the input's device."""
    if isinstance(value, Tensor):
        return value
    return Tensor(backend.get_array_module(input.data).asarray(value))


def _check_input(name, input, reduction, class_axis):
    """The loss input: a floating-point Tensor, at least 1-D when it holds classes, and
    not empty under ``reduction='mean'`` (the mean of no losses is NaN in PyTorch)."""
    _check_reduction(name, reduction)
    check_tensor(name, input)
    check_floating(name, input)
    if class_axis and input.ndim == 0:
        raise ValueError(f"{name}: expected input of shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got a 0-d input")
    if reduction == "mean" and input.size == 0:
        raise ValueError(f"{name}: got an empty input of shape {tuple(input.shape)}; the "
                         f"mean over no elements is undefined (use reduction='sum' or "
                         f"'none')")


def _check_float_target(name, input, target):
    """Element-wise losses need a target of the input's floating dtype (no silent float64
    promotion, no integer labels where probabilities or values are meant)."""
    if target.dtype.kind != "f":
        raise TypeError(f"{name}: target must be floating point like the input, got dtype "
                        f"{target.dtype}; convert with .astype({input.dtype})")
    check_same_dtype(name, input, target, "input", "target")


def cross_entropy(input, target, reduction="mean"):
    _check_input("cross_entropy", input, reduction, class_axis=True)
    return CrossEntropy(reduction)(input, _as_target(target, input))


def nll_loss(input, target, reduction="mean"):
    _check_input("nll_loss", input, reduction, class_axis=True)
    return NLLLoss(reduction)(input, _as_target(target, input))


def mse_loss(input, target, reduction="mean"):
    _check_input("mse_loss", input, reduction, class_axis=False)
    target = _as_target(target, input)
    _check_same_shape("mse_loss", input, target)
    _check_float_target("mse_loss", input, target)
    return MSE(reduction)(input, target)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    name = "binary_cross_entropy_with_logits"
    _check_input(name, input, reduction, class_axis=False)
    target = _as_target(target, input)
    _check_same_shape(name, input, target)
    _check_float_target(name, input, target)
    return BCEWithLogits(reduction)(input, target)
