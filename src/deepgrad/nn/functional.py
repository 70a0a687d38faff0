"""Functional forms of the layers and losses (``deepgrad.nn.functional``, like
``torch.nn.functional``)."""
from ..ops import (binary_cross_entropy_with_logits, cross_entropy, leaky_relu, linear,
                   log_softmax, mse_loss, nll_loss, relu, sigmoid, softmax, tanh)

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "leaky_relu", "linear",
           "log_softmax", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh"]
