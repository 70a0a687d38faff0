"""The Numba kernels behind :mod:`deepgrad.ops.compiled` (imported only through it, so
``import deepgrad`` never loads Numba).

2x2 max pooling with stride 2: the window's values ``a, b, c, d`` (row-major), the
maximum taken with PyTorch's rule (ties keep the first offset; a NaN wins, the last one
if several), and the offset of the maximum counted branch-free as the number of leading
values that differ from it.
"""
import numba
import numpy as np

# error_model="numpy": a float division by zero gives inf or NaN as in NumPy, where
# Numba's default checks every division to raise ZeroDivisionError, and that check
# keeps a loop with a division from being vectorised (Adam's update ran 4.5x slower).
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _window(a, b, c, d):
    """(maximum, offset) of one window under PyTorch's rule."""
    if a != a or b != b or c != c or d != d:  # rare: a NaN, the sequential rule
        best, at = a, 0
        for k, v in ((1, b), (2, c), (3, d)):
            if v > best or v != v:
                best, at = v, k
        return best, at
    best = b if b > a else a
    best = c if c > best else best
    best = d if d > best else best
    miss = int(a != best)
    at = miss
    miss &= int(b != best)
    at += miss
    miss &= int(c != best)
    at += miss
    return best, at


# The pooling kernels take (B, H, W, C) arrays: a channels-last image as its (N, H, W, C)
# view, a row-major one as (N*C, H, W, 1); one loop serves both layouts. (A second copy
# looping in row-major order ran the row-major case 2x faster, 1.3 vs 2.6 ms forward on
# 64x32x28x28, both ahead of NumPy's 3.5 ms; convolutions leave their output
# channels-last, so pooling in a convnet takes the first form.)

@_jit
def max_pool_2x2(x, out, idx):
    b_, oh_, ow_, c_ = out.shape
    for b in range(b_):
        for oh in range(oh_):
            for ow in range(ow_):
                h, w = 2 * oh, 2 * ow
                for c in range(c_):
                    best, at = _window(x[b, h, w, c], x[b, h, w + 1, c],
                                       x[b, h + 1, w, c], x[b, h + 1, w + 1, c])
                    out[b, oh, ow, c] = best
                    idx[b, oh, ow, c] = at


# Backward: the windows do not overlap, so each input element of a window receives its
# window's gradient or zero; all four are written (no zero-filled buffer to make first).
# The arrays come as integer views of the float bits (int32 for float32): masking bits
# with -(k == i), all ones or all zeros, vectorises, where a float select compiled to
# scalar code five times slower. Same values either way (a zero is all zero bits).

@_jit
def max_pool_2x2_grad(g_bits, idx, dx_bits):
    b_, oh_, ow_, c_ = g_bits.shape
    for b in range(b_):
        for oh in range(oh_):
            for ow in range(ow_):
                h, w = 2 * oh, 2 * ow
                for c in range(c_):
                    k, v = idx[b, oh, ow, c], g_bits[b, oh, ow, c]
                    dx_bits[b, h, w, c] = v & -(k == 0)
                    dx_bits[b, h, w + 1, c] = v & -(k == 1)
                    dx_bits[b, h + 1, w, c] = v & -(k == 2)
                    dx_bits[b, h + 1, w + 1, c] = v & -(k == 3)


@_jit
def col2im_nhwc(cols, first_row, out_hw, kernel, stride, dilation, dx):
    """Add column-gradient rows ``first_row ...`` (rows, kh*kw*C), K order (kh, kw, C),
    into the padded image gradient (N, Hp, Wp, C); each window's rows are added as runs
    of C numbers. A row is an output pixel (n, oh, ow) in row-major order."""
    c_ = dx.shape[3]
    (oh_, ow_), (kh, kw), (sh, sw), (dh, dw) = out_hw, kernel, stride, dilation
    for r in range(cols.shape[0]):
        pixel = first_row + r
        n, rest = pixel // (oh_ * ow_), pixel % (oh_ * ow_)
        oh, ow = rest // ow_, rest % ow_
        for i in range(kh):
            h = oh * sh + i * dh
            for j in range(kw):
                w = ow * sw + j * dw
                base = (i * kw + j) * c_
                for c in range(c_):
                    dx[n, h, w, c] += cols[r, base + c]


# ReLU over flat arrays in memory order: one pass writing the output and the mask that
# the backward needs (NumPy takes two: maximum, then the comparison), NaN passed through
# as np.maximum does; the backward masks the gradient's bits, as the pooling one does.

@_jit
def relu(a, y, mask):
    zero = y.dtype.type(0)
    for i in range(a.size):
        v = a[i]
        positive = v > 0
        y[i] = v if positive or v != v else zero
        mask[i] = positive


@_jit
def relu_grad(g_bits, mask, out_bits):
    for i in range(g_bits.size):
        out_bits[i] = g_bits[i] & -mask[i]


# Optimizer updates: one pass over flat parameter, gradient and state arrays, where
# NumPy makes one pass per operation (SGD with momentum: four, Adam: twelve), each
# streaming its operands through memory once a training step has pushed them out of the
# caches. The operations and their order are those of the NumPy kernels in optim/sgd.py,
# adam.py, rmsprop.py, adagrad.py and adadelta.py, one rounding each (Numba does not
# fuse a product and a sum unless asked), so the results are the same bits. Scalars come
# in the arrays' dtype, as NumPy converts them; the flags do not change within a loop.

UNUSED = {np.dtype(t): np.empty(0, t) for t in (np.float32, np.float64)}
"""What the updates get for a state array their options leave out (SGD's momentum
buffer without momentum, Adam's maximum without amsgrad...): an empty array of its own,
never read, its branch being off. Another state array in its place gives the same
numbers, but the compiler must then allow for the two overlapping, and it ran RMSprop's
loop unvectorised, 1.6x slower."""


@_jit
def _effective_grad(p, g, weight_decay, maximize):
    """One element of ``effective_grad`` (optim/_blocked.py): the gradient, negated if
    maximizing, plus the coupled decay ``weight_decay * p``."""
    d = -g if maximize else g
    return p * weight_decay + d if weight_decay != 0 else d


@_jit
def _moving_square(v, d, beta, one_minus_beta):
    """``v * beta + d * (1 - beta) * d``: the running average of squares of Adam,
    RMSprop and Adadelta, rounded as their NumPy kernels round it."""
    return v * beta + d * one_minus_beta * d


@_jit
def _lerp(m, d, weight, from_start):
    """``m`` moved toward ``d`` as torch.lerp_ rounds it (see ``lerp_``): ``m + (d - m) *
    w`` for w < 0.5 (``from_start``), else ``d - (d - m) * (1 - w)``, ``weight`` being
    the factor used."""
    return m + (d - m) * weight if from_start else d - (d - m) * weight


@_jit
def sgd_update(p, g, buf, neg_lr, weight_decay, momentum, damp, shrink, maximize,
               nesterov, first):
    """PyTorch's SGD step; ``buf`` is the momentum buffer (unused when momentum == 0,
    filled from the gradient when ``first``); ``shrink`` is 1 without decoupled decay."""
    for i in range(p.size):
        d = _effective_grad(p[i], g[i], weight_decay, maximize)
        if momentum != 0:
            if first:
                b = d
            elif damp == 1:
                b = buf[i] * momentum + d
            else:
                b = buf[i] * momentum + d * damp
            buf[i] = b
            d = d + b * momentum if nesterov else b
        p[i] = p[i] * shrink + d * neg_lr


@_jit
def adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, shrink, weight_decay, maximize,
                beta1_weight, lerp_from_start, beta2, one_minus_beta2, amsgrad, eps_inside,
                bias_correction2, bias_correction2_sqrt, eps, neg_step_size):
    """Adam's step (``max_exp_avg_sq`` unused without amsgrad); the first moment moves
    by ``_lerp`` with ``beta1_weight``."""
    for i in range(p.size):
        q = p[i] * shrink
        d = _effective_grad(q, g[i], weight_decay, maximize)
        m = _lerp(exp_avg[i], d, beta1_weight, lerp_from_start)
        exp_avg[i] = m
        v = _moving_square(exp_avg_sq[i], d, beta2, one_minus_beta2)
        exp_avg_sq[i] = v
        if amsgrad:
            top = max_exp_avg_sq[i]
            v = top if top >= v or top != top else v  # np.maximum: a NaN wins
            max_exp_avg_sq[i] = v
        if eps_inside:
            denom = np.sqrt(v / bias_correction2 + eps)
        else:
            denom = np.sqrt(v) / bias_correction2_sqrt + eps
        p[i] = q + m / denom * neg_step_size


@_jit
def rmsprop_update(p, g, square_avg, grad_avg, buf, weight_decay, maximize, alpha,
                   one_minus_alpha, centered, avg_weight, lerp_from_start, eps_inside, eps,
                   use_momentum, momentum, neg_lr):
    """RMSprop's step (``grad_avg`` unused unless centered, ``buf`` without momentum);
    the centred mean moves by ``_lerp`` with ``avg_weight``."""
    for i in range(p.size):
        d = _effective_grad(p[i], g[i], weight_decay, maximize)
        v = _moving_square(square_avg[i], d, alpha, one_minus_alpha)
        square_avg[i] = v
        if centered:
            m = _lerp(grad_avg[i], d, avg_weight, lerp_from_start)
            grad_avg[i] = m
            v = -m * m + v
        s = d / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
        if use_momentum:
            s = buf[i] * momentum + s
            buf[i] = s
        p[i] = p[i] + s * neg_lr


@_jit
def adagrad_update(p, g, total, weight_decay, maximize, eps, neg_lr):
    """Adagrad's step, ``neg_lr`` the step's (decayed) rate, negated."""
    for i in range(p.size):
        d = _effective_grad(p[i], g[i], weight_decay, maximize)
        t = total[i] + d * d
        total[i] = t
        p[i] = p[i] + d / (np.sqrt(t) + eps) * neg_lr


@_jit
def adadelta_update(p, g, square_avg, acc_delta, weight_decay, maximize, rho,
                    one_minus_rho, eps, neg_lr):
    """Adadelta's step: the update is sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g."""
    for i in range(p.size):
        d = _effective_grad(p[i], g[i], weight_decay, maximize)
        v = _moving_square(square_avg[i], d, rho, one_minus_rho)
        square_avg[i] = v
        a = acc_delta[i]
        delta = np.sqrt(a + eps) / np.sqrt(v + eps) * d
        acc_delta[i] = _moving_square(a, delta, rho, one_minus_rho)
        p[i] = p[i] + delta * neg_lr


# Cross-entropy over (N, C) logits with class targets, PyTorch's default case (no class
# weights, no label smoothing): per row the maximum, the exponentials and their sum,
# then the loss log(sum) - (x[t] - max) and the gradient softmax - onehot(t), all while
# the row is in registers. NumPy takes about ten passes with a call each, which for
# the usual few classes cost more than the arithmetic. The sum and the logarithm run
# in float64 (NumPy's run in the input's dtype), so the two agree to float32 round-off,
# not bit for bit. A target outside 0..C-1 or equal to ``ignore_index`` stops the loop
# and returns its row: the NumPy path then handles it (ignoring it or raising).

@_jit
def cross_entropy_rows(x, target, ignore_index, losses, grad):
    classes = x.shape[1]
    for i in range(x.shape[0]):
        t = target[i]
        if t < 0 or t >= classes or t == ignore_index:
            return i
        top = x[i, 0]  # (a NaN anywhere in the row makes its sum, loss and gradient NaN)
        for j in range(1, classes):
            top = max(top, x[i, j])
        total = 0.0
        for j in range(classes):
            e = np.exp(x[i, j] - top)
            grad[i, j] = e
            total += e
        losses[i] = np.log(total) - (x[i, t] - top)
        for j in range(classes):
            grad[i, j] = grad[i, j] / total
        grad[i, t] -= 1
    return -1
