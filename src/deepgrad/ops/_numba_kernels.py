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
# keeps a loop with a division from being vectorised.
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
# view, a row-major one as (N*C, H, W, 1); one loop serves both layouts (convolutions
# leave their output channels-last, so that is the form to make fast: BENCHMARKS.md).

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


# The gradient of a 4-D activation can arrive in the other memory order than the arrays
# saved by the forward (a row-major gradient for a channels-last output, as a leaf's
# .grad is): each array is then read in its own order, as (N, A, B) for the gradient and
# (N, B, A) for the saved arrays and the output (A, B = C, H*W or H*W, C), the longer
# of A and B innermost. The mask comes as its uint8 view: read as bool in these strided
# loops, it made them five times slower (BENCHMARKS.md).

@_jit
def relu_grad_transposed(g_bits, mask, out_bits):
    n_, a_, b_ = g_bits.shape
    for n in range(n_):
        if a_ <= b_:
            for a in range(a_):
                for b in range(b_):
                    out_bits[n, b, a] = g_bits[n, a, b] & -g_bits.dtype.type(mask[n, b, a])
        else:
            for b in range(b_):
                for a in range(a_):
                    out_bits[n, b, a] = g_bits[n, a, b] & -g_bits.dtype.type(mask[n, b, a])


# Sigmoid and tanh over flat arrays in memory order. The forward needs exp, and Numba's
# is the C library's, one element at a time (no SVML in this llvmlite): 3.5 ns an
# element, where NumPy's exp runs in AVX-512 vectors at 0.5 ns (BENCHMARKS.md). So
# the sigmoid's forward is the textbook's formula in three passes over the output
# array: -|a| here, NumPy's exp in place, then e -> y here; the same operations on the
# same values as the textbook's eight NumPy calls, so the same bits. The tanh's forward
# is NumPy's tanh alone (one vectorised pass; Numba's is 10 to 50 times slower). The
# backward passes are the textbook's formulas in the textbook's order (g * y first),
# one pass instead of three NumPy calls.

@_jit
def neg_abs(a, out):
    for i in range(a.size):
        out[i] = -abs(a[i])


@_jit
def sigmoid_from_exp(a, e_y):
    """``e_y`` holds exp(-|a|) and receives the sigmoid: 1/(1+e) where a >= 0, else
    e * (1/(1+e)), both sides computed and one kept (a select, not a branch)."""
    one, zero = e_y.dtype.type(1), e_y.dtype.type(0)
    for i in range(a.size):
        e = e_y[i]
        inv = one / (one + e)
        e_y[i] = inv if a[i] >= zero else e * inv


@_jit
def sigmoid_grad(g, y, out):
    one = y.dtype.type(1)
    for i in range(g.size):
        t = y[i]
        out[i] = g[i] * t * (one - t)


@_jit
def tanh_grad(g, y, out):
    one = y.dtype.type(1)
    for i in range(g.size):
        t = y[i]
        out[i] = g[i] * (one - t * t)


@_jit
def _sigmoid_or_tanh_grad(gv, t, one, is_tanh):
    """One element: sigmoid's g * y * (1 - y) or tanh's g * (1 - y * y), in the textbook's
    order of operations."""
    if is_tanh:
        return gv * (one - t * t)
    return gv * t * (one - t)


@_jit
def activation_grad_transposed(g, y, out, is_tanh):
    """As sigmoid_grad (tanh_grad with ``is_tanh``), g as (N, A, B), y and out as
    (N, B, A); the longer axis innermost."""
    one = y.dtype.type(1)
    n_, a_, b_ = g.shape
    for n in range(n_):
        if a_ <= b_:
            for a in range(a_):
                for b in range(b_):
                    out[n, b, a] = _sigmoid_or_tanh_grad(g[n, a, b], y[n, b, a], one, is_tanh)
        else:
            for b in range(b_):
                for a in range(a_):
                    out[n, b, a] = _sigmoid_or_tanh_grad(g[n, a, b], y[n, b, a], one, is_tanh)


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
