"""Average and max pooling on oneDNN's pooling primitive (optional: the ``onednn``
extra; bindings and plan cache in ``_onednn.py``).

``pool.avg_pool2d`` runs :class:`OneDNNAvgPool2d` for a float32 NumPy (N, C, H, W) input
stored NCHW or channels-last, without ``ceil_mode`` and ``divisor_override``; everything
else, and every case oneDNN has only its reference kernel for, runs ``pool.AvgPool2d``,
which the tests hold it to. ``pool.max_pool2d`` runs :class:`OneDNNMaxPool2d` for such
inputs, any window, stride and padding, without ``ceil_mode`` and ``return_indices``
(the compiled 2x2 pooling keeps its case; windows with holes, dilation > 1, have only
oneDNN's reference kernel and stay with the textbook), ``pool.MaxPool2d`` being its
oracle (the same values and the same argmax, bit for bit). PyTorch's ``count_include_pad`` is oneDNN's
"avg_include_padding" (the divisor counts the zero padding) or "avg_exclude_padding".
"""
import numpy as np

from ..autograd import Function, Tensor
from . import _onednn as d
from ._onednn import address, plan_for
from ._onednn_conv import activation_strides, empty
from ._layout import dense_layout, in_layout

FORWARD_TRAINING = 64
AVG_INCLUDE_PADDING, AVG_EXCLUDE_PADDING = 0x2FF, 0x3FF  # dnnl_alg_kind_t
MAX = 0x1FF
QUERY_WORKSPACE_MD, ARG_WORKSPACE = 135, 64  # max pooling's argmax, oneDNN's own format


class PoolPlan:
    """The forward and backward pooling primitives of one geometry, algorithm and memory
    order (max pooling's forward also writes a workspace, which its backward reads)."""

    def __init__(self, lib, shape, layout, kernel, stride, padding, dilation, out_hw,
                 algorithm):
        dims = [d._PP, d.P, d.ctypes.c_int, d.ctypes.c_int, d.P, d.P] + [d.Dims] * 5 + [d.P]
        signatures = {"dnnl_pooling_forward_primitive_desc_create": dims,
                      "dnnl_pooling_backward_primitive_desc_create":
                          [d._PP, d.P, d.ctypes.c_int, d.P, d.P] + [d.Dims] * 5 + [d.P, d.P]}
        d.declare(lib, signatures)
        self.y_shape = (shape[0], shape[1], *out_hw)
        self.x_md = d.MemoryDesc.plain(lib, shape, activation_strides(shape, layout))
        self.y_md = d.MemoryDesc.plain(lib, self.y_shape,
                                       activation_strides(self.y_shape, layout))
        geometry = (d.Dims(*stride), d.Dims(*kernel),
                    d.Dims(*(k - 1 for k in dilation)),  # oneDNN's dilation 0: no holes
                    d.Dims(*padding), d.Dims(*padding))
        what = "max pooling" if algorithm == MAX else "average pooling"
        self.forward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_pooling_forward_primitive_desc_create, lib.engine,
            FORWARD_TRAINING, algorithm, self.x_md.handle, self.y_md.handle, *geometry,
            None), f"{what} forward")
        self.backward = d.fast_primitive(lib, d._pd_or_none(
            lib, lib.dll.dnnl_pooling_backward_primitive_desc_create, lib.engine, algorithm,
            self.x_md.handle, self.y_md.handle, *geometry, self.forward.pd, None),
            f"{what} backward")
        x_md, y_md = self.x_md.handle, self.y_md.handle
        forward, backward = {1: x_md, 17: y_md}, {145: y_md, 129: x_md}  # x -> y, gy -> gx
        self.workspace_bytes = 0
        if algorithm == MAX:
            ws_md = self.forward.md(QUERY_WORKSPACE_MD)
            self.workspace_bytes = lib.memory_desc_get_size(ws_md)
            forward[ARG_WORKSPACE] = backward[ARG_WORKSPACE] = ws_md
        self.forward_args = self.forward.arguments(forward)
        self.backward_args = self.backward.arguments(backward)
        self.x_shape, self.layout = tuple(shape), layout

    def run_forward(self, x):
        """y, and max pooling's workspace (None for average pooling)."""
        y = empty(self.y_shape, self.layout)
        if not self.workspace_bytes:
            self.forward.run(self.forward_args, address(x), address(y))
            return y, None
        workspace = np.empty(self.workspace_bytes, np.uint8)
        self.forward.run(self.forward_args, address(x), address(y), address(workspace))
        return y, workspace

    def run_backward(self, g, workspace=None):
        gx = empty(self.x_shape, self.layout)
        pointers = (address(g), address(gx)) + (() if workspace is None
                                                 else (address(workspace),))
        self.backward.run(self.backward_args, *pointers)
        return gx


def _plan(x, kernel, stride, padding, dilation, out_hw, algorithm):
    """The cached :class:`PoolPlan` for ``x`` (a float32 NumPy (N, C, H, W) array stored
    NCHW or NHWC) and this geometry, or None."""
    if type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 4 or not x.size:
        return None
    layout = dense_layout(x)
    if layout is None:
        return None
    key = ("pool", algorithm, tuple(x.shape), layout, tuple(kernel), tuple(stride),
           tuple(padding), tuple(dilation))
    return plan_for(key, lambda lib: PoolPlan(lib, x.shape, layout, kernel, stride,
                                              padding, dilation, out_hw, algorithm),
                    work=lambda: x.size)


def op_for(x, kernel, stride, padding, out_hw, count_include_pad, given=None):
    """A :class:`OneDNNAvgPool2d` for this input and geometry, or None: not a float32
    NumPy input stored NCHW or NHWC, oneDNN unavailable, or only its reference kernel.
    With ``given`` (``avg_pool2d``'s arguments as the user gave them) the plan is also
    filed under them, for :func:`op_seen`."""
    algorithm = AVG_INCLUDE_PADDING if count_include_pad else AVG_EXCLUDE_PADDING
    plan = _plan(x, kernel, stride, padding, (1, 1), out_hw, algorithm)
    if plan is None:
        return None
    if given is not None:
        d.file_seen(d.seen_key("avg_pool2d", (x,), given), plan)
    return OneDNNAvgPool2d(plan)


def _seen(kind, x, given):
    """What a ``kind`` call ('avg_pool2d', 'max_pool2d') filed for an input of this
    shape, strides and dtype and exactly the arguments ``given`` (so this call passes
    its checks too: ``_onednn.seen_key``), or None."""
    if not isinstance(x, Tensor):
        return None
    return d.seen_plan(d.seen_key(kind, (x._data,), given))


def op_seen(x, given):
    """The :class:`OneDNNAvgPool2d` of an ``avg_pool2d`` call seen before (:func:`_seen`),
    or None."""
    plan = _seen("avg_pool2d", x, given)
    return None if plan is None else OneDNNAvgPool2d(plan)


def max_op_for(x, kernel, stride, padding, dilation, out_hw, textbook, given=None):
    """A :class:`OneDNNMaxPool2d` for this input and geometry (``textbook``: the
    ``pool.MaxPool2d`` it hands an input with NaN or -inf to), or None. With ``given``
    (``max_pool2d``'s arguments as the user gave them) the plan is also filed under
    them, for :func:`max_op_seen`."""
    plan = _plan(x, kernel, stride, padding, dilation, out_hw, MAX)
    if plan is None:
        return None
    if given is not None:
        d.file_seen(d.seen_key("max_pool2d", (x,), given),
                    (plan, (kernel, stride, padding, dilation)))
    return OneDNNMaxPool2d(plan, textbook)


def max_op_seen(x, given):
    """The :class:`OneDNNMaxPool2d` of a ``max_pool2d`` call seen before (:func:`_seen`),
    or None."""
    seen = _seen("max_pool2d", x, given)
    if seen is None:
        return None
    from .pool import MaxPool2d  # the textbook op, for an input with NaN or -inf
    plan, geometry = seen
    return OneDNNMaxPool2d(plan, MaxPool2d(*geometry, False))


class OneDNNAvgPool2d(Function):
    """Average pooling forward and backward by oneDNN for one geometry (``plan``); the
    output and the input gradient in the input's memory order."""

    saves_inputs = False
    saves = ()

    def __init__(self, plan):
        self.plan = plan

    def forward(self, x):
        return self.plan.run_forward(x)[0]

    def backward(self, g):
        g = in_layout(np.asarray(g, dtype=np.float32), self.plan.layout)
        return (self.plan.run_backward(g),)


class OneDNNMaxPool2d(Function):
    """Max pooling forward and backward by oneDNN for one geometry (``plan``), the
    argmax in oneDNN's workspace; ties go to the first offset of the window, as in
    PyTorch and the textbook. oneDNN's max skips a NaN (PyTorch's and the textbook's
    window is NaN then) and starts from the lowest finite float (a window of -inf would
    give -3.4e38), so an input holding NaN or -inf, found by one ``min`` (which keeps a
    NaN), goes to the textbook op ``textbook`` instead."""

    saves_inputs = False
    saves = ("workspace", "textbook")

    def __init__(self, plan, textbook):
        self.plan, self.textbook = plan, textbook

    def forward(self, x):
        if not x.min() > -np.inf:  # NaN or -inf
            self.workspace = None
            return self.textbook.forward(x)
        y, self.workspace = self.plan.run_forward(x)
        return y

    def backward(self, g):
        if self.workspace is None:
            return self.textbook.backward(g)
        g = in_layout(np.asarray(g, dtype=np.float32), self.plan.layout)
        return (self.plan.run_backward(g, self.workspace),)
