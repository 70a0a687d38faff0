"""Functional forms of the layers and losses (``deepgrad.nn.functional``, like
``torch.nn.functional``)."""
from ..ops import (binary_cross_entropy_with_logits, cross_entropy, leaky_relu, linear,
                   log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax, tanh)
from ..ops import batch_norm, dropout, dropout2d

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "leaky_relu", "linear",
           "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh"]
__all__ += ["batch_norm", "dropout", "dropout2d"]

from ..ops.conv import conv2d, locally_connected2d  # noqa: E402
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: E402

__all__ += ["conv2d", "locally_connected2d", "max_pool2d", "avg_pool2d",
            "adaptive_avg_pool2d"]
