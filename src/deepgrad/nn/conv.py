"""The convolutional layer, Conv2d (and the init it shares with LocallyConnected2d).

A convolution sees an input (N, C, H, W) and shares one filter bank over all positions
(``locally_connected.py`` has the layer with its own filters at every position).
``parameter_count`` gives the layer's size from its arguments alone, without allocating
the weights.
"""
import math

from .. import backend
from ..checks import check_allocation, check_count, pair, parse_padding
from ..ops.conv import conv2d
from . import init
from .module import Module
from .parameter import Parameter



def _init_like_conv(weight, bias, fan_in):
    """PyTorch's conv init: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), +), and
    the bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(fan_in)
    init.uniform_(weight, -bound, bound)
    if bias is not None:
        init.uniform_(bias, -bound, bound)


class Conv2d(Module):
    """2-D convolution (cross-correlation), PyTorch's arguments, layout and init.

    weight: (out_channels, in_channels / groups, kh, kw); bias: (out_channels,).
    ``padding`` is an int, a pair, ``'same'`` (stride 1) or ``'valid'``. Initialisation:
    weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in/groups * kh * kw
    (PyTorch's kaiming_uniform_ with a=sqrt(5)).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None):
        super().__init__()
        self._set_options("Conv2d", out_channels, kernel_size, stride, padding, dilation,
                          groups, padding_mode)
        self._set_in_channels("Conv2d", in_channels)
        dtype = dtype or backend.default_dtype
        shape = (out_channels, in_channels // groups) + self.kernel_size
        check_allocation("Conv2d", shape, backend.np.dtype(dtype).itemsize, "weight")
        self.weight = Parameter(backend.np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(backend.np.empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:  # initialised on the CPU: the same values on every device
            self.to(device)

    def _set_options(self, who, out_channels, kernel_size, stride, padding, dilation,
                     groups, padding_mode):
        """Everything but in_channels (which LazyConv2d learns from its first input)."""
        check_count(who, "out_channels", out_channels)
        check_count(who, "groups", groups)
        if out_channels % groups:
            raise ValueError(f"{who}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode != "zeros":
            raise ValueError(f"{who}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.out_channels, self.groups = out_channels, groups
        self.kernel_size = pair(who, "kernel_size", kernel_size)
        self.stride = pair(who, "stride", stride)
        self.dilation = pair(who, "dilation", dilation)
        parse_padding(who, padding, self.kernel_size, self.stride, self.dilation)  # refused now
        self.padding = padding if isinstance(padding, str) else pair(who, "padding", padding, 0)
        self.padding_mode = padding_mode

    def _set_in_channels(self, who, in_channels):
        check_count(who, "in_channels", in_channels)
        if in_channels % self.groups:
            raise ValueError(f"{who}: in_channels ({in_channels}) and out_channels "
                             f"({self.out_channels}) must both be divisible by groups "
                             f"({self.groups})")
        self.in_channels = in_channels

    def reset_parameters(self):
        fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
        _init_like_conv(self.weight, self.bias, fan_in)

    @classmethod
    def parameter_count(cls, in_channels, out_channels, kernel_size, groups=1, bias=True):
        """Weights + biases, from the arguments alone: out * in/groups * kh * kw (+ out)."""
        kh, kw = pair("Conv2d.parameter_count", "kernel_size", kernel_size)
        return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)

    def forward(self, x):
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)

    def _who(self):
        return f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size})"

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
