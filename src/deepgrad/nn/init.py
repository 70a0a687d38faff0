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
trunc_normal_       inverse CDF: m + s * sqrt(2) * erfinv(v), v ~ U(2 Phi(alpha) - 1,
                    2 Phi(beta) - 1), clamped to [a, b] (alpha, beta: a, b standardised)
orthogonal_         Q of the QR of a (rows, cols) normal matrix, columns' signs fixed by
                    sign(diag(R)), times gain
==================  =====================================================================

fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field, where the
receptive field is the product of shape[2:] (kernel size of a convolution).
"""
import math
import numbers
import warnings

import numpy as np

from .. import backend
from ..autograd import Tensor


def _uniform01(shape):
    """float64 samples of U[0, 1) from deepgrad's generator (tests may replace this)."""
    return backend.generator("cpu").random(shape)


def _standard_normal(shape):
    """float64 samples of N(0, 1) from deepgrad's generator (tests may replace this)."""
    return backend.generator("cpu").standard_normal(shape)


def _array(tensor):
    return tensor.data if isinstance(tensor, Tensor) else tensor


def _fill(tensor, values):
    array = _array(tensor)
    xp = backend.get_array_module(array)
    array[...] = xp.asarray(values, dtype=array.dtype)
    return tensor


def _check_number(fn, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b): ``a + (b - a) * u``."""
    _check_number("uniform_", "a", a)
    _check_number("uniform_", "b", b)
    if a > b:
        raise ValueError(f"uniform_: expected a <= b, got a={a}, b={b}")
    u = _uniform01(_array(tensor).shape)
    return _fill(tensor, u * (b - a) + a)


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2): ``mean + std * z``."""
    _check_number("normal_", "mean", mean)
    _check_number("normal_", "std", std)
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    z = _standard_normal(_array(tensor).shape)
    return _fill(tensor, z * std + mean)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as in PyTorch).

    Inverse-CDF sampling, PyTorch's method: no rejection loop, so it is equally fast for
    an interval far in a tail.
    """
    for name, value in (("mean", mean), ("std", std), ("a", a), ("b", b)):
        _check_number("trunc_normal_", name, value)
    if not std > 0 or not a < b:
        raise ValueError(f"trunc_normal_: need std > 0 and a < b, got std={std}, a={a}, "
                         f"b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; the "
                      "distribution of values may be incorrect", stacklevel=2)
    low = 2 * _norm_cdf((a - mean) / std) - 1
    high = 2 * _norm_cdf((b - mean) / std) - 1
    v = _uniform01(_array(tensor).shape) * (high - low) + low
    x = _erfinv(v) * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, np.clip(x, a, b))


def constant_(tensor, val):
    _array(tensor)[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
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


# -- the inverse error function, for trunc_normal_ ------------------------------------

def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


# Wichura's algorithm AS 241 (PPND16, 1988): the normal quantile to about 1e-16 relative
# accuracy, as rational functions in three regions. Coefficients in ascending powers.
_AS241 = {
    "a": (3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3,
          1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
          3.3430575583588128105e4, 2.5090809287301226727e3),
    "b": (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
          2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
          5.2264952788528545610e3),
    "c": (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
          3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
          2.27238449892691845833e-2, 7.74545014278341407640e-4),
    "d": (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0,
          6.89767334985100004550e-1, 1.48103976427480074590e-1, 1.51986665636164571966e-2,
          5.47593808499534494600e-4, 1.05075007164441684324e-9),
    "e": (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
          2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
          2.71155556874348757815e-5, 2.01033439929228813265e-7),
    "f": (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1,
          1.48753612908506148525e-2, 7.86869131145613259100e-4, 1.84631831751005468180e-5,
          1.42151175831644588870e-7, 2.04426310338993978564e-15),
}


def _ratio(num, den, x):
    return np.polynomial.polynomial.polyval(x, num) / np.polynomial.polynomial.polyval(
        x, den)


def _erfinv(v):
    """erfinv(v) for float64 v in (-1, 1): sqrt(1/2) * Phi^-1((1 + v) / 2) by AS 241.

    Works with q = v / 2 = p - 1/2 directly, so no precision is lost near v = 0.
    """
    v = np.asarray(v, dtype=np.float64)
    q = v / 2
    out = np.empty_like(q)
    central = np.abs(q) <= 0.425
    qc = q[central]
    out[central] = qc * _ratio(_AS241["a"], _AS241["b"], 0.180625 - qc * qc)
    qt = q[~central]
    # the smaller tail probability, min(p, 1 - p) = 1/2 - |q|, exact for |q| > 1/4
    r = np.sqrt(-np.log(0.5 - np.abs(qt)))
    near = r <= 5.0
    z = np.empty_like(r)
    z[near] = _ratio(_AS241["c"], _AS241["d"], r[near] - 1.6)
    z[~near] = _ratio(_AS241["e"], _AS241["f"], r[~near] - 5.0)
    out[~central] = np.copysign(z, qt)
    return out / math.sqrt(2.0)
