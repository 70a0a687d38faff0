"""deepgrad: a readable deep-learning framework on NumPy, checked against PyTorch.

    import deepgrad as dg
    x = dg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == [[2., 4.]]
"""
from . import backend
from .autograd import AnomalyError, Tensor, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .backend import manual_seed
from .ops import (abs, clip, concatenate, exp, log, log_softmax, matmul, max, mean, min,
                  relu, reshape, sigmoid, softmax, sqrt, stack, sum, tanh, transpose, where)
from .tensor import as_tensor, ones, rand, randn, tensor, zeros

float32 = backend.np.float32
float64 = backend.np.float64

__version__ = "0.1.0"


def __getattr__(name):
    # Subpackages load on first use, so ``import deepgrad`` stays fast.
    import importlib
    if name in ("nn", "optim", "data", "train", "diagnostics", "checkpoint", "cli",
                "distributed", "serialization", "config", "lab", "cuda"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'deepgrad' has no attribute {name!r}")
