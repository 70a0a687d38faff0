"""Differentiable primitives, one family per file. Each op is a Function subclass and a
thin lowercase function that calls it."""
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .arithmetic import add, div, linear, matmul, mul, neg, pow, sub
from .conv import conv2d, locally_connected2d
from .dropout import dropout, dropout2d
from .elementwise import abs, clip, exp, log, sqrt, where
from .loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .normalization import batch_norm
from .reduction import max, mean, min, sum
from .shape import (broadcast_to, concatenate, getitem, reshape, stack, swapaxes,
                    to_device, transpose)
