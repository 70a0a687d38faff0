"""Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (PyTorch's arguments)."""
from ..checks import check_bool_arg
from ..ops.pool import _pool_args, adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .module import Module


class MaxPool2d(Module):
    """Max over each window; ``stride`` defaults to ``kernel_size``. With
    ``return_indices`` the call returns ``(output, indices)``, indices flat in (H, W)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = _pool_args(
            "MaxPool2d", kernel_size, stride, padding, dilation)
        for name, flag in (("return_indices", return_indices), ("ceil_mode", ceil_mode)):
            check_bool_arg("MaxPool2d", name, flag)
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)
        # the arguments as given, for a repr equal to PyTorch's ("kernel_size=2")
        self._given = (kernel_size, kernel_size if stride is None else stride, padding,
                       dilation)

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, self.return_indices)

    def extra_repr(self):
        kernel, stride, padding, dilation = self._given
        return (f"kernel_size={kernel}, stride={stride}, padding={padding}, "
                f"dilation={dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over each window; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding, _ = _pool_args(
            "AvgPool2d", kernel_size, stride, padding, 1)
        self._given = (kernel_size, kernel_size if stride is None else stride, padding)
        for name, flag in (("ceil_mode", ceil_mode), ("count_include_pad", count_include_pad)):
            check_bool_arg("AvgPool2d", name, flag)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override
        if divisor_override is not None and (isinstance(divisor_override, bool) or not
                                             isinstance(divisor_override, int)
                                             or divisor_override < 1):
            raise ValueError(f"AvgPool2d: divisor_override must be a positive int or None, "
                             f"got {divisor_override!r}")

    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        kernel, stride, padding = self._given
        return f"kernel_size={kernel}, stride={stride}, padding={padding}"


class AdaptiveAvgPool2d(Module):
    """Average into a fixed output size (int, or pair with None = keep that axis)."""

    def __init__(self, output_size):
        super().__init__()
        sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * 2
        if len(sizes) != 2 or any(s is not None and (isinstance(s, bool) or not
                                                     isinstance(s, int) or s < 1)
                                  for s in sizes):
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be a positive int or a "
                             f"pair of them (None keeps the input size), got "
                             f"{output_size!r}")
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
