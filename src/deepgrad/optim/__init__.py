"""Optimizers (``deepgrad.optim``): PyTorch's update rules and argument names."""
from .optimizer import Optimizer
from .sgd import SGD
