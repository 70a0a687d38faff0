"""Softmax of large float32 arrays along their innermost dim on oneDNN's softmax
primitive, forward and backward (from the output) (optional: the ``onednn`` extra;
bindings and plan cache in ``_onednn.py``).

``activation.softmax`` runs this for a float32 NumPy array of at least
``activation.ONEDNN_FROM`` elements stored in C order or as a channels-last (N, C, H, W)
view, along the dim that is innermost in memory (the last one, or the channels of a
channels-last image): in memory the array is then (rows, L), which is how it is
described to oneDNN, so no copy is made and the output keeps the input's memory order.
NumPy makes five passes and two reductions (the last axis of (8192, 512): 7.1 ms, 6x
oneDNN's 1.2 ms; forward and backward 5.8x PyTorch's time on (64, 128, 512)); oneDNN
reads each row once, on all cores. The textbook ``activation.Softmax`` is what the tests
hold it to, and the accuracy is the same (PyTorch's too: within a few float32 ulp).

Not kept (BENCHMARKS.md): along an axis that is not innermost oneDNN has only its
reference kernel, and a transpose plus short rows cost more than NumPy; its
log-softmax was 4-5x less accurate than PyTorch's (up to 4e-6 off on values of order 1,
against 9e-7), so log_softmax stays with NumPy.
"""
import numpy as np

from ..autograd import Function
from . import _onednn as d
from ._onednn import plan_for
from ._onednn_eltwise import SameShapePlan
from ._layout import memory_layout

FORWARD_TRAINING = 64
SOFTMAX_ACCURATE = 0x30000  # dnnl_alg_kind_t
WORK_PER_ELEMENT = 16
"""An element's exp counted as 16 multiply-adds for ``_onednn.plan_for`` (as for the
eltwise functions): from 2^16 elements the primitives run on all threads."""


class SoftmaxPlan(SameShapePlan):
    """The forward and backward primitives of a softmax along the rows of a C-ordered
    (rows, length) block of memory (its backward reads the output)."""

    def __init__(self, lib, shape):
        signatures = {
            "dnnl_softmax_forward_primitive_desc_create": [
                d._PP, d.P, d.ctypes.c_int, d.ctypes.c_int, d.P, d.P, d.ctypes.c_int, d.P],
            "dnnl_softmax_backward_primitive_desc_create": [
                d._PP, d.P, d.ctypes.c_int, d.P, d.P, d.P, d.ctypes.c_int, d.P, d.P]}
        d.declare(lib, signatures)
        self.md = d.MemoryDesc.plain(lib, shape, (shape[1], 1))
        md = self.md.handle
        self.forward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_softmax_forward_primitive_desc_create, lib.engine,
            FORWARD_TRAINING, SOFTMAX_ACCURATE, md, md, 1, None), "softmax forward")
        self.backward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_softmax_backward_primitive_desc_create, lib.engine,
            SOFTMAX_ACCURATE, md, md, md, 1, self.forward.pd, None), "softmax backward")
        self.forward_args = self.forward.arguments({1: md, 17: md})  # x -> y
        self.backward_args = self.backward.arguments({17: md, 145: md, 129: md})  # y, gy -> gx


def rows_of(x, axis):
    """(rows, length): ``x`` in memory as rows along ``axis``; None where ``x`` is not one
    dense block (C order, or channels-last) or ``axis`` is not innermost in memory."""
    layout = memory_layout(x)
    innermost = x.ndim - 1 if layout == "C" else 1 if layout == "NHWC" else None
    if axis != innermost:
        return None
    return (x.size // x.shape[axis], x.shape[axis])


def op_for(x, axis):
    """A :class:`OneDNNSoftmax` of ``x`` along ``axis``, or None where it does not apply."""
    if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim == 0:
        return None
    shape = rows_of(x, axis)
    if shape is None:
        return None
    plan = plan_for(("softmax", shape), lambda lib: SoftmaxPlan(lib, shape),
                    work=lambda: WORK_PER_ELEMENT * x.size)
    return None if plan is None else OneDNNSoftmax(plan, shape)


class OneDNNSoftmax(Function):
    """Softmax forward, and its backward from the output, by oneDNN. A row holding NaN
    or +inf is NaN in the textbook and in PyTorch (x - max is NaN there); oneDNN gives
    NaN only where those are and 0 elsewhere, so such rows, found by one max of the
    output, are set to NaN."""

    saves_inputs, saves_output = False, True
    saves = ("y",)

    def __init__(self, plan, shape):
        self.plan, self.shape = plan, shape

    def forward(self, x):
        y = self.plan.run_forward(x)
        rows = _memory(y, self.shape)
        if np.isnan(rows.max()):  # max keeps a NaN, in a third of a sum's time
            rows[np.isnan(rows).any(axis=1)] = np.nan
        self.y = y
        return y

    def backward(self, g):
        g = np.asarray(g, dtype=np.float32)
        if g.strides != self.y.strides:  # the gradient in the output's memory order
            ordered = np.empty_like(self.y)
            ordered[...] = g
            g = ordered
        return (self.plan.run_backward(self.y, g),)


def _memory(a, shape):
    """The (rows, length) view of the memory of ``a`` (C order or channels-last)."""
    return (a if a.flags.c_contiguous else a.transpose(0, 2, 3, 1)).reshape(shape)
