"""The fast convolution and locally connected ops of the accelerated layer.

``conv.conv2d`` and ``locally_connected.locally_connected2d`` run these; the textbook
ops beside those functions are the oracle the tests hold them to.

The fast path pads once (no copy when there is no padding and the memory order already
fits), takes the windows as a strided view (no copy), copies them once into a contiguous
column matrix and does one matrix product; backward is the weight gradient's product
and a col2im that adds each kernel offset's slab into the padded gradient with ``+=`` on
a strided slice (``np.add.at`` is far slower). Inputs with many channels go
channels-last (N, H, W, C), so copies move runs of C numbers; inputs with few channels
(a grey or RGB first layer) stay channels-first, runs of OW numbers (see
:class:`FastConv2d`).
Either way the product's output (N*OH*OW, out) is already the NHWC image: the op returns
it as an (N, C, H, W) *view*, and elementwise ops and pooling keep that memory order
(``_layout.py``), so the next convolution finds its input channels-last and pays no
transpose. On NumPy float32/float64 arrays the input gradient of a one-group
convolution is added back by a compiled col2im (``compiled.py``).
"""
from .. import backend, grad_mode
from ..autograd import Function
from . import compiled
from ._layout import pad_channels_last, pad_channels_first


def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _window_view(xpad, groups, out_hw, kernel, stride, dilation):
    """Padded (N, Hp, Wp, C) -> windows (N, OH, OW, G, kh, kw, C/G), a view (no copy)."""
    xp = backend.get_array_module(xpad)
    n, _, _, c = xpad.shape
    s_n, s_h, s_w, s_c = xpad.strides
    cg = c // groups
    shape = (n, out_hw[0], out_hw[1], groups, kernel[0], kernel[1], cg)
    strides = (s_n, s_h * stride[0], s_w * stride[1], s_c * cg, s_h * dilation[0],
               s_w * dilation[1], s_c)
    return _as_strided(xp, xpad, shape, strides)


def _offset_slice(i, j, out_hw, stride, dilation):
    """Index of the (OH, OW) slab of a padded (N, Hp, Wp, ...) array that kernel offset
    (i, j) reads."""
    h0, w0 = i * dilation[0], j * dilation[1]
    return (slice(None), slice(h0, h0 + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
            slice(w0, w0 + stride[1] * (out_hw[1] - 1) + 1, stride[1]))


def col2im_channels_last(cols, padded_hw, kernel, stride, dilation):
    """Sum the columns (N, OH, OW, G, kh, kw, C/G) back into a padded (N, Hp, Wp, C) image.

    One ``+=`` per kernel offset on a strided slab: each slab touches every output
    position once, so no index repeats inside one addition (unlike ``np.add.at``).
    """
    xp = backend.get_array_module(cols)
    n, oh, ow, g, kh, kw, cg = cols.shape
    dxpad = xp.zeros((n, padded_hw[0], padded_hw[1], g, cg), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dxpad[_offset_slice(i, j, (oh, ow), stride, dilation)] += cols[:, :, :, :, i, j]
    return dxpad.reshape(n, padded_hw[0], padded_hw[1], g * cg)


def _window_count(padded, kernel, stride, dilation):
    """How many windows of a dilated kernel fit, ``stride`` apart, in a padded length
    (the output size along that axis)."""
    return (padded - dilation * (kernel - 1) - 1) // stride + 1


def _add_to_every_row(y, b):
    """``y += b`` for a C-ordered (rows, O) ``y``, with k rows taken as one of k*O
    numbers and ``b`` repeated k times: the same sums, but NumPy's inner loop then runs
    over dozens of numbers instead of O (at LeNet's (200704, 6): 1.44 -> 0.35 ms)."""
    xp = backend.get_array_module(y)
    rows, o = y.shape
    k = max(1, min(rows, 64 // o))
    while rows % k:
        k -= 1
    y.reshape(rows // k, k * o)[...] += xp.tile(b, k)


# -- convolution ------------------------------------------------------------------------

COL2IM_BLOCK_BYTES = 2 * 1024 * 1024
"""Size of one block of the column gradient on the compiled path, small enough to stay
in the cache between its product and its col2im (measured: BENCHMARKS.md)."""

IM2COL_BLOCK_BYTES = 2 * 1024 * 1024
"""Size of one block of the forward's columns, copied and multiplied while it is in the
cache; without a graph to record, one such block is all the columns there are (LeNet's
evaluation at batch 1000 copied 78 MB of columns into fresh pages: BENCHMARKS.md)."""

CHANNELS_FIRST_BELOW = 8
"""Inputs with fewer channels per group than this take the channels-first layout (see
FastConv2d)."""


class FastConv2d(Function):
    """The fast path: im2col and one matrix product per group (one in total when
    groups=1), in one of two column layouts, picked by the channels per group Cg:

    * channels-last (Cg >= CHANNELS_FIRST_BELOW): columns (N*OH*OW, G, kh*kw*Cg) copied from a
      channels-last padded input, so the copy moves runs of Cg numbers;
    * channels-first (few channels, e.g. the first layer on grey or RGB images): columns
      (G, Cg*kh*kw, N*OH*OW) copied from an NCHW padded input, runs of OW numbers; the
      weight's own (Cg, kh, kw) order is the row order, so the weight needs no copy.

    Both give the product as (N*OH*OW, O), i.e. an NHWC image, returned as an
    (N, O, OH, OW) view. The matrix products read the columns through transposed views
    (BLAS takes the transpose flag), so no further copies are made.

    Backward: weight gradient = one product with the saved columns. Input gradient:
    channels-last does one product per kernel offset, ``g @ W[:, :, i, j]`` -> an
    (N, OH, OW, C) slab added with ``+=`` into the padded gradient (contiguous source,
    long contiguous runs in the destination); channels-first does one product to (C, kh, kw, N,
    OH, OW) columns and adds each offset's slab the same way.
    """

    saves = ("channels_first", "cols", "w", "x_shape", "kernel", "out_hw", "has_bias",
             "padded_hw")

    def __init__(self, stride, pads, dilation, groups):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        g = self.groups
        og, kg = o // g, cg * kh * kw
        oh = _window_count(h + sum(self.pads[0]), kh, self.stride[0], self.dilation[0])
        ow = _window_count(wd + sum(self.pads[1]), kw, self.stride[1], self.dilation[1])
        rows = n * oh * ow
        (sh, sw), (dh, dw) = self.stride, self.dilation
        self.channels_first = cg < CHANNELS_FIRST_BELOW
        # the columns of `block` samples at a time; all of them are kept for backward
        # when a graph is recorded, else one block's buffer is reused
        block = n
        if xp is backend.np:  # (on a GPU one product is best)
            block = max(1, min(n, IM2COL_BLOCK_BYTES // (kg * g * oh * ow * x.itemsize)))
        kept = n if grad_mode.is_grad_enabled() else block
        if self.channels_first:
            xpad = pad_channels_first(x, self.pads)
            s_n, s_c, s_h, s_w = xpad.strides
            windows = _as_strided(xp, xpad, (g, cg, kh, kw, n, oh, ow),
                                  (s_c * cg, s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw))
            cols_t = xp.empty((g, kg, kept * oh * ow), dtype=x.dtype)
            cols = cols_t.transpose(0, 2, 1)  # (G, rows, Kg) view, K order (Cg, kh, kw)
            by_sample = cols_t.reshape(g, cg, kh, kw, kept, oh, ow)

            def copy_windows(start, stop, at):
                by_sample[:, :, :, :, at:at + stop - start] = windows[:, :, :, :, start:stop]
            w2 = w.reshape(g, og, kg)  # a view: the weight is already in that order
            self.padded_hw = xpad.shape[2:]
        else:
            xpad = pad_channels_last(x, self.pads)
            windows = _window_view(xpad, g, (oh, ow), (kh, kw), self.stride, self.dilation)
            cols_r = xp.empty((kept * oh * ow, g, kg), dtype=x.dtype)
            cols = cols_r.transpose(1, 0, 2)  # (G, rows, Kg) view, K order (kh, kw, Cg)
            by_sample = cols_r.reshape(kept, oh, ow, g, kh, kw, cg)

            def copy_windows(start, stop, at):
                by_sample[at:at + stop - start] = windows[start:stop]
            # K order (kh, kw, Cg): reorder the (small) weight to match
            w2 = xp.ascontiguousarray(
                w.reshape(g, og, cg, kh, kw).transpose(0, 1, 3, 4, 2)).reshape(g, og, kg)
            self.padded_hw = xpad.shape[1:3]
        y = xp.empty((rows, g, og), dtype=x.dtype)
        for start in range(0, n, block):
            stop = min(n, start + block)
            at = start if kept == n else 0  # where the block's columns go
            copy_windows(start, stop, at)
            xp.matmul(cols[:, at * oh * ow:(at + stop - start) * oh * ow],
                      w2.transpose(0, 2, 1),
                      out=y[start * oh * ow:stop * oh * ow].transpose(1, 0, 2))
        y = y.reshape(rows, o)
        if b is not None:
            _add_to_every_row(y, b)
        self.cols, self.w = cols, w
        self.x_shape, self.kernel, self.out_hw = x.shape, (kh, kw), (oh, ow)
        self.has_bias = b is not None
        return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        needs = self.needs_input_grad
        n, c, h, wd = self.x_shape
        (oh, ow), (kh, kw), g = self.out_hw, self.kernel, self.groups
        rows, o = n * oh * ow, grad.shape[1]
        og, cg = o // g, c // g
        grad_rows = xp.ascontiguousarray(grad.transpose(0, 2, 3, 1)).reshape(rows, g, og)
        gx = gw = gb = None
        if needs[0]:
            input_grad = (self._input_grad_channels_first if self.channels_first
                          else self._input_grad_channels_last)
            gx = input_grad(xp, grad_rows)
        if needs[1]:
            # (G, Og, Kg): each group's output gradient times its columns
            weight_grad_rows = xp.matmul(grad_rows.transpose(1, 2, 0), self.cols)
            if self.channels_first:
                gw = weight_grad_rows.reshape(o, cg, kh, kw)
            else:  # K order (kh, kw, Cg) -> the weight's (Cg, kh, kw)
                gw = xp.ascontiguousarray(
                    weight_grad_rows.reshape(o, kh, kw, cg).transpose(0, 3, 1, 2))
        if self.has_bias and needs[2]:
            # the column sums as a product with ones: NumPy's sum over the long axis of
            # a (rows, O) array with few columns ran 25x slower (BENCHMARKS.md)
            gb = xp.ones(rows, dtype=grad_rows.dtype) @ grad_rows.reshape(rows, o)
        return gx, gw, gb

    def _input_grad_channels_last(self, xp, grad_rows):
        n, c, h, wd = self.x_shape
        (oh, ow), (kh, kw), g = self.out_hw, self.kernel, self.groups
        og, cg = grad_rows.shape[2], c // g
        kernels = compiled.kernels_for(grad_rows, self.w) if g == 1 else None
        if kernels:
            return self._input_grad_compiled(kernels, grad_rows.reshape(-1, og))
        # per-offset weights (kh, kw, G, Og, Cg), contiguous for the products
        weight_rows = xp.ascontiguousarray(
            self.w.reshape(g, og, cg, kh, kw).transpose(3, 4, 0, 1, 2))
        dxpad = xp.zeros((n,) + tuple(self.padded_hw) + (g, cg), dtype=grad_rows.dtype)
        slab = xp.empty((grad_rows.shape[0], g, cg), dtype=grad_rows.dtype)
        grad_rows_by_group = grad_rows.transpose(1, 0, 2)
        for i in range(kh):
            for j in range(kw):
                xp.matmul(grad_rows_by_group, weight_rows[i, j], out=slab.transpose(1, 0, 2))
                dxpad[_offset_slice(i, j, (oh, ow), self.stride, self.dilation)] += \
                    slab.reshape(n, oh, ow, g, cg)
        (pt, _), (pl, _) = self.pads
        return dxpad.reshape(dxpad.shape[:3] + (c,))[:, pt:pt + h, pl:pl + wd].transpose(
            0, 3, 1, 2)

    def _input_grad_compiled(self, kernels, grad_rows):
        """Column gradient by one product per block of rows, each block added into the
        image gradient by a compiled col2im while it is still in the cache. (The NumPy
        path needs a small product and a strided addition per kernel offset; one product
        for all rows at once is slower: at batch 64 its 14 MB result leaves the cache.)"""
        np = backend.np
        n, c, h, wd = self.x_shape
        o, (kh, kw) = grad_rows.shape[1], self.kernel
        weight_rows = np.ascontiguousarray(self.w.transpose(0, 2, 3, 1)).reshape(
            o, kh * kw * c)
        dxpad = np.zeros((n,) + tuple(self.padded_hw) + (c,), dtype=grad_rows.dtype)
        rows = max(1, COL2IM_BLOCK_BYTES // (weight_rows.shape[1] * grad_rows.itemsize))
        block = np.empty((rows, weight_rows.shape[1]), dtype=grad_rows.dtype)
        for start in range(0, grad_rows.shape[0], rows):
            part = grad_rows[start:start + rows]
            cols = np.matmul(part, weight_rows, out=block[:len(part)])
            kernels.col2im_nhwc(cols, start, self.out_hw, self.kernel, self.stride,
                                self.dilation, dxpad)
        (pt, _), (pl, _) = self.pads
        return dxpad[:, pt:pt + h, pl:pl + wd].transpose(0, 3, 1, 2)

    def _input_grad_channels_first(self, xp, grad_rows):
        n, c, h, wd = self.x_shape
        (oh, ow), (kh, kw), g = self.out_hw, self.kernel, self.groups
        og, cg = grad_rows.shape[2], c // g
        w2 = self.w.reshape(g, og, cg * kh * kw)
        gcols = xp.matmul(w2.transpose(0, 2, 1), grad_rows.transpose(1, 2, 0))  # (G, Kg, rows)
        gcols = gcols.reshape(c, kh, kw, n, oh, ow)
        dxpad = xp.zeros((n, c) + tuple(self.padded_hw), dtype=grad_rows.dtype)
        planes = dxpad.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp) view
        for i in range(kh):
            for j in range(kw):
                where = (slice(None),) + _offset_slice(i, j, (oh, ow), self.stride,
                                                       self.dilation)
                planes[where] += gcols[:, i, j]
        (pt, _), (pl, _) = self.pads
        return dxpad[:, :, pt:pt + h, pl:pl + wd]


# -- locally connected ------------------------------------------------------------------

class FastLocallyConnected2d(Function):
    """The fast path: columns (N, L, C*kh*kw) and one batched product over the L = OH*OW
    positions, each with its own (C*kh*kw, out) weight matrix.

    Weight layout (OH, OW, out, in, kh, kw); bias (out, OH, OW).
    """

    saves = ("cols", "w3", "w_shape", "x_shape", "padded_hw", "has_bias")

    def __init__(self, stride, pads):
        self.stride, self.pads = stride, pads

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        n, c, h, wd = x.shape
        oh, ow, o, _, kh, kw = w.shape
        xpad = pad_channels_last(x, self.pads)
        windows = _window_view(xpad, 1, (oh, ow), (kh, kw), self.stride, (1, 1))
        k = c * kh * kw
        # (N, OH, OW, 1, kh, kw, C) -> columns (L, N, C*kh*kw) in the weight's (C, kh, kw)
        # order; position-major so that each position's matrix is contiguous
        cols = xp.ascontiguousarray(
            windows[:, :, :, 0].transpose(1, 2, 0, 5, 3, 4)).reshape(oh * ow, n, k)
        w3 = w.reshape(oh * ow, o, k)
        y = xp.matmul(cols, w3.transpose(0, 2, 1))  # (L, N, O)
        self.cols, self.w3, self.w_shape = cols, w3, w.shape
        self.x_shape, self.padded_hw = x.shape, xpad.shape[1:3]
        self.has_bias = b is not None
        y = y.reshape(oh, ow, n, o).transpose(2, 3, 0, 1)
        if b is not None:
            y = y + b
        return y

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        needs = self.needs_input_grad
        n, c, h, wd = self.x_shape
        oh, ow, o, _, kh, kw = self.w_shape
        g3 = xp.ascontiguousarray(grad.transpose(2, 3, 0, 1)).reshape(oh * ow, n, o)
        gx = gw = gb = None
        if needs[0]:
            gcols = xp.matmul(g3, self.w3)  # (L, N, K) with K in (C, kh, kw) order
            gcols = gcols.reshape(oh, ow, n, c, kh, kw).transpose(2, 0, 1, 4, 5, 3)
            dxpad = col2im_channels_last(gcols[:, :, :, None], self.padded_hw, (kh, kw),
                                         self.stride, (1, 1))
            (pt, _), (pl, _) = self.pads
            gx = dxpad[:, pt:pt + h, pl:pl + wd].transpose(0, 3, 1, 2)
        if needs[1]:
            gw = xp.matmul(g3.transpose(0, 2, 1), self.cols).reshape(self.w_shape)
        if self.has_bias and needs[2]:
            gb = grad.sum(axis=0)
        return gx, gw, gb
