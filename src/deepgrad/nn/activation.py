"""Activation layers: thin modules over the activation ops.

Layers take Tensors only (as torch.nn modules do); the ops check the dtype and ``dim``.
"""
from .. import ops
from ..ops.checks import check_int_arg, check_real_arg, check_tensor
from .module import Module


class ReLU(Module):
    def forward(self, x):
        return ops.relu(check_tensor("ReLU", x))


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = check_real_arg("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x):
        return ops.leaky_relu(check_tensor("LeakyReLU", x), self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    def forward(self, x):
        return ops.sigmoid(check_tensor("Sigmoid", x))


class Tanh(Module):
    def forward(self, x):
        return ops.tanh(check_tensor("Tanh", x))


class Softmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check_int_arg("Softmax", "dim", dim)

    def forward(self, x):
        return ops.softmax(check_tensor("Softmax", x), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = check_int_arg("LogSoftmax", "dim", dim)

    def forward(self, x):
        return ops.log_softmax(check_tensor("LogSoftmax", x), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Identity(Module):
    def forward(self, x):
        return x
