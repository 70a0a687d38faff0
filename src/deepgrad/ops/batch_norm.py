"""Batch normalization as one fused op with the closed-form backward.

For an input of shape (N, C, *spatial) the statistics are per channel, over the
M = N * prod(spatial) values of that channel::

    mean = sum(x) / M          var = sum((x - mean)^2) / M       (biased, used to normalise)
    xhat = (x - mean) / sqrt(var + eps)
    y    = weight * xhat + bias

In training the running statistics move towards the batch's (PyTorch's convention,
``momentum`` is the weight of the new value, the running variance is unbiased)::

    running_mean = (1 - momentum) * running_mean + momentum * mean
    running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)

In evaluation ``mean`` and ``var`` are the running statistics, which are constants, so
the layer is the affine map ``y = x * a + c`` (``a = weight / sqrt(var + eps)``,
``c = bias - mean * a``).

Backward, with ``gw = g * weight`` (per channel sums over the same M values)::

    training:  dx = invstd * (gw - mean(gw) - xhat * mean(gw * xhat))
    evaluation: dx = invstd * gw
    dweight = sum(g * xhat)       dbias = sum(g)
"""
from .. import backend
from ..autograd import Function, Tensor
from ..checks import InputTypeError
from ._layout import is_channels_last


def _stat_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _per_channel(a):
    return a.reshape(a.shape[0], a.shape[1], -1)


ROWS_PER_BLOCK = 512
"""A channels-last image is an (M, C) matrix; summing its M rows one after another loses
precision (error ~ M ulp, 1e-5 at M = 64K). Summed in blocks of this many rows, then
the blocks' sums: ~ (512 + M / 512) ulp, PyTorch's precision, and faster too."""


def _channel_sum(a):
    """Per-channel sum, shape (C,)."""
    xp = backend.get_array_module(a)
    if a.flags.c_contiguous:  # einsum reads (N, C, L) in one pass, several times faster
        return xp.einsum("ncl->c", _per_channel(a))
    if a.ndim == 4 and is_channels_last(a):
        return _blocked_column_sums(xp, a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1]))
    return _channel_sum(xp.ascontiguousarray(a))  # another order: copy, for the precision


def _blocked_column_sums(xp, m, m2=None):
    """Sums of the columns of ``m`` (of ``m * m2``), in blocks of ROWS_PER_BLOCK rows."""
    blocks = len(m) // ROWS_PER_BLOCK
    head, tail = m[:blocks * ROWS_PER_BLOCK], m[blocks * ROWS_PER_BLOCK:]
    shape = (blocks, ROWS_PER_BLOCK, m.shape[1])
    if m2 is None:
        return xp.einsum("kbc->kc", head.reshape(shape)).sum(axis=0) + tail.sum(axis=0)
    head2, tail2 = m2[:blocks * ROWS_PER_BLOCK], m2[blocks * ROWS_PER_BLOCK:]
    return (xp.einsum("kbc,kbc->kc", head.reshape(shape), head2.reshape(shape)).sum(axis=0)
            + xp.einsum("mc,mc->c", tail, tail2))


def _channel_dot(a, b):
    """Per-channel sum of a * b, shape (C,), without a temporary of the input's size."""
    xp = backend.get_array_module(a)
    if a.flags.c_contiguous and b.flags.c_contiguous:
        return xp.einsum("ncl,ncl->c", _per_channel(a), _per_channel(b))
    if a.ndim == 4 and is_channels_last(a) and is_channels_last(b):
        rows = (-1, a.shape[1])
        return _blocked_column_sums(xp, a.transpose(0, 2, 3, 1).reshape(rows),
                                    b.transpose(0, 2, 3, 1).reshape(rows))
    return _channel_sum(a * b)


def _channel_shape(ndim, channels):
    return (1, channels) + (1,) * (ndim - 2)


class BatchNorm(Function):
    """Normalise per channel (axis 1); ``weight``/``bias`` may be None (no affine).

    With ``training`` the batch statistics are used, and ``running_mean``/``running_var``
    (if given) are updated in place during forward, outside the graph. Without it the
    running statistics are used.
    """

    saves = ("weight", "xhat", "invstd", "scale", "mean", "x")

    def __init__(self, running_mean=None, running_var=None, training=False,
                 momentum=0.1, eps=1e-5):
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps

    def forward(self, x, weight=None, bias=None):
        xp = backend.get_array_module(x)
        shape = _channel_shape(x.ndim, x.shape[1])
        dtype = x.dtype.type
        self.weight = weight
        if not self.training:
            return self._forward_eval(x, weight, bias, shape)
        count = x.size // x.shape[1]
        mean = _channel_sum(x) / dtype(count)
        xhat = x - mean.reshape(shape)
        sum_sq = _channel_dot(xhat, xhat)  # two passes: no cancellation in the variance
        invstd = 1 / xp.sqrt(sum_sq / dtype(count) + dtype(self.eps))
        if self.running_mean is not None:
            self._update_running(mean, sum_sq, count)
        xhat *= invstd.reshape(shape)  # xhat owns its memory: normalise in place
        y = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(shape)
        self.xhat, self.invstd = xhat, invstd
        return y

    def _forward_eval(self, x, weight, bias, shape):
        """With constant statistics y = x * a + c, a = weight * invstd, c = bias - mean * a:
        one output array and two passes. xhat is recomputed in backward if dweight is
        needed."""
        xp = backend.get_array_module(x)
        dtype = x.dtype
        invstd = (1 / xp.sqrt(self.running_var + self.eps)).astype(dtype, copy=False)
        mean = self.running_mean.astype(dtype, copy=True)  # a snapshot for backward
        a = invstd if weight is None else invstd * weight
        c = -mean * a if bias is None else bias - mean * a
        y = x * a.reshape(shape)
        y += c.reshape(shape)
        self.invstd, self.scale, self.mean = invstd, a, mean
        if weight is not None:  # a reference, no copy: dweight needs xhat in backward
            self.x = x
        return y

    def _update_running(self, mean, sum_sq, count):
        m = self.momentum
        dtype = self.running_mean.dtype.type
        self.running_mean *= dtype(1 - m)
        self.running_mean += dtype(m) * mean.astype(self.running_mean.dtype)
        unbiased = (sum_sq / sum_sq.dtype.type(count - 1)).astype(self.running_var.dtype)
        self.running_var *= dtype(1 - m)
        self.running_var += dtype(m) * unbiased

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        shape = _channel_shape(g.ndim, g.shape[1])
        if not self.training:
            gx = g * self.scale.reshape(shape) if need_x else None
            gw = None
            if need_w:
                xhat = self.x - self.mean.reshape(shape)
                xhat *= self.invstd.reshape(shape)
                gw = _channel_dot(g, xhat)
            return gx, gw, _channel_sum(g) if need_b else None
        xhat, invstd, weight = self.xhat, self.invstd, self.weight
        sum_g = _channel_sum(g) if (need_x or need_b) else None
        sum_gxhat = _channel_dot(g, xhat) if (need_x or need_w) else None
        gx = None
        if need_x:
            scale = invstd if weight is None else invstd * weight
            # one array, four in-place passes: scale * (g - mean(g) - xhat mean(g xhat))
            count = g.dtype.type(g.size // g.shape[1])
            gx = xhat * (-(sum_gxhat / count)).reshape(shape)
            gx += g
            gx -= (sum_g / count).reshape(shape)
            gx *= scale.reshape(shape)
        return gx, sum_gxhat if need_w else None, sum_g if need_b else None


def onednn_op_for(*args):
    """oneDNN's batch normalization for these arrays, or None (the accelerated layer,
    ``_onednn_batch_norm.op_for``, loaded on first use; the one place that chooses it)."""
    from . import _onednn_batch_norm
    return _onednn_batch_norm.op_for(*args)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training=False, momentum=0.1, eps=1e-5):
    """PyTorch's ``F.batch_norm``: normalise ``x`` (N, C, ...) per channel.

    ``running_mean``/``running_var`` are arrays (or Tensors) of shape (C,), updated in
    place when ``training`` and given; without ``training`` they are required.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"batch_norm: input must be a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise InputTypeError(f"batch_norm: input must be floating point, got dtype "
                             f"{x.dtype}")
    running_mean = running_mean._data if isinstance(running_mean, Tensor) else running_mean
    running_var = running_var._data if isinstance(running_var, Tensor) else running_var
    channels = x.shape[1]
    if x.numel() == 0:
        raise ValueError(f"batch_norm: got an empty input of shape {tuple(x.shape)}")
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for an "
                             f"input with {channels} channels, got {tuple(value.shape)}")
    if weight is not None and weight.dtype != x.dtype:  # no silent promotion
        raise InputTypeError(f"batch_norm: input has dtype {x.dtype} but weight has "
                             f"{weight.dtype}; convert one with .to(dtype)")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean "
                         "and running_var")
    if training and x.numel() // channels <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                         f"training, got input of shape {tuple(x.shape)}")
    if training and weight is not None and bias is not None:
        op = onednn_op_for(x._data, weight._data, bias._data, running_mean, running_var,
                           momentum, eps)
        if op is not None:
            return op(x, weight, bias)
    return BatchNorm(running_mean, running_var, training, momentum, eps)(x, weight, bias)
