"""Batch normalization layers (Ioffe & Szegedy, 2015) with PyTorch's options and state.

``BatchNorm1d`` takes (N, C) or (N, C, L), ``BatchNorm2d`` takes (N, C, H, W). In
training the layer normalises with the batch's statistics and moves the running
statistics towards them; in evaluation it uses the running statistics. See
:mod:`deepgrad.ops.batch_norm` for the formulas and the backward.

Options, with PyTorch's meaning:

* ``momentum``: weight of the new batch in the running average (0.1). ``None`` makes the
  running statistics the plain cumulative average of all batches seen so far
  (momentum = 1 / num_batches_tracked at each step).
* ``affine``: learn ``weight`` (ones) and ``bias`` (zeros); ``bias=False`` (a keyword)
  keeps the weight only.
* ``track_running_stats``: keep ``running_mean`` (zeros), ``running_var`` (ones) and
  ``num_batches_tracked`` (an int64 0-d array) as buffers. Without them the layer uses
  batch statistics in evaluation mode too.
"""
import numbers

from .. import backend
from ..autograd import Tensor
from ..checks import check_allocation
from ..ops.batch_norm import batch_norm
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    _expected = ""  # the accepted input shapes, for error messages

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, numbers.Integral) \
                or num_features <= 0:
            raise ValueError(f"{name}: num_features must be a positive integer, got "
                             f"{num_features!r}")
        self._set_options(eps, momentum, affine, track_running_stats)
        self.num_features = n = int(num_features)
        dtype = dtype or backend.default_dtype
        check_allocation(name, (n,), backend.np.dtype(dtype).itemsize, "weight")
        xp = backend.np
        if self.affine:
            self.weight = Parameter(xp.ones(n, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(n, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", xp.zeros(n, dtype=dtype))
            self.register_buffer("running_var", xp.ones(n, dtype=dtype))
            self.register_buffer("num_batches_tracked", xp.array(0, dtype=xp.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        if device is not None:
            self.to(device)

    def _set_options(self, eps, momentum, affine, track_running_stats):
        """Everything but num_features (which the lazy layers learn from their input)."""
        name = type(self).__name__
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
            raise ValueError(f"{name}: eps must be a non-negative number, got {eps!r}")
        if momentum is not None and (isinstance(momentum, bool)
                                     or not isinstance(momentum, numbers.Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be a number in [0, 1] or None (a "
                             f"cumulative average), got {momentum!r}")
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)

    def reset_running_stats(self):
        if self.track_running_stats:
            self._buffers["running_mean"][...] = 0
            self._buffers["running_var"][...] = 1
            self._buffers["num_batches_tracked"][...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            self.weight._data[...] = 1
        if self.bias is not None:
            self.bias._data[...] = 0

    def _check_input(self, x, use_batch):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._label()}: input must be a Tensor, got "
                            f"{type(x).__name__}")
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{self._label()}: expected input of shape {self._expected}, "
                             f"got {tuple(x.shape)}")
        if use_batch and x.numel() // x.shape[1] <= 1:
            raise ValueError(f"{self._label()}: batch statistics need more than 1 value "
                             f"per channel, got input of shape {tuple(x.shape)} in "
                             f"{'training' if self.training else 'evaluation'} mode (use "
                             f"a batch of at least 2, or eval() with running statistics)")

    def _label(self):
        return f"{type(self).__name__}({self.num_features})"

    def forward(self, x):
        buffers = self._buffers
        # Batch statistics in training, and also in evaluation without running stats.
        use_batch = self.training or buffers["running_mean"] is None
        self._check_input(x, use_batch)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            buffers["num_batches_tracked"] += 1  # in place: the 0-d array stays the buffer
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(buffers["num_batches_tracked"])
        track = not self.training or self.track_running_stats
        return batch_norm(x, buffers["running_mean"] if track else None,
                          buffers["running_var"] if track else None,
                          self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, per channel C."""

    _ndims = (2, 3)

    @property
    def _expected(self):
        return f"(N, {self.num_features}) or (N, {self.num_features}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel C."""

    _ndims = (4,)

    @property
    def _expected(self):
        return f"(N, {self.num_features}, H, W)"
