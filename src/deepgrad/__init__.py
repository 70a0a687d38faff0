"""deepgrad: a readable deep-learning framework on NumPy, checked against PyTorch.

    import deepgrad as dg
    x = dg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == tensor([[2., 4.]])

The names are PyTorch's: a program written for ``torch`` runs after swapping the import.
"""
from . import allocator as _allocator, backend
from . import tensor_methods as _tensor_methods  # noqa: F401 - binds the Tensor's methods
from .autograd import (AnomalyError, Size, Tensor, detect_anomaly, enable_grad,
                       inference_mode, is_grad_enabled, no_grad, set_grad_enabled)
from .backend import device, manual_seed
from .dtypes import (bool, cdouble, cfloat, complex64, complex128, double, float, float16,
                     float32, float64, half, int, int8, int16, int32, int64, long, short,
                     uint8)
from .ops import (abs, all, amax, amin, any, argmax, argmin, argsort, cat, ceil, chunk,
                  clamp, clip, concatenate, cos, cumsum, exp, flatten, floor, gather, log,
                  log1p, log_softmax, matmul, max, maximum, mean, min, minimum, permute,
                  relu, reshape, round, sigmoid, sign, sin, softmax, sort, split, sqrt,
                  square, squeeze, stack, std, sum, tanh, topk, transpose, unsqueeze, var,
                  where)
from .tensor import (BoolTensor, ByteTensor, DoubleTensor, FloatTensor, IntTensor,
                     LongTensor, arange, as_tensor, empty, empty_like, eye, from_numpy, full,
                     full_like, get_default_dtype, linspace, normal, ones, ones_like, rand,
                     rand_like, randint, randn, randn_like, randperm, set_default_dtype,
                     tensor, zeros, zeros_like)
from .tensor_methods import (allclose, bmm, clone, dot, equal, isfinite, isinf, isnan,
                             logsumexp, masked_fill, mm, norm, numel, scatter)
from .ops.arithmetic import add, sub, mul, div, pow, neg
from .io import load, save

_allocator.tune()  # large freed blocks are kept for the next step (allocator.py)

__version__ = "0.1.0"

_SUBMODULES = ("nn", "optim", "data", "train", "diagnostics", "checkpoint", "cli",
               "distributed", "serialization", "config", "lab", "cuda", "autograd",
               "accelerator", "backends", "utils", "io", "viz")


def __getattr__(name):
    # Subpackages load on first use, so ``import deepgrad`` stays fast.
    import importlib
    if name == "Generator":
        from .data.sampler import Generator
        return Generator
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'deepgrad' has no attribute {name!r}")
