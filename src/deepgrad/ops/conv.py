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

:func:`conv2d` checks its arguments and runs the fast path of the accelerated layer
(``_conv_fast.py``: im2col and one matrix product, memory layouts, a compiled col2im),
which the tests hold to this one through ``_conv2d_reference``.
"""
from .. import backend
from ..autograd import Function, Tensor
from ._conv_fast import FastConv2d


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
                    slab = window_slab(i, j, self.out_hw, self.stride, self.dilation)
                    gw[oo, :, i, j] += xp.einsum("nohw,nchw->oc", go, xpad[:, cc][slab])
                    dxpad[:, cc][slab] += xp.einsum("nohw,oc->nchw", go, w[oo, :, i, j])
        (pt, _), (pl, _) = self.pads
        h, wd = self.x_shape[2:]
        gx = dxpad[:, :, pt:pt + h, pl:pl + wd]
        gb = grad.sum(axis=(0, 2, 3)) if self.has_bias else None
        needs = self.needs_input_grad
        return (gx if needs[0] else None, gw if needs[1] else None,
                gb if self.has_bias and needs[2] else None)


# -- the public function ---------------------------------------------------------------

def array_of(t):
    """A Tensor's array (an array stays itself)."""
    return t._data if isinstance(t, Tensor) else t


def check_weight(who, weight, axes):
    """The weight's array, after checking that it has one dimension per name in
    ``axes`` (its layout, for the message)."""
    w = array_of(weight)
    if w.ndim != len(axes):
        raise ValueError(f"{who}: weight must be {len(axes)}-D ({', '.join(axes)}), got "
                         f"shape {tuple(w.shape)}")
    return w


def check_same_dtype(who, x, w):
    if x.dtype != w.dtype:
        raise TypeError(f"{who}: input has dtype {x.dtype} but weight has {w.dtype}")


def _conv2d_geometry(input, weight, bias, stride, padding, dilation, groups):
    """Check conv2d's arguments; return (stride, pads, dilation)."""
    who = "conv2d"
    x, w = array_of(input), check_weight(who, weight, ("out", "in/groups", "kh", "kw"))
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

    ``padding`` is an int, a pair, ``'valid'`` or ``'same'``. Runs the fast path
    (``_conv_fast.FastConv2d``), whose results are those of :class:`Conv2d` to round-off.
    """
    stride, pads, dilation = _conv2d_geometry(input, weight, bias, stride, padding,
                                              dilation, groups)
    return _apply(FastConv2d(stride, pads, dilation, groups), input, weight, bias)


def _conv2d_reference(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d through the textbook :class:`Conv2d`: the tests' oracle for the fast path."""
    stride, pads, dilation = _conv2d_geometry(input, weight, bias, stride, padding,
                                              dilation, groups)
    return _apply(Conv2d(stride, pads, dilation, groups), input, weight, bias)


def _apply(op, input, weight, bias):
    return op(input, weight) if bias is None else op(input, weight, bias)


# -- argument checks (shared with pooling, locally connected and the layers) ---------

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
