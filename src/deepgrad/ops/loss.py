"""Losses, each one fused op: cross_entropy, nll_loss, mse_loss,
binary_cross_entropy_with_logits. ``reduction`` is 'mean' | 'sum' | 'none' as in PyTorch.
"""
from .. import backend
from ..autograd import Function, Tensor
from ._compiled_ops import CompiledCrossEntropy
from .activation import _log_softmax
from ..checks import check_floating, check_same_dtype, check_tensor

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


def _check_targets(name, logits, target, ignore_index=None):
    """Class-index targets: integer dtype, the input's shape minus the class axis, in range
    (``ignore_index`` excepted). Returns them flattened."""
    xp = backend.get_array_module(logits)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got dtype "
                        f"{target.dtype}; for probabilities use another loss")
    expected = logits.shape[:1] + logits.shape[2:] if logits.ndim != 1 else ()
    if target.shape != expected:
        raise ValueError(f"{name}: input of shape {tuple(logits.shape)} needs a target of shape "
                         f"{expected}, got {tuple(target.shape)}")
    classes = logits.shape[1] if logits.ndim > 1 else logits.shape[0]
    counted = target if ignore_index is None else target[target != ignore_index]
    if counted.size and (int(counted.min()) < 0 or int(counted.max()) >= classes):
        bad = int(counted.min()) if int(counted.min()) < 0 else int(counted.max())
        raise ValueError(f"{name}: target holds class {bad}, but the input has {classes} "
                         f"classes (valid: 0..{classes - 1}"
                         + (f", or ignore_index={ignore_index})" if ignore_index is not None
                            else ")"))
    return xp.asarray(target).reshape(-1)


class _ClassTargets:
    """What PyTorch's class-index losses do with ``weight`` and ``ignore_index``: the
    flattened targets (ignored ones replaced by class 0), each target's weight (0 where
    ignored), and the mean's denominator, the sum of those weights."""

    def __init__(self, name, logits, target, weight, ignore_index):
        xp = backend.get_array_module(logits)
        self.t = _check_targets(name, logits, target, ignore_index)
        valid = self.t != ignore_index
        self.plain = weight is None and bool(valid.all())  # the common, fast case
        if self.plain:
            self.w_t, self.total = None, len(self.t)
            return
        self.valid = valid.astype(logits.dtype)
        self.t = xp.where(valid, self.t, 0)
        self.w_t = self.valid if weight is None else weight[self.t] * self.valid
        self.total = self.w_t.sum()


def _reduce_weighted(losses, reduction, total, out_shape):
    """Like ``_reduce``, but the mean divides by ``total`` (the summed target weights)."""
    xp = backend.get_array_module(losses)
    if reduction == "mean":
        return xp.asarray(losses.sum() / total)
    if reduction == "sum":
        return xp.asarray(losses.sum())
    return losses.reshape(out_shape)


def _out_shape(x):
    return (x.shape[:1] + x.shape[2:]) if x.ndim != 1 else ()


class CrossEntropy(Function):
    """log_softmax and negative log-likelihood in one op (stable, one pass back).

    With log-probabilities l = log_softmax(x), target t, class weights w (ones by
    default) and label smoothing e over C classes, PyTorch's per-sample loss::

        (1 - e) * w[t] * -l[t]  +  (e / C) * sum_c w[c] * -l[c]

    is 0 for targets equal to ``ignore_index``; 'mean' divides the sum by the summed
    w[t] of the counted targets (not by their number).
    """

    saves = ("shape", "targets", "log_p")

    def __init__(self, reduction="mean", weight=None, ignore_index=-100, label_smoothing=0.0):
        self.reduction, self.weight = reduction, weight
        self.ignore_index, self.eps = ignore_index, label_smoothing

    def forward(self, logits, target):
        xp = backend.get_array_module(logits)
        self.shape = logits.shape
        self.targets = targets = _ClassTargets("cross_entropy", logits, target,
                                               self.weight, self.ignore_index)
        self.log_p = log_p = _log_softmax(_class_last(logits), axis=1)
        rows = xp.arange(len(targets.t))
        if targets.plain and not self.eps:
            return _reduce(-log_p[rows, targets.t].reshape(_out_shape(logits)), self.reduction)
        w_t = targets.w_t if targets.w_t is not None else xp.ones(len(targets.t), log_p.dtype)
        losses = (1 - self.eps) * w_t * -log_p[rows, targets.t]
        if self.eps:
            per_class = log_p.sum(axis=1) if self.weight is None else log_p @ self.weight
            valid = targets.valid if not targets.plain else 1
            losses = losses + (self.eps / log_p.shape[1]) * -per_class * valid
        return _reduce_weighted(losses, self.reduction, targets.total, _out_shape(logits))

    def backward(self, g):
        xp = backend.get_array_module(g)
        targets, eps = self.targets, self.eps
        grad = xp.exp(self.log_p)
        rows = xp.arange(len(targets.t))
        if targets.plain and not eps:
            grad[rows, targets.t] -= 1
        else:
            p = grad.copy() if eps else grad
            w_t = targets.w_t if targets.w_t is not None else xp.ones(len(targets.t), grad.dtype)
            grad *= ((1 - eps) * w_t)[:, None]
            grad[rows, targets.t] -= (1 - eps) * w_t
            if eps:  # d/dx of -sum_c w[c] l[c] is p * sum(w) - w
                classes = p.shape[1]
                w = xp.ones(classes, grad.dtype) if self.weight is None else self.weight
                valid = (targets.valid if not targets.plain
                         else xp.ones(len(targets.t), grad.dtype))
                grad += (eps / classes) * valid[:, None] * (p * w.sum() - w)
        if self.reduction == "mean":
            g = g / g.dtype.type(targets.total)
        grad *= g.reshape(-1, 1)
        return (_restore(grad, self.shape), None)


class NLLLoss(Function):
    """-w[t] * input[t] per sample (0 for ``ignore_index``); 'mean' divides by the
    summed w[t], as PyTorch does."""

    saves = ("shape", "dtype", "targets")

    def __init__(self, reduction="mean", weight=None, ignore_index=-100):
        self.reduction, self.weight, self.ignore_index = reduction, weight, ignore_index

    def forward(self, log_p, target):
        xp = backend.get_array_module(log_p)
        self.shape, self.dtype = log_p.shape, log_p.dtype
        self.targets = targets = _ClassTargets("nll_loss", log_p, target, self.weight,
                                          self.ignore_index)
        picked = -_class_last(log_p)[xp.arange(len(targets.t)), targets.t]
        if targets.plain:
            return _reduce(picked.reshape(_out_shape(log_p)), self.reduction)
        return _reduce_weighted(picked * targets.w_t, self.reduction, targets.total,
                                _out_shape(log_p))

    def backward(self, g):
        xp = backend.get_array_module(g)
        targets = self.targets
        n = len(targets.t)
        classes = self.shape[1] if len(self.shape) > 1 else self.shape[0]
        grad = xp.zeros((n, classes), dtype=self.dtype)
        if self.reduction == "mean":
            g = g / g.dtype.type(targets.total)
        picked = -g.reshape(-1) if g.ndim else -g
        grad[xp.arange(n), targets.t] = picked if targets.plain else picked * targets.w_t
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
        raise ValueError(f"{name}: input has shape {tuple(input.shape)} but target has shape "
                         f"{tuple(target.shape)}; they must be equal")


class MSE(Function):
    saves = ("diff",)

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

    saves = ("x", "y")

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
    return Tensor(backend.get_array_module(input._data).asarray(value))


def _check_input(name, input, reduction, class_axis):
    """The loss input: a floating-point Tensor, at least 1-D when it holds classes, and
    not empty under ``reduction='mean'`` (the mean of no losses is NaN in PyTorch)."""
    _check_reduction(name, reduction)
    check_tensor(name, input)
    check_floating(name, input)
    if class_axis and input.ndim == 0:
        raise ValueError(f"{name}: expected input of shape (C,), (N, C) or (N, C, d1, ...), "
                         f"got a 0-d input")
    if reduction == "mean" and input.numel() == 0:
        raise ValueError(f"{name}: got an empty input of shape {tuple(input.shape)}; the "
                         f"mean over no elements is undefined (use reduction='sum' or "
                         f"'none')")


def _check_float_target(name, input, target):
    """Element-wise losses need a target of the input's floating dtype (no silent float64
    promotion, no integer labels where probabilities or values are meant)."""
    if target.dtype.kind != "f":
        raise TypeError(f"{name}: target must be floating point like the input, got dtype "
                        f"{target.dtype}; convert with .to({input.dtype})")
    check_same_dtype(name, input, target, "input", "target")


def _check_weight(name, weight, input):
    """Class weights: a 1-D array of C non-negative numbers of the input's dtype."""
    if weight is None:
        return None
    weight = weight._data if isinstance(weight, Tensor) else weight
    xp = backend.get_array_module(input._data)
    weight = xp.asarray(weight)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight.shape != (classes,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({classes},), "
                         f"got {tuple(weight.shape)}")
    if weight.dtype != input.dtype:
        raise TypeError(f"{name}: weight has dtype {weight.dtype} but the input has "
                        f"{input.dtype}; they must match")
    return weight


def _check_ignore_index(name, ignore_index):
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"{name}: ignore_index must be an int, got {ignore_index!r}")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """PyTorch's ``F.cross_entropy`` for class-index targets (see :class:`CrossEntropy`)."""
    _check_input("cross_entropy", input, reduction, class_axis=True)
    _check_ignore_index("cross_entropy", ignore_index)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing!r}")
    weight = _check_weight("cross_entropy", weight, input)
    target = _as_target(target, input)
    if target.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        return _soft_cross_entropy(input, target, weight, reduction, float(label_smoothing))
    if CompiledCrossEntropy.covers(input, target, weight, ignore_index, label_smoothing):
        return CompiledCrossEntropy(reduction, ignore_index)(input, target)
    return CrossEntropy(reduction, weight, ignore_index, float(label_smoothing))(
        input, target)


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    """Targets that are class probabilities (same shape as the input): the loss of each
    sample is -sum_c w_c p_c log softmax(x)_c, as PyTorch computes it; the mean is over
    the samples."""
    from .activation import log_softmax
    from .reduction import sum
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    axis = 1 if input.ndim > 1 else 0
    terms = log_softmax(input, dim=axis) * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[axis] = classes
        terms = terms * Tensor(weight.reshape(shape))
    losses = -sum(terms, dim=axis)
    if reduction == "none":
        return losses
    total = sum(losses)
    return total / (losses.numel() if losses.ndim else 1) if reduction == "mean" else total


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """The negative log-likelihood of class indices ``target`` under log-probabilities
    ``input`` (N, C, ...): ``-input[n, target[n]]``, weighted by ``weight[target[n]]``,
    reduced by ``reduction`` (a weighted mean for ``'mean'``); ``ignore_index`` targets
    count for nothing."""
    _check_input("nll_loss", input, reduction, class_axis=True)
    _check_ignore_index("nll_loss", ignore_index)
    weight = _check_weight("nll_loss", weight, input)
    return NLLLoss(reduction, weight, ignore_index)(input, _as_target(target, input))


def mse_loss(input, target, reduction="mean"):
    """The mean (or sum, or none, by ``reduction``) of ``(input - target) ** 2``."""
    _check_input("mse_loss", input, reduction, class_axis=False)
    target = _as_target(target, input)
    _check_same_shape("mse_loss", input, target)
    _check_float_target("mse_loss", input, target)
    return MSE(reduction)(input, target)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """The binary cross-entropy of ``sigmoid(input)`` against ``target`` in [0, 1],
    computed from the logits stably: ``max(x, 0) - x * t + log(1 + exp(-|x|))``."""
    name = "binary_cross_entropy_with_logits"
    _check_input(name, input, reduction, class_axis=False)
    target = _as_target(target, input)
    _check_same_shape(name, input, target)
    _check_float_target(name, input, target)
    return BCEWithLogits(reduction)(input, target)
