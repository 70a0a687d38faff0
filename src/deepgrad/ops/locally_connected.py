"""The locally connected layer as an op: ``locally_connected2d``.

A convolution with its own weights at every output position (no sharing): the course's
"locally connected layer", with a convolution's receptive fields and a fully connected
layer's count of weights. ``weight`` is (OH, OW, out, in, kh, kw), so ``weight[p, q]``
is an ordinary convolution weight used only at output position (p, q); ``bias`` is
(out, OH, OW)::

    y[n, o, p, q] = b[o, p, q] + sum_{i,j,c} w[p, q, o, c, i, j] * xpad[n, c, p*sh + i, q*sw + j]

:class:`LocallyConnected2d` below is that sum, one contraction per kernel offset (i, j)
as in the textbook convolution (``conv.py``); :func:`locally_connected2d` checks its
arguments and runs the fast path (``_conv_fast.FastLocallyConnected2d``: columns and one
batched product over the positions), which the tests hold to this one through
``_locally_connected2d_reference``.
"""
from .. import backend
from ..autograd import Function
from ._conv_fast import FastLocallyConnected2d
from ..checks import (InputError, array_of, check_fits, check_input, check_same_dtype,
                      check_tensor, check_weight,
                     pair, parse_padding)
from .conv import output_size, window_slab


class LocallyConnected2d(Function):
    """For each kernel offset (i, j),
    ``y[n, o, p, q] += sum_c w[p, q, o, c, i, j] * x_slab(i, j)[n, c, p, q]``."""

    saves = ("xpad", "w", "x_shape", "has_bias")

    def __init__(self, stride, pads):
        self.stride, self.pads = stride, pads

    def forward(self, x, w, b=None):
        xp = backend.get_array_module(x)
        oh, ow, o, c, kh, kw = w.shape
        xpad = xp.pad(x, ((0, 0), (0, 0)) + tuple(self.pads))
        y = xp.zeros((x.shape[0], o, oh, ow), dtype=x.dtype)
        for i in range(kh):
            for j in range(kw):
                slab = xpad[window_slab(i, j, (oh, ow), self.stride, (1, 1))]
                y += xp.einsum("nchw,hwoc->nohw", slab, w[:, :, :, :, i, j])
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
                slab = window_slab(i, j, (oh, ow), self.stride, (1, 1))
                gw[:, :, :, :, i, j] = xp.einsum("nohw,nchw->hwoc", grad, xpad[slab])
                dxpad[slab] += xp.einsum("nohw,hwoc->nchw", grad, w[:, :, :, :, i, j])
        (pt, _), (pl, _) = self.pads
        h, wd = self.x_shape[2:]
        needs = self.needs_input_grad
        gb = grad.sum(axis=0) if self.has_bias and needs[2] else None
        return (dxpad[:, :, pt:pt + h, pl:pl + wd] if needs[0] else None,
                gw if needs[1] else None, gb)


def _locally_connected2d_geometry(input, weight, bias, stride, padding):
    """Check locally_connected2d's arguments; return (stride, pads)."""
    who = "locally_connected2d"
    x = array_of(check_tensor(who, input))
    w = check_weight(who, weight, ("OH", "OW", "out", "in", "kh", "kw"))
    check_input(who, x, w.shape[3])
    check_same_dtype(who, x, w)
    stride = pair(who, "stride", stride)
    kernel = w.shape[4:]
    pads = parse_padding(who, padding, kernel, stride, (1, 1))
    check_fits(who, x.shape, pads, kernel, (1, 1))
    out_hw = tuple(output_size(x.shape[2 + a], pads[a], kernel[a], stride[a], 1)
                   for a in range(2))
    if tuple(w.shape[:2]) != out_hw:
        raise InputError(f"{who}: input of shape {tuple(x.shape)} gives an output of "
                         f"{out_hw} positions, but the weight is for {tuple(w.shape[:2])} "
                         f"(weight shape {tuple(w.shape)})")
    if bias is not None and tuple(array_of(bias).shape) != (w.shape[2],) + out_hw:
        raise ValueError(f"{who}: bias must have shape {(w.shape[2],) + out_hw}, got "
                         f"{tuple(array_of(bias).shape)}")
    return stride, pads


def locally_connected2d(input, weight, bias=None, stride=1, padding=0):
    """A convolution with its own weights at every output position (no sharing).

    ``weight`` is (OH, OW, out, in, kh, kw): ``weight[p, q]`` is an ordinary conv
    weight used only at output position (p, q). ``bias`` is (out, OH, OW) or None.
    ``padding`` is an int, a pair or ``'valid'``/``'same'`` (stride 1).
    """
    stride, pads = _locally_connected2d_geometry(input, weight, bias, stride, padding)
    op = FastLocallyConnected2d(stride, pads)
    return op(input, weight) if bias is None else op(input, weight, bias)


def _locally_connected2d_reference(input, weight, bias=None, stride=1, padding=0):
    """locally_connected2d through the textbook :class:`LocallyConnected2d`: the tests'
    oracle for the fast path."""
    stride, pads = _locally_connected2d_geometry(input, weight, bias, stride, padding)
    op = LocallyConnected2d(stride, pads)
    return op(input, weight) if bias is None else op(input, weight, bias)
