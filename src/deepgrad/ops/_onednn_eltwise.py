"""Sigmoid, tanh and leaky ReLU of large float32 arrays on oneDNN's eltwise primitive,
forward and backward (from the output; leaky ReLU's from the input) (optional: the
``onednn`` extra; bindings and plan cache in ``_onednn.py``).

``activation.sigmoid``, ``activation.tanh`` and ``activation.leaky_relu`` (a slope in
(0, 1], where the textbook takes the same branch-free form) run oneDNN's op for a
float32 NumPy array of at least ``activation.ONEDNN_FROM`` elements laid out densely
(C order, or a channels-last (N, C, H, W) view), so that it can be described to oneDNN
as one flat vector; the output keeps the input's memory order. oneDNN's kernels use all
the cores (NumPy's and the compiled loops use one); smaller arrays stay with those,
which the tests hold this one to (oneDNN's exp is a polynomial: a few float32 ulp;
leaky ReLU gives the textbook's bits).
"""
import numpy as np

from ..autograd import Function
from . import _onednn as d
from ._onednn import address, plan_for
from ._layout import memory_layout

FORWARD_TRAINING = 64
ALGORITHMS = {"sigmoid": 0x104, "tanh": 0x101,  # the *_use_dst_for_bwd kinds
              "leaky_relu": 0x20}  # relu with alpha the negative slope, backward from x
WORK_PER_ELEMENT = 16
"""An element's exp or tanh counted as 16 multiply-adds for ``_onednn.plan_for``: every
array that comes here (from 2^16 elements) then runs on all threads, which were 10-25%
faster from 2^16 to 2^18 elements (a sigmoid forward and backward on (256, 16, 10, 10):
242 us against 327 on one thread, BENCHMARKS.md)."""
FROM_INPUT = {"leaky_relu"}
"""The functions whose backward reads the input (DNNL_ARG_SRC), not the output."""


class SameShapePlan:
    """A plan whose forward maps x to y and whose backward maps (a saved array, the
    output gradient) to the input gradient, all of one shape and memory order; the
    subclass makes ``forward``, ``backward`` and their bound arguments."""

    def run_forward(self, x):
        y = np.empty_like(x)  # order 'K': the input's memory order
        self.forward.run(self.forward_args, address(x), address(y))
        return y

    def run_backward(self, saved, g):
        """The input gradient from ``g`` and the saved input or output."""
        gx = np.empty_like(saved)
        self.backward.run(self.backward_args, address(saved), address(g), address(gx))
        return gx


class EltwisePlan(SameShapePlan):
    """The forward and backward primitives of one function on ``size`` elements
    (``alpha``: leaky ReLU's negative slope)."""

    def __init__(self, lib, name, size, alpha=0.0):
        signatures = {
            "dnnl_eltwise_forward_primitive_desc_create": [
                d._PP, d.P, d.ctypes.c_int, d.ctypes.c_int, d.P, d.P, d.ctypes.c_float,
                d.ctypes.c_float, d.P],
            "dnnl_eltwise_backward_primitive_desc_create": [
                d._PP, d.P, d.ctypes.c_int, d.P, d.P, d.P, d.ctypes.c_float, d.ctypes.c_float,
                d.P, d.P]}
        d.declare(lib, signatures)
        self.md = d.MemoryDesc.plain(lib, (size,), (1,))
        alg, md = ALGORITHMS[name], self.md.handle
        self.forward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_eltwise_forward_primitive_desc_create, lib.engine,
            FORWARD_TRAINING, alg, md, md, alpha, 0.0, None), f"{name} forward")
        self.backward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_eltwise_backward_primitive_desc_create, lib.engine, alg, md, md,
            md, alpha, 0.0, self.forward.pd, None), f"{name} backward")
        self.forward_args = self.forward.arguments({1: md, 17: md})  # x -> y
        saved = 1 if name in FROM_INPUT else 17  # x or y
        self.backward_args = self.backward.arguments({saved: md, 145: md, 129: md})  # -> gx


def _dense(a):
    """True if ``a`` covers one block of memory in C order or as channels-last."""
    return memory_layout(a) is not None


def _same_order(g, y):
    """``g`` laid out as ``y`` is (C order or channels-last), copied if it is not."""
    if g.strides == y.strides:
        return g
    out = np.empty_like(y)
    out[...] = g
    return out


def op_for(name, x, alpha=0.0):
    """A :class:`OneDNNActivation` computing ``name`` ('sigmoid', 'tanh'; 'leaky_relu'
    with the negative slope ``alpha``: a :class:`OneDNNLeakyReLU`) of ``x``, or None
    where it does not apply."""
    if type(x) is not np.ndarray or x.dtype != np.float32:
        return None
    if not _dense(x):
        return None
    alpha = float(np.float32(alpha))  # what oneDNN reads, and the textbook multiplies by
    plan = plan_for(("eltwise", name, x.size, alpha),
                    lambda lib: EltwisePlan(lib, name, x.size, alpha),
                    work=lambda: WORK_PER_ELEMENT * x.size)
    if plan is None:
        return None
    return OneDNNLeakyReLU(plan, alpha) if name in FROM_INPUT else OneDNNActivation(plan)


class OneDNNActivation(Function):
    """An elementwise function whose gradient is computed from its output (sigmoid:
    s (1 - s); tanh: 1 - t^2), forward and backward by oneDNN."""

    saves_inputs, saves_output = False, True
    saves = ("y",)

    def __init__(self, plan):
        self.plan = plan

    def forward(self, x):
        self.y = self.plan.run_forward(x)
        return self.y

    def backward(self, g):
        g = _same_order(np.asarray(g, dtype=np.float32), self.y)
        return (self.plan.run_backward(self.y, g),)


class OneDNNLeakyReLU(Function):
    """Leaky ReLU forward and backward by oneDNN, the textbook's bits both ways: oneDNN
    gives a NaN input the gradient g, where PyTorch and the textbook give slope * g
    (NaN > 0 is false), so those few are set right after a check of the input."""

    saves = ("x",)

    def __init__(self, plan, slope):
        self.plan, self.slope = plan, slope

    def forward(self, x):
        self.x = x
        return self.plan.run_forward(x)

    def backward(self, g):
        x = self.x
        g = _same_order(np.asarray(g, dtype=np.float32), x)
        gx = self.plan.run_backward(x, g)
        nan = np.isnan(x)
        if nan.any():
            gx[nan] = g[nan] * np.float32(self.slope)
        return (gx,)
