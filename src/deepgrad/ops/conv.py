"""2-D convolution and locally connected layers as ops: ``conv2d``, ``locally_connected2d``.

Conventions (PyTorch's): input ``x`` is (N, C, H, W); a convolution's weight is
(out, in/groups, kh, kw); the output size along each spatial axis is::

    out = (in + pad_before + pad_after - dilation * (k - 1) - 1) // stride + 1

and output pixel ``(oh, ow)`` reads input pixels ``(oh*stride + i*dilation - pad_before,
ow*stride + j*dilation - pad_before)`` for kernel offsets ``(i, j)`` (cross-correlation,
no kernel flip).

Two implementations of each op:

* the fast path (default) pads once (no copy when there is no padding and the memory
  order already fits), takes the windows as a strided view (no copy), copies them once
  into a contiguous column matrix and does one matrix product; backward is the weight
  gradient's product and a col2im that adds each kernel offset's slab into the padded
  gradient with ``+=`` on a strided slice (``np.add.at`` is far slower). Inputs with
  many channels go channels-last (N, H, W, C), so copies move runs of C numbers; inputs
  with few channels (a grey or RGB first layer) go planar, runs of OW numbers (see
  :class:`Conv2d`). Either way the product's output (N*OH*OW, out) is already the NHWC
  image: the op returns it as an (N, C, H, W) *view*, and elementwise ops and pooling
  keep that memory order, so the next convolution finds its input channels-last and
  pays no transpose.
* the simple path (``method="simple"``) loops over the kh*kw kernel offsets and does one
  small tensor contraction per offset. It shares no code with the fast path and is kept
  as the test oracle.
"""
from .. import backend
from ..autograd import Function, Tensor
from . import compiled

METHODS = ("fast", "simple")


# -- argument parsing (shared with pool.py and the layers) -----------------------------

def pair(who, name, value, minimum=1):
    """An int or a pair of ints -> a tuple of two ints, each ``>= minimum``."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        items = tuple(value)
    elif isinstance(value, (list, tuple)):
        raise ValueError(f"{who}: {name} must be an int or a pair of ints, got {value!r}")
    else:
        items = (value, value)
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(f"{who}: {name} must be an int >= {minimum} or a pair of them, "
                             f"got {value!r}")
    return items


def parse_padding(who, padding, kernel_size, stride, dilation, allow_strings=True):
    """Padding as ((top, bottom), (left, right)).

    ``'valid'`` is no padding; ``'same'`` (stride 1 only, as in PyTorch) pads a total of
    ``dilation * (k - 1)`` per axis, the extra pixel of an odd total at the end.
    """
    if isinstance(padding, str):
        if not allow_strings:
            raise ValueError(f"{who}: padding must be an int or a pair of ints, got "
                             f"{padding!r}")
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{who}: padding='same' needs stride 1, got stride "
                                 f"{stride}")
            pads = []
            for k, d in zip(kernel_size, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{who}: padding must be an int, a pair, 'same' or 'valid', got "
                         f"{padding!r}")
    ph, pw = pair(who, "padding", padding, minimum=0)
    return (ph, ph), (pw, pw)


def output_size(size, pads, kernel, stride, dilation):
    """The output length along one axis (floor mode)."""
    return (size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1


def check_input(who, x, channels=None):
    """A 4-D (N, C, H, W) floating-point input with ``channels`` channels."""
    shape = tuple(x.shape)
    if len(shape) != 4:
        raise ValueError(f"{who}: expected a 4-D input (N, C, H, W), got shape {shape}")
    if channels is not None and shape[1] != channels:
        raise ValueError(f"{who}: expected {channels} input channels, got input of shape "
                         f"{shape} ({shape[1]} channels)")
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: input must be floating point, got dtype {x.dtype}")


def check_fits(who, shape, pads, kernel, dilation):
    """The dilated kernel must fit in the padded input."""
    for axis, (n, p, k, d) in enumerate(zip(shape[2:], pads, kernel, dilation)):
        extent = d * (k - 1) + 1
        if n + p[0] + p[1] < extent:
            padded = tuple(s + q[0] + q[1] for s, q in zip(shape[2:], pads))
            raise ValueError(f"{who}: the kernel {tuple(kernel)} (dilation {tuple(dilation)}, "
                             f"extent {extent} on axis {axis + 2}) is larger than the padded "
                             f"input {padded} (input shape {tuple(shape)})")


# -- layout helpers for the fast path --------------------------------------------------

def _as_strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def pad_channels_last(x, pads, fill=0):
    """(N, C, H, W) in any memory order -> padded (N, Hp, Wp, C), C-contiguous.

    Returns ``x`` itself (as a transposed view) when there is no padding and x is already
    channels-last in memory; otherwise one copy, writing the fill only on the border.
    """
    xp = backend.get_array_module(x)
    (pt, pb), (pl, pr) = pads
    n, c, h, w = x.shape
    xt = x.transpose(0, 2, 3, 1)
    if not (pt or pb or pl or pr) and xt.flags.c_contiguous:
        return xt
    out = xp.empty((n, h + pt + pb, w + pl + pr, c), dtype=x.dtype)
    out[:, :pt] = fill
    out[:, pt + h:] = fill
    out[:, pt:pt + h, :pl] = fill
    out[:, pt:pt + h, pl + w:] = fill
    out[:, pt:pt + h, pl:pl + w] = xt
    return out


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


# -- convolution -----------------------------------------------------------------------

COL2IM_BLOCK_BYTES = 2 * 1024 * 1024
"""Size of one block of the column gradient on the compiled path, small enough to stay
in the cache between its product and its col2im. Measured on the 2-core EPYC for the
benchmark convnet's second layer, input gradient at batch 64 / 256: 128 KB blocks 8.3 /
28 ms, 512 KB 6.4 / 22, 2 MB 5.0 / 20, 4 MB 4.9 / 23; the NumPy path 6.5 / 52 ms."""

PLANAR_BELOW = 8
"""Inputs with fewer channels per group than this take the planar layout (see Conv2d)."""


def pad_planar(x, pads):
    """(N, C, H, W) -> zero-padded C-contiguous (N, C, Hp, Wp); ``x`` itself if it already
    is one."""
    xp = backend.get_array_module(x)
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr) and x.flags.c_contiguous:
        return x
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=x.dtype)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


class Conv2d(Function):
    """The fast path: im2col and one matrix product per group (one in total when
    groups=1), in one of two column layouts, picked by the channels per group Cg:

    * channels-last (Cg >= PLANAR_BELOW): columns (N*OH*OW, G, kh*kw*Cg) copied from a
      channels-last padded input, so the copy moves runs of Cg numbers;
    * planar (few channels, e.g. the first layer on grey or RGB images): columns
      (G, Cg*kh*kw, N*OH*OW) copied from an NCHW padded input, runs of OW numbers; the
      weight's own (Cg, kh, kw) order is the row order, so the weight needs no copy.

    Both give the product as (N*OH*OW, O), i.e. an NHWC image, returned as an
    (N, O, OH, OW) view. The matrix products read the columns through transposed views
    (BLAS takes the transpose flag), so no further copies are made.

    Backward: weight gradient = one product with the saved columns. Input gradient:
    channels-last does one product per kernel offset, ``g @ W[:, :, i, j]`` -> an
    (N, OH, OW, C) slab added with ``+=`` into the padded gradient (contiguous source,
    long contiguous runs in the destination); planar does one product to (C, kh, kw, N,
    OH, OW) columns and adds each offset's slab the same way.
    """

    def __init__(self, stride, pads, dilation, groups):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        g = self.groups
        og, kg = o // g, cg * kh * kw
        oh = output_size(h, self.pads[0], kh, self.stride[0], self.dilation[0])
        ow = output_size(wd, self.pads[1], kw, self.stride[1], self.dilation[1])
        rows = n * oh * ow
        (sh, sw), (dh, dw) = self.stride, self.dilation
        self.planar = cg < PLANAR_BELOW
        if self.planar:
            xpad = pad_planar(x, self.pads)
            s_n, s_c, s_h, s_w = xpad.strides
            windows = _as_strided(xp, xpad, (g, cg, kh, kw, n, oh, ow),
                                  (s_c * cg, s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw))
            cols_t = xp.ascontiguousarray(windows).reshape(g, kg, rows)
            cols = cols_t.transpose(0, 2, 1)  # (G, rows, Kg) view, K order (Cg, kh, kw)
            w2 = w.reshape(g, og, kg)  # a view: the weight is already in that order
            self.padded_hw = xpad.shape[2:]
        else:
            xpad = pad_channels_last(x, self.pads)
            windows = _window_view(xpad, g, (oh, ow), (kh, kw), self.stride, self.dilation)
            cols = xp.ascontiguousarray(windows).reshape(rows, g, kg).transpose(1, 0, 2)
            # K order (kh, kw, Cg): reorder the (small) weight to match
            w2 = xp.ascontiguousarray(
                w.reshape(g, og, cg, kh, kw).transpose(0, 1, 3, 4, 2)).reshape(g, og, kg)
            self.padded_hw = xpad.shape[1:3]
        y = xp.empty((rows, g, og), dtype=x.dtype)
        xp.matmul(cols, w2.transpose(0, 2, 1), out=y.transpose(1, 0, 2))
        y = y.reshape(rows, o)
        if b is not None:
            y += b
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
        g2 = xp.ascontiguousarray(grad.transpose(0, 2, 3, 1)).reshape(rows, g, og)
        gx = gw = gb = None
        if needs[0]:
            gx = (self._input_grad_planar if self.planar else self._input_grad_channels_last)(
                xp, g2)
        if needs[1]:
            gw2 = xp.matmul(g2.transpose(1, 2, 0), self.cols)  # (G, Og, Kg)
            if self.planar:
                gw = gw2.reshape(o, cg, kh, kw)
            else:  # K order (kh, kw, Cg) -> the weight's (Cg, kh, kw)
                gw = xp.ascontiguousarray(
                    gw2.reshape(o, kh, kw, cg).transpose(0, 3, 1, 2))
        if self.has_bias and needs[2]:
            gb = g2.reshape(rows, o).sum(axis=0)
        return gx, gw, gb

    def _input_grad_channels_last(self, xp, g2):
        n, c, h, wd = self.x_shape
        (oh, ow), (kh, kw), g = self.out_hw, self.kernel, self.groups
        og, cg = g2.shape[2], c // g
        kernels = compiled.kernels_for(g2, self.w) if g == 1 else None
        if kernels:
            return self._input_grad_compiled(kernels, g2.reshape(-1, og))
        # per-offset weights (kh, kw, G, Og, Cg), contiguous for the products
        wk = xp.ascontiguousarray(
            self.w.reshape(g, og, cg, kh, kw).transpose(3, 4, 0, 1, 2))
        dxpad = xp.zeros((n,) + tuple(self.padded_hw) + (g, cg), dtype=g2.dtype)
        slab = xp.empty((g2.shape[0], g, cg), dtype=g2.dtype)
        g2_t = g2.transpose(1, 0, 2)
        for i in range(kh):
            for j in range(kw):
                xp.matmul(g2_t, wk[i, j], out=slab.transpose(1, 0, 2))
                dxpad[_offset_slice(i, j, (oh, ow), self.stride, self.dilation)] += \
                    slab.reshape(n, oh, ow, g, cg)
        (pt, _), (pl, _) = self.pads
        return dxpad.reshape(dxpad.shape[:3] + (c,))[:, pt:pt + h, pl:pl + wd].transpose(
            0, 3, 1, 2)

    def _input_grad_compiled(self, kernels, g2):
        """Column gradient by one product per block of rows, each block added into the
        image gradient by a compiled col2im while it is still in the cache. (The NumPy
        path needs a small product and a strided addition per kernel offset; one product
        for all rows at once is slower: at batch 64 its 14 MB result leaves the cache.)"""
        np = backend.np
        n, c, h, wd = self.x_shape
        o, (kh, kw) = g2.shape[1], self.kernel
        wk = np.ascontiguousarray(self.w.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)
        dxpad = np.zeros((n,) + tuple(self.padded_hw) + (c,), dtype=g2.dtype)
        rows = max(1, COL2IM_BLOCK_BYTES // (wk.shape[1] * g2.itemsize))
        block = np.empty((rows, wk.shape[1]), dtype=g2.dtype)
        for start in range(0, g2.shape[0], rows):
            part = g2[start:start + rows]
            cols = np.matmul(part, wk, out=block[:len(part)])
            kernels.col2im_nhwc(cols, start, self.out_hw, self.kernel, self.stride,
                                self.dilation, dxpad)
        (pt, _), (pl, _) = self.pads
        return dxpad[:, pt:pt + h, pl:pl + wd].transpose(0, 3, 1, 2)

    def _input_grad_planar(self, xp, g2):
        n, c, h, wd = self.x_shape
        (oh, ow), (kh, kw), g = self.out_hw, self.kernel, self.groups
        og, cg = g2.shape[2], c // g
        w2 = self.w.reshape(g, og, cg * kh * kw)
        gcols = xp.matmul(w2.transpose(0, 2, 1), g2.transpose(1, 2, 0))  # (G, Kg, rows)
        gcols = gcols.reshape(c, kh, kw, n, oh, ow)
        dxpad = xp.zeros((n, c) + tuple(self.padded_hw), dtype=g2.dtype)
        planes = dxpad.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp) view
        for i in range(kh):
            for j in range(kw):
                where = (slice(None),) + _offset_slice(i, j, (oh, ow), self.stride,
                                                       self.dilation)
                planes[where] += gcols[:, i, j]
        (pt, _), (pl, _) = self.pads
        return dxpad[:, :, pt:pt + h, pl:pl + wd]


class Conv2dSimple(Function):
    """The oracle: for each kernel offset (i, j), ``y += W[:, :, i, j] . x_slab(i, j)``."""

    def __init__(self, stride, pads, dilation, groups):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups

    def _slab(self, i, j, out_hw):
        h0, w0 = i * self.dilation[0], j * self.dilation[1]
        s = self.stride
        return (slice(None), slice(None),
                slice(h0, h0 + s[0] * (out_hw[0] - 1) + 1, s[0]),
                slice(w0, w0 + s[1] * (out_hw[1] - 1) + 1, s[1]))

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        g, og = self.groups, o // self.groups
        xpad = xp.pad(x, ((0, 0), (0, 0)) + tuple(self.pads))
        out_hw = (output_size(h, self.pads[0], kh, self.stride[0], self.dilation[0]),
                  output_size(wd, self.pads[1], kw, self.stride[1], self.dilation[1]))
        y = xp.zeros((n, o) + out_hw, dtype=x.dtype)
        for grp in range(g):
            xs, ws = xpad[:, grp * cg:(grp + 1) * cg], w[grp * og:(grp + 1) * og]
            for i in range(kh):
                for j in range(kw):
                    y[:, grp * og:(grp + 1) * og] += xp.einsum(
                        "nchw,oc->nohw", xs[self._slab(i, j, out_hw)], ws[:, :, i, j])
        if b is not None:
            y += b[:, None, None]
        self.xpad, self.w, self.x_shape, self.out_hw = xpad, w, x.shape, out_hw
        self.has_bias = b is not None
        return y

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        xpad, w = self.xpad, self.w
        o, cg, kh, kw = w.shape
        g, og = self.groups, o // self.groups
        dxpad, gw = xp.zeros_like(xpad), xp.zeros_like(w)
        for grp in range(g):
            go, oo = grad[:, grp * og:(grp + 1) * og], slice(grp * og, (grp + 1) * og)
            cc = slice(grp * cg, (grp + 1) * cg)
            for i in range(kh):
                for j in range(kw):
                    slab = self._slab(i, j, self.out_hw)
                    gw[oo, :, i, j] += xp.einsum("nohw,nchw->oc", go, xpad[:, cc][slab])
                    dxpad[:, cc][slab] += xp.einsum("nohw,oc->nchw", go, w[oo, :, i, j])
        (pt, _), (pl, _) = self.pads
        h, wd = self.x_shape[2:]
        gx = dxpad[:, :, pt:pt + h, pl:pl + wd]
        gb = grad.sum(axis=(0, 2, 3)) if self.has_bias else None
        needs = self.needs_input_grad
        return (gx if needs[0] else None, gw if needs[1] else None,
                gb if self.has_bias and needs[2] else None)


def _data(t):
    return t._data if isinstance(t, Tensor) else t


def _operands(who, method, input, weight, axes):
    """The input's and weight's arrays, after checking ``method`` and that the weight has
    one dimension per name in ``axes`` (its layout, for the message)."""
    if method not in METHODS:
        raise ValueError(f"{who}: method must be one of {METHODS}, got {method!r}")
    x, w = _data(input), _data(weight)
    if w.ndim != len(axes):
        raise ValueError(f"{who}: weight must be {len(axes)}-D ({', '.join(axes)}), got "
                         f"shape {tuple(w.shape)}")
    return x, w


def _check_same_dtype(who, x, w):
    if x.dtype != w.dtype:
        raise TypeError(f"{who}: input has dtype {x.dtype} but weight has {w.dtype}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           method="fast"):
    """2-D cross-correlation, ``torch.nn.functional.conv2d``'s signature and semantics.

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``. ``method`` picks the
    implementation: ``'fast'`` (im2col, channels-last) or ``'simple'`` (the oracle).
    """
    who = "conv2d"
    x, w = _operands(who, method, input, weight, ("out", "in/groups", "kh", "kw"))
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{who}: groups must be a positive int, got {groups!r}")
    if w.shape[0] % groups:
        raise ValueError(f"{who}: out channels {w.shape[0]} are not divisible by groups "
                         f"{groups}")
    check_input(who, x, w.shape[1] * groups)
    _check_same_dtype(who, x, w)
    stride = pair(who, "stride", stride)
    dilation = pair(who, "dilation", dilation)
    pads = parse_padding(who, padding, w.shape[2:], stride, dilation)
    check_fits(who, x.shape, pads, w.shape[2:], dilation)
    if bias is not None and tuple(_data(bias).shape) != (w.shape[0],):
        raise ValueError(f"{who}: bias must have shape ({w.shape[0]},), got "
                         f"{tuple(_data(bias).shape)}")
    op = (Conv2d if method == "fast" else Conv2dSimple)(stride, pads, dilation, groups)
    return op(input, weight) if bias is None else op(input, weight, bias)


# -- locally connected -----------------------------------------------------------------

class LocallyConnected2d(Function):
    """The fast path: columns (N, L, C*kh*kw) and one batched product over the L = OH*OW
    positions, each with its own (C*kh*kw, out) weight matrix.

    Weight layout (OH, OW, out, in, kh, kw); bias (out, OH, OW).
    """

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


class LocallyConnected2dSimple(Function):
    """The oracle: for each kernel offset (i, j),
    ``y[n, o, p, q] += sum_c W[p, q, o, c, i, j] * x_slab(i, j)[n, c, p, q]``."""

    def __init__(self, stride, pads):
        self.stride, self.pads = stride, pads

    def _slab(self, i, j, out_hw):
        s = self.stride
        return (slice(None), slice(None), slice(i, i + s[0] * (out_hw[0] - 1) + 1, s[0]),
                slice(j, j + s[1] * (out_hw[1] - 1) + 1, s[1]))

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        oh, ow, o, c, kh, kw = w.shape
        xpad = xp.pad(x, ((0, 0), (0, 0)) + tuple(self.pads))
        y = xp.zeros((x.shape[0], o, oh, ow), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                y += xp.einsum("nchw,hwoc->nohw", xpad[self._slab(i, j, (oh, ow))],
                               w[:, :, :, :, i, j])
        if b is not None:
            y += b
        self.xpad, self.w, self.x_shape = xpad, w, x.shape
        self.has_bias = b is not None
        return y

    def backward(self, grad):
        xp = backend.get_array_module(grad)
        xpad, w = self.xpad, self.w
        oh, ow, o, c, kh, kw = w.shape
        dxpad, gw = xp.zeros_like(xpad), xp.zeros_like(w)
        for i in range(kh):
            for j in range(kw):
                slab = self._slab(i, j, (oh, ow))
                gw[:, :, :, :, i, j] = xp.einsum("nohw,nchw->hwoc", grad, xpad[slab])
                dxpad[slab] += xp.einsum("nohw,hwoc->nchw", grad, w[:, :, :, :, i, j])
        (pt, _), (pl, _) = self.pads
        h, wd = self.x_shape[2:]
        needs = self.needs_input_grad
        gb = grad.sum(axis=0) if self.has_bias and needs[2] else None
        return (dxpad[:, :, pt:pt + h, pl:pl + wd] if needs[0] else None,
                gw if needs[1] else None, gb)


def locally_connected2d(input, weight, bias=None, stride=1, padding=0, *, method="fast"):
    """A convolution with its own weights at every output position (no sharing).

    ``weight`` is (OH, OW, out, in, kh, kw): ``weight[p, q]`` is an ordinary conv
    weight used only at output position (p, q). ``bias`` is (out, OH, OW) or None.
    ``padding`` is an int, a pair or ``'valid'``/``'same'`` (stride 1).
    """
    who = "locally_connected2d"
    x, w = _operands(who, method, input, weight, ("OH", "OW", "out", "in", "kh", "kw"))
    check_input(who, x, w.shape[3])
    _check_same_dtype(who, x, w)
    stride = pair(who, "stride", stride)
    kernel = w.shape[4:]
    pads = parse_padding(who, padding, kernel, stride, (1, 1))
    check_fits(who, x.shape, pads, kernel, (1, 1))
    out_hw = tuple(output_size(x.shape[2 + a], pads[a], kernel[a], stride[a], 1)
                   for a in range(2))
    if tuple(w.shape[:2]) != out_hw:
        raise ValueError(f"{who}: input of shape {tuple(x.shape)} gives an output of "
                         f"{out_hw} positions, but the weight is for {tuple(w.shape[:2])} "
                         f"(weight shape {tuple(w.shape)})")
    if bias is not None and tuple(_data(bias).shape) != (w.shape[2],) + out_hw:
        raise ValueError(f"{who}: bias must have shape {(w.shape[2],) + out_hw}, got "
                         f"{tuple(_data(bias).shape)}")
    op = (LocallyConnected2d if method == "fast" else LocallyConnected2dSimple)(stride, pads)
    return op(input, weight) if bias is None else op(input, weight, bias)
