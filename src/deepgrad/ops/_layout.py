"""Memory layouts of (N, C, H, W) arrays: the one place of the accelerated layer that
knows them.

An image batch (N, C, H, W) is stored either row-major ('C': NCHW in memory) or
channels-last ('NHWC': the (N, C, H, W) transposed view of a row-major (N, H, W, C)
array). The fast convolution (``_conv_fast.py``) gives its output channels-last for
free, and ReLU and pooling keep the order they are given, so a conv -> relu -> pool ->
conv chain never transposes. The textbook ops only index (N, C, H, W) and never ask;
these helpers are for code that allocates arrays in an input's order or hands memory to
a compiled kernel.
"""
from .. import backend


def memory_layout(a):
    """'C' for a row-major NumPy array, 'NHWC' for a channels-last 4-D one (the
    transposed view of a row-major (N, H, W, C) array), else None."""
    if backend.get_array_module(a) is not backend.np:
        return None
    if a.flags.c_contiguous:
        return "C"
    if a.ndim == 4 and a.transpose(0, 2, 3, 1).flags.c_contiguous:
        return "NHWC"
    return None


def is_channels_last(x):
    """Stored channels-last and not also row-major (a 1x1 image, or a single channel,
    is both)."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous and not x.flags.c_contiguous


def dense_layout(a):
    """oneDNN's name of ``a``'s memory order: 'nchw' (row-major), 'nhwc'
    (channels-last), or None (strided: neither)."""
    return _ONEDNN_NAMES.get(memory_layout(a))


_ONEDNN_NAMES = {"C": "nchw", "NHWC": "nhwc"}


def stored_as(a, layout):
    """True if the (N, C, H, W) array ``a`` is stored in ``layout`` ('nchw' or 'nhwc')."""
    return (a.transpose(0, 2, 3, 1) if layout == "nhwc" else a).flags.c_contiguous


def in_layout(a, layout):
    """``a`` stored in ``layout`` ('nchw' or 'nhwc'): itself, or a copy."""
    if stored_as(a, layout):
        return a
    xp = backend.get_array_module(a)
    if layout == "nhwc":
        return xp.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return xp.ascontiguousarray(a)


def flat(a, layout):
    """The 1-D view of ``a``'s elements in memory order (``layout`` from memory_layout)."""
    return (a if layout == "C" else a.transpose(0, 2, 3, 1)).reshape(-1)


def as_bhwc(a, channels_last):
    """(N, C, H, W) -> the (B, H, W, C) array the compiled pooling kernels take: a
    channels-last image as its (N, H, W, C) view, a row-major one as (N*C, H, W, 1).
    Arrays allocated in that order give views that a kernel writes through; a strided
    input may be copied (it cannot be reshaped)."""
    if channels_last:
        return a.transpose(0, 2, 3, 1)
    n, c, h, w = a.shape
    return a.reshape(n * c, h, w, 1)


def empty_in_order(xp, shape, dtype, channels_last):
    """An uninitialised (N, C, H, W) array, stored channels-last or row-major."""
    n, c, h, w = shape
    if channels_last:
        return xp.empty((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)
    return xp.empty(shape, dtype=dtype)


def zeros_in_order(xp, shape, dtype, channels_last):
    """Zeros (N, C, H, W), stored channels-last or row-major."""
    n, c, h, w = shape
    if channels_last:
        return xp.zeros((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)
    return xp.zeros(shape, dtype=dtype)


def padded_shape(shape, pads):
    """(N, C, H, W) grown by pads ((top, bottom), (left, right))."""
    (pt, pb), (pl, pr) = pads
    n, c, h, w = shape
    return n, c, h + pt + pb, w + pl + pr


def pad_in_order(x, pads, fill):
    """Pad (N, C, H, W) by ((top, bottom), (left, right)) with ``fill``, keeping the
    memory order (channels-last stays channels-last); ``x`` itself when no padding."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return x
    xp = backend.get_array_module(x)
    h, w = x.shape[2:]
    out = empty_in_order(xp, padded_shape(x.shape, pads), x.dtype, is_channels_last(x))
    out.fill(fill)
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


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


def pad_channels_first(x, pads):
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
