"""The locally connected layer, LocallyConnected2d.

It sees an input (N, C, H, W) as a convolution does, with the same receptive fields, but
has its own filters at every output position (the course's "locally connected layer":
good when images are registered, e.g. aligned faces). ``parameter_count`` gives its size
from its arguments alone, without allocating the weights.
"""
from .. import backend
from ..autograd import Tensor
from ..checks import (InputError, check_allocation, check_bool_arg, check_count, check_fits,
                      pair, parse_padding)
from ..ops.conv import output_size
from ..ops.locally_connected import locally_connected2d
from .conv import _init_like_conv
from .module import Module
from .parameter import Parameter


class LocallyConnected2d(Module):
    """Like Conv2d, but every output position (p, q) has its own filters (no sharing).

    PyTorch has no such layer; this one's conventions:

    * ``input_size`` (H, W) is fixed at construction, since the weights depend on the
      number of output positions OH x OW (computed as for Conv2d);
    * weight: (OH, OW, out_channels, in_channels, kh, kw), so ``weight[p, q]`` is an
      ordinary Conv2d weight used only at position (p, q); bias: (out_channels, OH, OW),
      one bias per output unit;
    * init as a convolution with the same receptive field: weight and bias ~
      U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in_channels * kh * kw.

    ``y[n, o, p, q] = bias[o, p, q] + sum_{c,i,j} weight[p, q, o, c, i, j] *
    x_padded[n, c, p*sh + i, q*sw + j]``.
    """

    def __init__(self, in_channels, out_channels, input_size, kernel_size, stride=1,
                 padding=0, bias=True, dtype=None):
        super().__init__()
        who = "LocallyConnected2d"
        check_count(who, "in_channels", in_channels)
        check_count(who, "out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.input_size = pair(who, "input_size", input_size)
        self.kernel_size = pair(who, "kernel_size", kernel_size)
        self.stride = pair(who, "stride", stride)
        self._pads = parse_padding(who, padding, self.kernel_size, self.stride, (1, 1))
        self.padding = padding if isinstance(padding, str) else pair(who, "padding", padding, 0)
        check_fits(who, (1, in_channels) + self.input_size, self._pads, self.kernel_size,
                   (1, 1))
        self.output_size = self._output_size(self.input_size, self.kernel_size, self.stride,
                                             self._pads)
        check_bool_arg(who, "bias", bias)
        dtype = dtype or backend.default_dtype
        shape = self.output_size + (out_channels, in_channels) + self.kernel_size
        check_allocation(who, shape, backend.np.dtype(dtype).itemsize, "weight")
        self.weight = Parameter(backend.np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(backend.np.empty((out_channels,) + self.output_size,
                                                   dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @staticmethod
    def _output_size(input_size, kernel, stride, pads):
        return tuple(output_size(input_size[a], pads[a], kernel[a], stride[a], 1)
                     for a in range(2))

    def reset_parameters(self):
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        _init_like_conv(self.weight, self.bias, fan_in)

    @classmethod
    def parameter_count(cls, in_channels, out_channels, input_size, kernel_size, stride=1,
                        padding=0, bias=True):
        """OH*OW*out*in*kh*kw weights (+ OH*OW*out biases), from the arguments alone."""
        who = "LocallyConnected2d.parameter_count"
        kernel, stride = pair(who, "kernel_size", kernel_size), pair(who, "stride", stride)
        pads = parse_padding(who, padding, kernel, stride, (1, 1))
        oh, ow = cls._output_size(pair(who, "input_size", input_size), kernel, stride, pads)
        units = oh * ow * out_channels
        return units * in_channels * kernel[0] * kernel[1] + (units if bias else 0)

    def forward(self, x):
        if isinstance(x, Tensor) and x.ndim == 4 and tuple(x.shape[2:]) != self.input_size:
            # the layer's own contract; the op checks the rest
            raise InputError(f"expected input of spatial size {self.input_size}, got shape "
                             f"{tuple(x.shape)}")
        return locally_connected2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text
