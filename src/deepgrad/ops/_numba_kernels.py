"""The Numba kernels behind :mod:`deepgrad.ops.compiled` (imported only through it, so
``import deepgrad`` never loads Numba).

2x2 max pooling with stride 2: the window's values ``a, b, c, d`` (row-major), the
maximum taken with PyTorch's rule (ties keep the first offset; a NaN wins, the last one
if several), and the offset of the maximum counted branch-free as the number of leading
values that differ from it.
"""
import numba

_jit = numba.njit(cache=True, nogil=True)


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


@_jit
def max_pool_2x2_nchw(x, out, idx):
    n_, c_, oh_, ow_ = out.shape
    for n in range(n_):
        for c in range(c_):
            for oh in range(oh_):
                for ow in range(ow_):
                    h, w = 2 * oh, 2 * ow
                    best, at = _window(x[n, c, h, w], x[n, c, h, w + 1],
                                       x[n, c, h + 1, w], x[n, c, h + 1, w + 1])
                    out[n, c, oh, ow] = best
                    idx[n, c, oh, ow] = at


@_jit
def max_pool_2x2_nhwc(x, out, idx):
    n_, oh_, ow_, c_ = out.shape
    for n in range(n_):
        for oh in range(oh_):
            for ow in range(ow_):
                h, w = 2 * oh, 2 * ow
                for c in range(c_):
                    best, at = _window(x[n, h, w, c], x[n, h, w + 1, c],
                                       x[n, h + 1, w, c], x[n, h + 1, w + 1, c])
                    out[n, oh, ow, c] = best
                    idx[n, oh, ow, c] = at


# Backward: the windows do not overlap, so each input element of a window receives its
# window's gradient or zero; all four are written (no zero-filled buffer to make first).
# The arrays come as integer views of the float bits (int32 for float32): masking bits
# with -(k == i), all ones or all zeros, vectorises, where a float select compiled to
# scalar code five times slower. Same values either way (a zero is all zero bits).

@_jit
def max_pool_2x2_grad_nchw(g_bits, idx, dx_bits):
    n_, c_, oh_, ow_ = g_bits.shape
    for n in range(n_):
        for c in range(c_):
            for oh in range(oh_):
                for ow in range(ow_):
                    k, v = idx[n, c, oh, ow], g_bits[n, c, oh, ow]
                    h, w = 2 * oh, 2 * ow
                    dx_bits[n, c, h, w] = v & -(k == 0)
                    dx_bits[n, c, h, w + 1] = v & -(k == 1)
                    dx_bits[n, c, h + 1, w] = v & -(k == 2)
                    dx_bits[n, c, h + 1, w + 1] = v & -(k == 3)


@_jit
def max_pool_2x2_grad_nhwc(g_bits, idx, dx_bits):
    n_, oh_, ow_, c_ = g_bits.shape
    for n in range(n_):
        for oh in range(oh_):
            for ow in range(ow_):
                h, w = 2 * oh, 2 * ow
                for c in range(c_):
                    k, v = idx[n, oh, ow, c], g_bits[n, oh, ow, c]
                    dx_bits[n, h, w, c] = v & -(k == 0)
                    dx_bits[n, h, w + 1, c] = v & -(k == 1)
                    dx_bits[n, h + 1, w, c] = v & -(k == 2)
                    dx_bits[n, h + 1, w + 1, c] = v & -(k == 3)


MAX_POOL_2X2 = (max_pool_2x2_nchw, max_pool_2x2_nhwc)
MAX_POOL_2X2_GRAD = (max_pool_2x2_grad_nchw, max_pool_2x2_grad_nhwc)


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
