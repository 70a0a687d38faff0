"""Activation layers: thin modules over the activation ops.

Layers take Tensors only (as torch.nn modules do); the ops check the dtype and ``dim``.
``inplace=True`` is accepted where PyTorch has it, so its programs run; the result is
computed out of place (the same values, the input left as it was).
"""
from .. import ops
from ..checks import check_int_arg, check_real_arg, check_tensor
from .module import Module


class ReLU(Module):
    """``max(x, 0)``, elementwise (:func:`deepgrad.nn.functional.relu`). ``inplace`` is
    accepted for PyTorch's programs; the result is a new tensor."""
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x):
        return ops.relu(check_tensor("ReLU", x))

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` where ``x > 0``, else ``negative_slope * x`` (default 0.01)."""
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = check_real_arg("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = bool(inplace)

    def forward(self, x):
        return ops.leaky_relu(check_tensor("LeakyReLU", x), self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                           else "")


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``, elementwise; its slope is at most 0.25, the course's
    vanishing gradient."""
    def forward(self, x):
        return ops.sigmoid(check_tensor("Sigmoid", x))


class Tanh(Module):
    """``tanh(x)``, elementwise; its slope is at most 1."""
    def forward(self, x):
        return ops.tanh(check_tensor("Tanh", x))


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim`` (default -1)."""
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check_int_arg("Softmax", "dim", dim)

    def forward(self, x):
        return ops.softmax(check_tensor("Softmax", x), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``x - logsumexp(x)`` along ``dim`` (default -1); with :class:`NLLLoss` it makes
    :class:`CrossEntropyLoss`."""
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check_int_arg("LogSoftmax", "dim", dim)

    def forward(self, x):
        return ops.log_softmax(check_tensor("LogSoftmax", x), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Identity(Module):
    """Return the input; constructor arguments are accepted and ignored (as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
