"""Sigmoid and tanh of large float32 arrays on oneDNN's eltwise primitive, forward and
backward from the output (optional: the ``onednn`` extra; bindings and plan cache in
``_onednn.py``).

``activation.sigmoid`` and ``activation.tanh`` run :class:`OneDNNActivation` for a
float32 NumPy array of at least ``activation.ONEDNN_FROM`` elements laid out densely (C
order, or a channels-last (N, C, H, W) view), so that it can be described to oneDNN as
one flat vector; the output keeps the input's memory order. oneDNN's kernels use all the cores
(NumPy's and the compiled loops use one); smaller arrays stay with those, which the
tests hold this one to (oneDNN's exp is a polynomial: a few float32 ulp).
"""
import numpy as np

from ..autograd import Function
from . import _onednn as d
from ._onednn import address, plan_for
from ._layout import memory_layout

FORWARD_TRAINING = 64
ALGORITHMS = {"sigmoid": 0x104, "tanh": 0x101}  # the *_use_dst_for_bwd kinds


class EltwisePlan:
    """The forward and backward primitives of one function on ``size`` elements."""

    def __init__(self, lib, name, size):
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
            FORWARD_TRAINING, alg, md, md, 0.0, 0.0, None), f"{name} forward")
        self.backward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_eltwise_backward_primitive_desc_create, lib.engine, alg, md, md,
            md, 0.0, 0.0, self.forward.pd, None), f"{name} backward")
        self.forward_args = self.forward.arguments({1: md, 17: md})  # x -> y
        self.backward_args = self.backward.arguments({17: md, 145: md, 129: md})  # y, g -> gx

    def run_forward(self, x):
        y = np.empty_like(x)  # order 'K': the input's memory order
        self.forward.run(self.forward_args, address(x), address(y))
        return y

    def run_backward(self, y, g):
        gx = np.empty_like(y)
        self.backward.run(self.backward_args, address(y), address(g), address(gx))
        return gx


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


def op_for(name, x):
    """A :class:`OneDNNActivation` computing ``name`` ('sigmoid', 'tanh') of ``x``, or
    None where it does not apply."""
    if type(x) is not np.ndarray or x.dtype != np.float32:
        return None
    if not _dense(x):
        return None
    plan = plan_for(("eltwise", name, x.size), lambda lib: EltwisePlan(lib, name, x.size),
                    work=x.size)
    return None if plan is None else OneDNNActivation(plan)


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
