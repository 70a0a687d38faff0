"""Parameter initialisation with PyTorch's formulas (gain, fan-in/fan-out, bounds).

Each function fills a tensor's array in place and returns the tensor. Random ones draw
float64 samples from deepgrad's seeded CPU generator (so a seed gives the same values
whatever the dtype or device) through two helpers, :func:`_uniform01` (U[0, 1)) and
:func:`_standard_normal` (N(0, 1)), and map them with PyTorch's formula:

==================  =====================================================================
uniform_(a, b)      a + (b - a) * u
normal_(m, s)       m + s * z
kaiming_uniform_    U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan)
kaiming_normal_     N(0, std^2),      std = gain / sqrt(fan)
xavier_uniform_     U(-bound, bound), bound = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))
xavier_normal_      N(0, std^2),      std = gain * sqrt(2 / (fan_in + fan_out))
trunc_normal_       N(m, s^2) restricted to [a, b], by PyTorch 2.13's rejection scheme
orthogonal_         Q of the QR of a (rows, cols) normal matrix, columns' signs fixed by
                    sign(diag(R)), times gain
==================  =====================================================================

fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, where the
receptive field is the product of shape[2:] (kernel size of a convolution).
"""
import math
import warnings

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..checks import check_number
from .parameter import UninitializedParameter


def _uniform01(shape):
    """float64 samples of U[0, 1) from deepgrad's generator (tests may replace this)."""
    return backend.generator("cpu").random(shape)


def _standard_normal(shape):
    """float64 samples of N(0, 1) from deepgrad's generator (tests may replace this)."""
    return backend.generator("cpu").standard_normal(shape)


def _array(tensor):
    if isinstance(tensor, UninitializedParameter):
        raise ValueError("init: this parameter belongs to a lazy layer that has not seen an "
                         "input yet, so it has no shape; call the model once on a batch "
                         "(net(X)) before initialising it")
    return tensor._data if isinstance(tensor, Tensor) else tensor


def _fill(tensor, values):
    array = _array(tensor)
    xp = backend.get_array_module(array)
    array[...] = xp.asarray(values, dtype=array.dtype)
    return tensor



def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b): ``a + (b - a) * u``."""
    check_number("uniform_", "a", a)
    check_number("uniform_", "b", b)
    if a > b:
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    u = _uniform01(_array(tensor).shape)
    return _fill(tensor, u * (b - a) + a)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2): ``mean + std * z``."""
    check_number("normal_", "mean", mean)
    check_number("normal_", "std", std)
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    z = _standard_normal(_array(tensor).shape)
    return _fill(tensor, z * std + mean)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds), by rejection,
    draw for draw as PyTorch 2.13 does:

    * if the interval holds more than 30% of the mass, draw N(mean, std^2) for the
      whole tensor and redraw (whole-tensor draws, used where rejected) until every
      value lies in [a, b];
    * otherwise propose U(a, b) and accept a proposal x when
      ``log(u) <= -((x - mean) / std)^2 / 2 - log_peak``, ``log_peak`` being that
      exponent at the mode ``clip(mean, a, b)``; pending values get fresh proposals.
    """
    for name, value in (("mean", mean), ("std", std), ("a", a), ("b", b)):
        check_number("trunc_normal_", name, value)
    if not std > 0 or not a < b:
        raise ValueError(f"trunc_normal_: need std > 0 and a < b, got std={std}, a={a}, "
                         f"b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; the "
                      "distribution of values may be incorrect", stacklevel=2)
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if not mass > 0:
        raise ValueError(f"trunc_normal_: [a, b] = [{a}, {b}] has zero probability "
                         f"under N({mean}, {std}^2) in float64")
    shape = _array(tensor).shape
    if mass > 0.3:
        x = _standard_normal(shape) * std + mean
        rejected = (x < a) | (x > b)
        while rejected.any():
            x = np.where(rejected, _standard_normal(shape) * std + mean, x)
            rejected = (x < a) | (x > b)
    else:
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2

        def log_ratio(c):  # log(pdf(c) / pdf(mode))
            return ((c - mean) / std) ** 2 * -0.5 - log_peak

        x = _uniform01(shape) * (b - a) + a
        pending = np.log(_uniform01(shape)) > log_ratio(x)
        while pending.any():
            candidates = _uniform01(shape) * (b - a) + a
            x = np.where(pending, candidates, x)
            pending = pending & (np.log(_uniform01(shape)) > log_ratio(candidates))
    return _fill(tensor, x)


def constant_(tensor, val):
    """Fill ``tensor`` with ``val``, in place; returns it."""
    _array(tensor)[...] = val
    return tensor


def zeros_(tensor):
    """Fill ``tensor`` with zeros, in place; returns it."""
    return constant_(tensor, 0)


def ones_(tensor):
    """Fill ``tensor`` with ones, in place; returns it."""
    return constant_(tensor, 1)


def eye_(tensor):
    """The identity matrix in a 2-D tensor (ones on the diagonal of a non-square one)."""
    array = _array(tensor)
    if array.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {tuple(array.shape)}")
    xp = backend.get_array_module(array)
    array[...] = xp.eye(*array.shape, dtype=array.dtype)
    return tensor


def dirac_(tensor, groups=1):
    """A convolution kernel that passes its input through (identity per group)."""
    array = _array(tensor)
    if array.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: expected a 3-, 4- or 5-D tensor, got shape "
                         f"{tuple(array.shape)}")
    if not isinstance(groups, int) or groups <= 0 or array.shape[0] % groups:
        raise ValueError(f"dirac_: groups must divide the {array.shape[0]} output "
                         f"channels, got {groups!r}")
    out_per_group = array.shape[0] // groups
    n = min(out_per_group, array.shape[1])
    array[...] = 0
    centre = tuple(k // 2 for k in array.shape[2:])
    for g in range(groups):
        for d in range(n):
            array[(g * out_per_group + d, d) + centre] = 1
    return tensor


def calculate_gain(nonlinearity, param=None):
    """PyTorch's recommended gains: relu sqrt(2), tanh 5/3, selu 3/4,
    leaky_relu sqrt(2 / (1 + slope^2)) (slope 0.01 by default), 1 for linear and sigmoid.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor of at least 2 dimensions, got "
                         f"shape {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _is_empty(tensor, fn):
    if _array(tensor).size == 0:
        warnings.warn(f"{fn}: initializing a zero-element tensor is a no-op", stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-bound, bound) with bound = sqrt(3) * gain / sqrt(fan) (He et al., 2015)."""
    if _is_empty(tensor, "kaiming_uniform_"):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015)."""
    if _is_empty(tensor, "kaiming_normal_"):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def xavier_uniform_(tensor, gain=1.0):
    """U(-bound, bound) with bound = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix (Saxe et al., 2013), times ``gain``.

    The tensor is viewed as (rows, cols) = (shape[0], prod(shape[1:])). Q comes from the
    QR decomposition of a normal matrix (transposed when rows < cols) with each column
    multiplied by sign(R_ii), which makes Q uniformly (Haar) distributed.
    """
    array = _array(tensor)
    if array.ndim < 2:
        raise ValueError(f"orthogonal_: expected a tensor of at least 2 dimensions, got "
                         f"shape {tuple(array.shape)}")
    if array.size == 0:
        return tensor
    rows = array.shape[0]
    cols = array.size // rows
    flat = _standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (q * gain).reshape(array.shape))


# -- helpers -------------------------------------------------------------------------

def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0
