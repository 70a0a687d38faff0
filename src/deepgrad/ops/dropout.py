"""Dropout: zero each element (or each channel) with probability p, scale the rest.

Inverted dropout, as in PyTorch: in training ``y = x * noise`` with
``noise = keep / (1 - p)`` and ``keep ~ Bernoulli(1 - p)``, so ``E[y] = x`` and nothing
needs rescaling at evaluation time, where dropout is the identity. ``dropout2d`` draws
one ``keep`` per (sample, channel) and broadcasts it over the spatial axes.

The uniforms come from deepgrad's seeded generator (``backend.generator``), so one seed
gives the same masks, run after run. :func:`dropout_noise` maps an array of uniforms
to the noise, which lets tests feed the same uniforms to deepgrad and to a reference.
"""
import numbers

from .. import backend
from ..autograd import Function, Tensor


def check_probability(name, p):
    """``p`` must be a real number in [0, 1]; ``name`` is the layer or function."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name}: p must be a number in [0, 1], got {type(p).__name__} "
                        f"{p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability p must be in [0, 1], got {p!r}")


def dropout_noise(uniforms, p, dtype):
    """Map uniforms in [0, 1) to the multiplicative noise ``(u < 1 - p) / (1 - p)``.

    ``u < 1 - p`` holds with probability ``1 - p``: the element is kept. With p = 1 every
    element is dropped and the noise is 0 (PyTorch's convention, no division by zero).
    """
    xp = backend.get_array_module(uniforms)
    dtype = xp.dtype(dtype)
    q = 1.0 - p
    if q == 0.0:
        return xp.zeros(uniforms.shape, dtype=dtype)
    # divide (rather than multiply by 1/q) as PyTorch does, so the noise matches bit for bit
    return (uniforms < q).astype(dtype) / dtype.type(q)


class Dropout(Function):
    """``x * noise`` for a noise array drawn before the call (it broadcasts against x)."""

    def __init__(self, noise):
        self.noise = noise

    def forward(self, x):
        return x * self.noise

    def backward(self, g):
        return (g * self.noise,)


def _draw_noise(x, p, shape):
    data = x._data
    xp = backend.get_array_module(data)
    gen = backend.generator(backend.device_of(data))
    # float32 uniforms for float32 data: half the random bits, same distribution
    # (resolution 2^-24 on a probability is far below any sampling error).
    udtype = data.dtype if data.dtype == xp.float64 else xp.float32
    return dropout_noise(gen.random(shape, dtype=udtype), p, data.dtype)


def _check_input(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be floating point, got dtype {x.dtype}")


def dropout(x, p=0.5, training=True):
    """Inverted dropout of every element; the identity when not training or p == 0."""
    check_probability("dropout", p)
    _check_input("dropout", x)
    if not training or p == 0:
        return x
    return Dropout(_draw_noise(x, p, x.shape))(x)


def dropout2d(x, p=0.5, training=True):
    """Drop whole channels of ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) inputs.

    One Bernoulli draw per channel map, broadcast over H and W (Tompson et al., 2015):
    neighbouring pixels are correlated, so element-wise dropout barely regularises
    convolutional features. Note: PyTorch reads a 3-D input as (N, C, L) with a warning;
    here it is (C, H, W), the shape ``Dropout2d`` documents.
    """
    check_probability("dropout2d", p)
    _check_input("dropout2d", x)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W), "
                         f"got {tuple(x.shape)}")
    if not training or p == 0:
        return x
    return Dropout(_draw_noise(x, p, x.shape[:-2] + (1, 1)))(x)
