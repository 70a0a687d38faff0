"""The convolution of the accelerated layer on oneDNN, the library PyTorch runs its CPU
convolutions on (optional: the ``onednn`` extra; bindings and primitive cache in
``_onednn.py``).

``conv.conv2d`` runs :class:`OneDNNConv2d` for float32 NumPy arrays when the library
loads and has a kernel for the geometry other than its slow reference one
(:func:`op_for`), else ``_conv_fast.FastConv2d``; the tests hold both to the textbook
``conv.Conv2d``.
"""
import numpy as np

from ..autograd import Function, Tensor
from ._layout import in_layout, is_channels_last, stored_as


def _bindings():
    from . import _onednn  # imported on the first float32 convolution, not with deepgrad
    return _onednn


def available():
    """True when oneDNN is loaded (or loads now) and not switched off."""
    return _bindings().library() is not None


def op_for(x, w, b, stride, pads, dilation, groups, given=None):
    """A :class:`OneDNNConv2d` for these arrays and this geometry, or None: not float32
    NumPy arrays, oneDNN unavailable, or only its reference kernel for the geometry.
    With ``given`` (``conv2d``'s stride, padding, dilation and groups as the user gave
    them) the plan is also filed under them and the arrays' layouts, for
    :func:`op_seen`."""
    if not _float32_arrays(x, w, b):
        return None
    from . import _onednn_conv  # the plans and the bindings: None where oneDNN is not loaded
    plan = _onednn_conv.conv_plan(x.shape, _layout_of(x), w.shape, b is not None, stride,
                                  pads, dilation, groups)
    if plan is None:
        return None
    if given is not None:
        d = _bindings()
        d.file_seen(d.seen_key("conv2d", (x, w, b), given), plan)
    return OneDNNConv2d(plan)


def op_seen(input, weight, bias, given):
    """The op of a call with arrays of these shapes, strides and dtypes and exactly these
    arguments, which passed ``conv2d``'s checks (``_onednn.seen_key``), or None."""
    x = getattr(input, "_data", None)
    w, b = getattr(weight, "_data", weight), getattr(bias, "_data", bias)
    if not (isinstance(input, Tensor) and _float32_arrays(x, w, b)):
        return None
    d = _bindings()
    plan = d.seen_plan(d.seen_key("conv2d", (x, w, b), given))
    return None if plan is None else OneDNNConv2d(plan)


def _float32_arrays(x, w, b):
    return (type(x) is np.ndarray and type(w) is np.ndarray and x.dtype == np.float32
            and w.dtype == np.float32 and x.size and w.size
            and (b is None or (type(b) is np.ndarray and b.dtype == np.float32)))


def _layout_of(a):
    """'nhwc' for a channels-last (N, C, H, W) array, else 'nchw' (the layout a strided
    one is copied into)."""
    return "nhwc" if is_channels_last(a) else "nchw"


class OneDNNConv2d(Function):
    """Convolution forward, input gradient (backward data) and weight and bias gradient
    (backward weights) by oneDNN's primitives for one geometry (``plan``).

    The input is handed over in its own memory order, NCHW or channels-last; the output
    comes as an (N, C, H, W) view of the layout oneDNN wrote (channels-last for
    channels-last inputs), the input gradient in the input's layout.
    """

    saves = ("x", "w", "converted")

    def __init__(self, plan):
        self.plan = plan

    def forward(self, x, w, b=None):
        plan = self.plan
        x = in_layout(x, plan.x_layout)
        w = np.ascontiguousarray(w)
        b = None if b is None else np.ascontiguousarray(b)
        y, self.converted = plan.run_forward(x, w, b)
        self.x, self.w = x, w
        return y

    def backward(self, grad):
        needs = self.needs_input_grad
        grad = np.asarray(grad, dtype=np.float32)
        # the gradient as it comes if it is stored NCHW or NHWC (a reorder then gives
        # it oneDNN's layout), else a copy in the output's layout
        layout = self.plan.y_layout
        if not stored_as(grad, layout):
            other = "nchw" if layout == "nhwc" else "nhwc"
            if stored_as(grad, other):
                layout = other
            else:
                grad = in_layout(grad, layout)
        gx, gw, gb = self.plan.run_backward(self.x, self.w, grad, layout, self.converted,
                                            needs[0], needs[1] or (len(needs) > 2
                                                                   and needs[2]))
        return (gx if needs[0] else None, gw if needs[1] else None,
                gb if len(needs) > 2 and needs[2] else None)
