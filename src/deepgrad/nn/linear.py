"""Fully connected layer."""
import math

from .. import backend
from ..autograd import Tensor
from ..ops import linear
from . import init
from .module import Module
from .parameter import Parameter


def _check_features(arg, value, who="Linear"):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{who}: {arg} must be a positive integer, got {value!r}")


class Linear(Module):
    """``y = x @ weight.T + bias``; weight is (out_features, in_features) as in PyTorch.

    Initialisation is PyTorch's: weight ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_
    with a=sqrt(5)), bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            _check_features(arg, value)
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or backend.default_dtype
        xp = backend.np
        self.weight = Parameter(xp.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(xp.empty(out_features, dtype=dtype)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:  # initialised on the CPU: the same values on every device
            self.to(device)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Linear: input must be a Tensor, got {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): expected input of shape "
                f"(..., {self.in_features}), got {tuple(x.shape)}"
            )
        if x.dtype.kind != "f":
            raise TypeError(f"Linear: input must be floating point, got dtype {x.dtype}; "
                            f"convert with x.float()")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"Linear({self.in_features}, {self.out_features}): input has "
                            f"dtype {x.dtype} but the weight has {self.weight.dtype}; "
                            f"convert the input with x.to(dtype) or build the layer "
                            f"with dtype=...")
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
