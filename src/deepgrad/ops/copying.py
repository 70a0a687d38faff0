"""Copying ops: ``to_device`` (``ToDevice``, a copy on another device whose gradient
travels back) and ``clone`` (``Copy``, a row-major copy whose gradient passes through).
They change where or how the data is stored, never its shape, so they live apart from
the shape ops; ``shape.py`` re-exports them for the callers that know them there.
"""
from .. import backend
from ..autograd import Function


class ToDevice(Function):
    """A copy on another device; the gradient travels back to the source device."""

    saves_inputs = False
    saves = ("source",)

    def __init__(self, device):
        self.device = device

    def forward(self, a):
        self.source = backend.device_of(a)
        return backend.to_device(a, self.device)

    def backward(self, g):
        return (backend.to_device(g, self.source),)


def to_device(a, device):
    """``a`` on ``device`` ('cpu' or 'cuda'): ``a`` itself if already there, else a copy
    that stays in the graph, as PyTorch's ``Tensor.to``."""
    if backend.normalize_device(device) == a.device:
        return a
    backend.array_module_for(device)  # a clear error for an absent device
    return ToDevice(device)(a)


class Copy(Function):
    """A row-major copy of ``a`` (``clone``, ``contiguous``); the gradient passes through."""

    saves_inputs = False

    def forward(self, a):
        return backend.get_array_module(a).array(a, order="C", copy=True)

    def backward(self, g):
        return (g,)


def clone(a):
    return Copy()(a)
