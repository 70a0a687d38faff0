"""Average pooling on oneDNN's pooling primitive (optional: the ``onednn`` extra;
bindings and plan cache in ``_onednn.py``).

``pool.avg_pool2d`` runs :class:`OneDNNAvgPool2d` for a float32 NumPy (N, C, H, W) input
stored NCHW or channels-last, without ``ceil_mode`` and ``divisor_override``; everything
else, and every case oneDNN has only its reference kernel for, runs ``pool.AvgPool2d``,
which the tests hold it to. PyTorch's ``count_include_pad`` is oneDNN's
"avg_include_padding" (the divisor counts the zero padding) or "avg_exclude_padding".
"""
import numpy as np

from ..autograd import Function
from . import _onednn as d
from ._onednn import address, plan_for
from ._onednn_conv import activation_strides, empty
from ._layout import dense_layout, in_layout

FORWARD_TRAINING = 64
AVG_INCLUDE_PADDING, AVG_EXCLUDE_PADDING = 0x2FF, 0x3FF  # dnnl_alg_kind_t


class AvgPoolPlan:
    """The forward and backward pooling primitives of one geometry and memory order."""

    def __init__(self, lib, shape, layout, kernel, stride, padding, out_hw, include_pad):
        dims = [d._PP, d.P, d.ctypes.c_int, d.ctypes.c_int, d.P, d.P] + [d.Dims] * 5 + [d.P]
        signatures = {"dnnl_pooling_forward_primitive_desc_create": dims,
                      "dnnl_pooling_backward_primitive_desc_create":
                          [d._PP, d.P, d.ctypes.c_int, d.P, d.P] + [d.Dims] * 5 + [d.P, d.P]}
        d.declare(lib, signatures)
        self.y_shape = (shape[0], shape[1], *out_hw)
        self.x_md = d.MemoryDesc.plain(lib, shape, activation_strides(shape, layout))
        self.y_md = d.MemoryDesc.plain(lib, self.y_shape,
                                       activation_strides(self.y_shape, layout))
        alg = AVG_INCLUDE_PADDING if include_pad else AVG_EXCLUDE_PADDING
        geometry = (d.Dims(*stride), d.Dims(*kernel), d.Dims(0, 0), d.Dims(*padding),
                    d.Dims(*padding))  # oneDNN's dilation 0: windows without holes
        self.forward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_pooling_forward_primitive_desc_create, lib.engine,
            FORWARD_TRAINING, alg, self.x_md.handle, self.y_md.handle, *geometry, None),
            "average pooling forward")
        self.backward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_pooling_backward_primitive_desc_create, lib.engine, alg,
            self.x_md.handle, self.y_md.handle, *geometry, self.forward.pd, None),
            "average pooling backward")
        x_md, y_md = self.x_md.handle, self.y_md.handle
        self.forward_args = self.forward.arguments({1: x_md, 17: y_md})  # x -> y
        self.backward_args = self.backward.arguments({145: y_md, 129: x_md})  # gy -> gx
        self.x_shape, self.layout = tuple(shape), layout

    def run_forward(self, x):
        y = empty(self.y_shape, self.layout)
        self.forward.run(self.forward_args, address(x), address(y))
        return y

    def run_backward(self, g):
        gx = empty(self.x_shape, self.layout)
        self.backward.run(self.backward_args, address(g), address(gx))
        return gx


def op_for(x, kernel, stride, padding, out_hw, count_include_pad):
    """A :class:`OneDNNAvgPool2d` for this input and geometry, or None: not a float32
    NumPy input stored NCHW or NHWC, oneDNN unavailable, or only its reference kernel."""
    if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 4 or not x.size:
        return None
    layout = dense_layout(x)
    if layout is None:
        return None
    key = ("avg_pool", tuple(x.shape), layout, tuple(kernel), tuple(stride), tuple(padding),
           bool(count_include_pad))
    plan = plan_for(key, lambda lib: AvgPoolPlan(lib, x.shape, layout, kernel, stride,
                                                 padding, out_hw, count_include_pad),
                    work=lambda: x.size)
    return None if plan is None else OneDNNAvgPool2d(plan)


class OneDNNAvgPool2d(Function):
    """Average pooling forward and backward by oneDNN for one geometry (``plan``); the
    output and the input gradient in the input's memory order."""

    saves_inputs = False
    saves = ()

    def __init__(self, plan):
        self.plan = plan

    def forward(self, x):
        return self.plan.run_forward(x)

    def backward(self, g):
        g = in_layout(np.asarray(g, dtype=np.float32), self.plan.layout)
        return (self.plan.run_backward(g),)
