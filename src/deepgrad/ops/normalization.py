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

In evaluation ``mean`` and ``var`` are the running statistics, which are constants.

Backward, with ``gw = g * weight`` (per channel sums over the same M values)::

    training:  dx = invstd * (gw - mean(gw) - xhat * mean(gw * xhat))
    evaluation: dx = invstd * gw
    dweight = sum(g * xhat)       dbias = sum(g)
"""
from .. import backend
from ..autograd import Function, Tensor


def _stat_axes(ndim):
    return (0,) + tuple(range(2, ndim))


def _channel_shape(ndim, channels):
    return (1, channels) + (1,) * (ndim - 2)


class BatchNorm(Function):
    """Normalise per channel (axis 1); ``weight``/``bias`` may be None (no affine).

    With ``training`` the batch statistics are used, and ``running_mean``/``running_var``
    (if given) are updated in place during forward, outside the graph. Without it the
    running statistics are used.
    """

    def __init__(self, running_mean=None, running_var=None, training=False,
                 momentum=0.1, eps=1e-5):
        self.running_mean, self.running_var = running_mean, running_var
        self.training, self.momentum, self.eps = training, momentum, eps

    def forward(self, x, weight=None, bias=None):
        xp = backend.get_array_module(x)
        axes = _stat_axes(x.ndim)
        shape = _channel_shape(x.ndim, x.shape[1])
        dtype = x.dtype.type
        if self.training:
            count = x.size // x.shape[1]
            mean = x.mean(axis=axes, keepdims=True)
            xhat = x - mean
            sum_sq = (xhat * xhat).sum(axis=axes, keepdims=True)
            invstd = 1 / xp.sqrt(sum_sq / dtype(count) + dtype(self.eps))
            if self.running_mean is not None:
                self._update_running(mean.reshape(-1), sum_sq.reshape(-1), count)
        else:
            mean = self.running_mean.reshape(shape)
            invstd = 1 / xp.sqrt(self.running_var.reshape(shape) + dtype(self.eps))
            xhat = x - mean
        xhat *= invstd  # xhat owns its memory: normalise in place
        y = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            y += bias.reshape(shape)
        self.xhat, self.invstd = xhat, invstd
        self.weight = weight
        return y

    def _update_running(self, mean, sum_sq, count):
        m = self.momentum
        dtype = self.running_mean.dtype.type
        self.running_mean *= dtype(1 - m)
        self.running_mean += dtype(m) * mean.astype(self.running_mean.dtype)
        unbiased = (sum_sq / (count - 1)).astype(self.running_var.dtype)
        self.running_var *= dtype(1 - m)
        self.running_var += dtype(m) * unbiased

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        xhat, invstd, weight = self.xhat, self.invstd, self.weight
        axes = _stat_axes(g.ndim)
        shape = _channel_shape(g.ndim, g.shape[1])
        gx = gw = gb = None
        sum_g = g.sum(axis=axes, keepdims=True) if (need_b or (need_x and self.training)) \
            else None
        sum_gxhat = (g * xhat).sum(axis=axes, keepdims=True) \
            if (need_w or (need_x and self.training)) else None
        if need_x:
            scale = invstd if weight is None else invstd * weight.reshape(shape)
            if self.training:
                count = g.size // g.shape[1]
                inv_count = g.dtype.type(1.0 / count)
                gx = g - sum_g * inv_count
                gx -= xhat * (sum_gxhat * inv_count)
                gx *= scale
            else:
                gx = g * scale
        if need_w:
            gw = sum_gxhat.reshape(-1)
        if need_b:
            gb = sum_g.reshape(-1)
        return gx, gw, gb


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
        raise TypeError(f"batch_norm: input must be floating point, got dtype {x.dtype}")
    running_mean = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    running_var = running_var.data if isinstance(running_var, Tensor) else running_var
    channels = x.shape[1]
    if x.size == 0:
        raise ValueError(f"batch_norm: got an empty input of shape {tuple(x.shape)}")
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} must have shape ({channels},) for an "
                             f"input with {channels} channels, got {tuple(value.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean "
                         "and running_var")
    if training and x.size // channels <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                         f"training, got input of shape {tuple(x.shape)}")
    return BatchNorm(running_mean, running_var, training, momentum, eps)(x, weight, bias)
