"""The fully connected layer's op: ``y = x @ weight.T + bias`` in one Function, with
PyTorch's layout (weight is (out_features, in_features))."""
from ..autograd import Function
from ..checks import InputError, array_of, check_floating, check_same_dtype, check_tensor
from .products import mm


class Linear(Function):
    """``x @ weight.T + bias`` in one op: PyTorch's layout, weight is (out, in)."""

    saves_inputs = "others"
    saves = ("x", "weight", "has_bias")

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        self.has_bias = bias is not None
        if x.ndim <= 2:
            return mm(x, weight.T, bias)
        # (..., in): the leading axes as one batch axis
        y = mm(x.reshape(-1, x.shape[-1]), weight.T, bias)
        return y.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, g):
        needs = self.needs_input_grad
        x, w = self.x, self.weight
        g2 = g.reshape(-1, g.shape[-1])  # (..., out) as one batch axis
        gx = mm(g2, w).reshape(x.shape) if needs[0] else None
        gw = gb = None
        if needs[1]:
            if x.ndim == 2 and x.shape[0] == 1:
                # one sample (the slides' SGD): an outer product, the same numbers as
                # the product below, which OpenBLAS runs ~4x slower for an inner size 1
                gw = g.T * x
            else:
                gw = mm(g2.T, x.reshape(-1, x.shape[-1]))
        if self.has_bias and needs[2]:
            gb = g2.sum(axis=0)
        return gx, gw, gb


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` (PyTorch's ``F.linear``)."""
    check_floating("linear", check_tensor("linear", x))
    check_same_dtype("linear", x, weight)
    x_shape, w_shape = x._data.shape, array_of(weight).shape  # plain tuples: read once
    if len(w_shape) != 2:
        raise InputError(f"linear: weight must be 2-D (out_features, in_features), got "
                         f"shape {w_shape}")
    if not x_shape or x_shape[-1] != w_shape[1]:
        raise InputError(f"linear: expected input of shape (..., {w_shape[1]}) for a "
                         f"weight of shape {w_shape}, got {x_shape}")
    if bias is not None and array_of(bias).shape != (w_shape[0],):
        raise ValueError(f"linear: bias has shape {tuple(bias.shape)}, expected "
                         f"({w_shape[0]},) for a weight of shape {w_shape}")
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)
