"""Batch normalization in training mode on oneDNN's primitive (optional: the ``onednn``
extra; bindings and plan cache in ``_onednn.py``).

``batch_norm.batch_norm`` runs :class:`OneDNNBatchNorm` for a float32 NumPy (N, C, H, W)
input stored NCHW or channels-last (as oneDNN's convolutions leave it), with both weight
and bias, in training mode; everything else, and every case oneDNN has only its
reference kernel for, runs ``batch_norm.BatchNorm``, which the tests hold it to.
oneDNN returns the batch mean and the biased variance; the running variance is updated
with the unbiased one, as PyTorch does.
"""
import numpy as np

from ..autograd import Function
from . import _onednn as d
from ._onednn import address, plan_for
from ._onednn_conv import activation_strides, empty
from ._layout import dense_layout, in_layout

USE_SCALE, USE_SHIFT = 0x2, 0x4  # dnnl_normalization_flags_t
BACKWARD = 128  # dnnl_backward: the input gradient and the scale and shift gradients
ARG_MEAN, ARG_VARIANCE, ARG_SCALE, ARG_SHIFT = 49, 50, 51, 52  # oneDNN 3 (not 1.x)
ARG_DIFF_SCALE, ARG_DIFF_SHIFT = 255, 256


class BatchNormPlan:
    """The forward-training and backward primitives of one shape and memory order."""

    def __init__(self, lib, shape, layout, eps):
        signatures = {
            "dnnl_batch_normalization_forward_primitive_desc_create": [
                d._PP, d.P, d.ctypes.c_int, d.P, d.P, d.ctypes.c_float, d.ctypes.c_uint, d.P],
            "dnnl_batch_normalization_backward_primitive_desc_create": [
                d._PP, d.P, d.ctypes.c_int, d.P, d.P, d.P, d.ctypes.c_float,
                d.ctypes.c_uint, d.P, d.P]}
        d.declare(lib, signatures)
        flags = USE_SCALE | USE_SHIFT
        self.x_md = d.MemoryDesc.plain(lib, shape, activation_strides(shape, layout))
        self.stat_md = d.MemoryDesc.plain(lib, (shape[1],), (1,))
        self.forward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_batch_normalization_forward_primitive_desc_create, lib.engine,
            d.FORWARD_TRAINING, self.x_md.handle, self.x_md.handle, eps, flags, None),
            "batch normalization forward")
        self.backward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_batch_normalization_backward_primitive_desc_create, lib.engine,
            BACKWARD, self.x_md.handle, self.x_md.handle, self.x_md.handle, eps, flags,
            self.forward.pd, None), "batch normalization backward")
        self.shape, self.layout = tuple(shape), layout

    def empty(self):
        return empty(self.shape, self.layout)

    def run_forward(self, x, weight, bias):
        """(y, batch mean, biased batch variance)."""
        y, channels = self.empty(), self.shape[1]
        mean, var = np.empty(channels, np.float32), np.empty(channels, np.float32)
        x_md, s_md = self.x_md.handle, self.stat_md.handle
        self.forward.execute({1: (x_md, address(x)), 17: (x_md, address(y)),
                              ARG_MEAN: (s_md, address(mean)),
                              ARG_VARIANCE: (s_md, address(var)),
                              ARG_SCALE: (s_md, address(weight)),
                              ARG_SHIFT: (s_md, address(bias))})
        return y, mean, var

    def run_backward(self, x, mean, var, weight, g):
        """(input gradient, weight gradient, bias gradient)."""
        gx, channels = self.empty(), self.shape[1]
        gw, gb = np.empty(channels, np.float32), np.empty(channels, np.float32)
        x_md, s_md = self.x_md.handle, self.stat_md.handle
        self.backward.execute({1: (x_md, address(x)), ARG_MEAN: (s_md, address(mean)),
                               ARG_VARIANCE: (s_md, address(var)),
                               145: (x_md, address(g)), ARG_SCALE: (s_md, address(weight)),
                               129: (x_md, address(gx)),
                               ARG_DIFF_SCALE: (s_md, address(gw)),
                               ARG_DIFF_SHIFT: (s_md, address(gb))})
        return gx, gw, gb


def op_for(x, weight, bias, running_mean, running_var, momentum, eps):
    """A :class:`OneDNNBatchNorm` for these arrays, or None: not a float32 NumPy 4-D
    input stored NCHW or NHWC with float32 weight and bias, oneDNN unavailable, or only
    its reference kernel."""
    arrays = (x, weight, bias)
    if not all(type(a) is np.ndarray and a.dtype == np.float32 for a in arrays):
        return None
    if x.ndim != 4 or x.shape[0] * x.shape[2] * x.shape[3] < 2:
        return None
    layout = dense_layout(x)
    if layout is None:
        return None
    plan = plan_for(("batch_norm", tuple(x.shape), layout, float(eps)),
                    lambda lib: BatchNormPlan(lib, x.shape, layout, eps), work=lambda: x.size)
    return None if plan is None else OneDNNBatchNorm(plan, running_mean, running_var,
                                                     momentum)


class OneDNNBatchNorm(Function):
    """Batch normalization with the batch's statistics, forward and backward by
    oneDNN; the output and the input gradient in the input's memory order."""

    saves = ("x", "weight", "mean", "var")

    def __init__(self, plan, running_mean, running_var, momentum):
        self.plan, self.momentum = plan, momentum
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x, weight, bias):
        weight, bias = np.ascontiguousarray(weight), np.ascontiguousarray(bias)
        y, mean, var = self.plan.run_forward(x, weight, bias)
        if self.running_mean is not None:
            count = x.size // x.shape[1]
            m, rm, rv = self.momentum, self.running_mean, self.running_var
            rm *= rm.dtype.type(1 - m)
            rm += rm.dtype.type(m) * mean.astype(rm.dtype)
            rv *= rv.dtype.type(1 - m)
            rv += rv.dtype.type(m) * (var.astype(rv.dtype) * (count / (count - 1)))
        self.x, self.weight, self.mean, self.var = x, weight, mean, var
        return y

    def backward(self, g):
        g = in_layout(np.asarray(g, dtype=np.float32), self.plan.layout)
        gx, gw, gb = self.plan.run_backward(self.x, self.mean, self.var, self.weight, g)
        needs = self.needs_input_grad
        return (gx if needs[0] else None, gw if needs[1] else None,
                gb if needs[2] else None)
