"""2-D convolution as an op: ``conv2d``, ``torch.nn.functional.conv2d``'s signature.

Conventions (PyTorch's): input ``x`` is (N, C, H, W); the weight is (out, in/groups, kh,
kw); the output size along each spatial axis is::

    out = (in + pad_before + pad_after - dilation * (k - 1) - 1) // stride + 1

and output pixel ``(p, q)`` reads input pixels ``(p*stride + i*dilation - pad_before,
q*stride + j*dilation - pad_before)`` for kernel offsets ``(i, j)`` (cross-correlation,
no kernel flip). With groups, output channels ``o`` of group ``g`` read only input
channels ``c`` of group ``g``.

:class:`Conv2d` below is the textbook form: pad once, then for each kernel offset (i, j)
take the slab of the padded input that offset reads, one strided view of (N, C, OH, OW),
and add its contraction with ``w[:, :, i, j]`` over the input channels::

    y[n, o, p, q] = b[o] + sum_{i,j,c} w[o, c, i, j] * xpad[n, c, p*sh + i*dh, q*sw + j*dw]

Backward walks the same offsets: the weight gradient at (i, j) is the output gradient
contracted with that slab, and the slab's share of the input gradient (the output
gradient contracted with ``w[:, :, i, j]``) is added back where the slab came from.

:func:`conv2d` checks its arguments and runs the accelerated layer: oneDNN's
primitives where the optional library is installed (``_conv_onednn.py``, float32), else
the fast NumPy path (``_conv_fast.py``: im2col and one matrix product, memory layouts, a
compiled col2im); the tests hold both to this one through ``_conv2d_reference``.
"""
from .. import backend
from ..autograd import Function
from ._conv_fast import FastConv2d
from ._conv_onednn import op_for as onednn_op_for, op_seen as onednn_op_seen
from ..checks import (array_of, check_fits, check_input, check_same_dtype, check_tensor,
                      check_weight, pair,
                     parse_padding)


def window_slab(i, j, out_hw, stride, dilation):
    """Index of the (N, C, OH, OW) slab of a padded (N, C, Hp, Wp) array that kernel
    offset (i, j) reads: rows i*dh, i*dh + sh, ..., columns j*dw, j*dw + sw, ..."""
    h0, w0 = i * dilation[0], j * dilation[1]
    return (slice(None), slice(None),
            slice(h0, h0 + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
            slice(w0, w0 + stride[1] * (out_hw[1] - 1) + 1, stride[1]))


# -- the textbook convolution ----------------------------------------------------------

class Conv2d(Function):
    """For each group and kernel offset (i, j): ``y += w[:, :, i, j] . x_slab(i, j)``."""

    saves = ("xpad", "w", "x_shape", "out_hw")

    def __init__(self, stride, pads, dilation, groups):
        self.stride, self.pads, self.dilation, self.groups = stride, pads, dilation, groups

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
                    slab = xs[window_slab(i, j, out_hw, self.stride, self.dilation)]
                    y[:, grp * og:(grp + 1) * og] += xp.einsum("nchw,oc->nohw", slab,
                                                               ws[:, :, i, j])
        if b is not None:
            y += b[:, None, None]
        self.xpad, self.w, self.x_shape, self.out_hw = xpad, w, x.shape, out_hw
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
                    slab = window_slab(i, j, self.out_hw, self.stride, self.dilation)
                    gw[oo, :, i, j] += xp.einsum("nohw,nchw->oc", go, xpad[:, cc][slab])
                    dxpad[:, cc][slab] += xp.einsum("nohw,oc->nchw", go, w[oo, :, i, j])
        (pt, _), (pl, _) = self.pads
        h, wd = self.x_shape[2:]
        gx = dxpad[:, :, pt:pt + h, pl:pl + wd]
        needs = self.needs_input_grad  # as many as inputs: two without a bias
        gb = grad.sum(axis=(0, 2, 3)) if len(needs) > 2 and needs[2] else None
        return gx if needs[0] else None, gw if needs[1] else None, gb


# -- the public function ---------------------------------------------------------------

def _conv2d_geometry(input, weight, bias, stride, padding, dilation, groups):
    """Check conv2d's arguments; return (stride, pads, dilation)."""
    who = "conv2d"
    x = array_of(check_tensor(who, input))
    w = check_weight(who, weight, ("out", "in/groups", "kh", "kw"))
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{who}: groups must be a positive int, got {groups!r}")
    if w.shape[0] % groups:
        raise ValueError(f"{who}: out channels {w.shape[0]} are not divisible by groups "
                         f"{groups}")
    check_input(who, x, w.shape[1] * groups)
    check_same_dtype(who, x, w)
    stride = pair(who, "stride", stride)
    dilation = pair(who, "dilation", dilation)
    pads = parse_padding(who, padding, w.shape[2:], stride, dilation)
    check_fits(who, x.shape, pads, w.shape[2:], dilation)
    if bias is not None and tuple(array_of(bias).shape) != (w.shape[0],):
        raise ValueError(f"{who}: bias must have shape ({w.shape[0]},), got "
                         f"{tuple(array_of(bias).shape)}")
    return stride, pads, dilation


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, ``torch.nn.functional.conv2d``'s signature and semantics.

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``. Runs the accelerated
    layer, whose results are those of :class:`Conv2d` to round-off: oneDNN's primitives
    (``_conv_onednn.OneDNNConv2d``) for float32 NumPy arrays where the optional library
    is installed and runs the geometry well, else the fast NumPy path
    (``_conv_fast.FastConv2d``).
    """
    given = (stride, padding, dilation, groups)
    op = onednn_op_seen(input, weight, bias, given)  # these passed the checks before
    if op is not None:
        return _apply(op, input, weight, bias)
    stride, pads, dilation = _conv2d_geometry(input, weight, bias, stride, padding,
                                              dilation, groups)
    op = onednn_op_for(array_of(input), array_of(weight),
                       None if bias is None else array_of(bias), stride, pads, dilation,
                       groups, given)
    if op is None:
        op = FastConv2d(stride, pads, dilation, groups)
    return _apply(op, input, weight, bias)


def _conv2d_reference(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d through the textbook :class:`Conv2d`: the tests' oracle for the fast path."""
    stride, pads, dilation = _conv2d_geometry(input, weight, bias, stride, padding,
                                              dilation, groups)
    return _apply(Conv2d(stride, pads, dilation, groups), input, weight, bias)


def _apply(op, input, weight, bias):
    return op(input, weight) if bias is None else op(input, weight, bias)


def output_size(size, pads, kernel, stride, dilation):
    """The output length along one axis (floor mode)."""
    return (size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1
