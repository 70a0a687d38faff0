"""Differentiable primitives, one family per file. Each op is a Function subclass and a
thin lowercase function that calls it."""
from .activation import leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .arithmetic import add, div, matmul, mul, neg, pow, sub, to_dtype
from .linear import linear
from .conv import conv2d
from .dropout import dropout, dropout2d
from .elementwise import (abs, ceil, clamp, clip, cos, exp, floor, log, log1p, maximum,
                          minimum, round, sign, sin, sqrt, square, where)
from .locally_connected import locally_connected2d
from .loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .batch_norm import batch_norm
from .reduction import (all, amax, amin, any, argmax, argmin, max, mean, min, std, sum,
                        var)
from .shape import (broadcast_to, cat, chunk, concatenate, expand, flatten, gather,
                    getitem, permute, repeat, reshape, split, squeeze, stack, swapaxes,
                    to_device, transpose, unflatten, unsqueeze, view)
from .sorting import argsort, cumsum, sort, topk
