"""Fully connected layer."""
import math

from .. import backend
from ..checks import check_allocation, check_count
from ..ops import linear
from . import init
from .module import Module
from .parameter import Parameter



class Linear(Module):
    """``y = x @ weight.T + bias``; weight is (out_features, in_features) as in PyTorch.

    Initialisation is PyTorch's: weight ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_
    with a=sqrt(5)), bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for arg, value in (("in_features", in_features), ("out_features", out_features)):
            check_count("Linear", arg, value)
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or backend.default_dtype
        check_allocation("Linear", (out_features, in_features), backend.np.dtype(dtype).itemsize,
                         "weight")
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
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
