"""oneDNN's max pooling (ops/_onednn_pool.py) against the textbook ``MaxPool2d`` over a
grid of windows, strides, paddings and dilations, in NCHW and channels-last: the same
values bit for bit, and the gradient sent to the same elements (integer gradients, so
that the sums of overlapping windows are exact in any order), ties to the window's first
offset; inputs with NaN or -inf handed to the textbook; what stays with the textbook and
the compiled 2x2 pooling. Also against PyTorch.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra); without it these
tests skip.
"""
import numpy as np
import pytest
import torch

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops._layout import memory_layout
from deepgrad.ops._onednn_pool import OneDNNMaxPool2d
from deepgrad.ops.pool import MaxPool2d
from helpers_onednn import channels_last, onednn  # noqa: F401

GRID = [((3, 3), (2, 2), (1, 1), (1, 1)), ((3, 3), (1, 1), (1, 1), (1, 1)),
        ((2, 3), (1, 2), (1, 0), (1, 1)), ((5, 5), (3, 3), (2, 2), (1, 1)),
        ((3, 3), (2, 2), (0, 0), (2, 2)), ((2, 2), (1, 1), (0, 0), (1, 1)),
        ((4, 4), (4, 4), (0, 0), (1, 1)), ((3, 1), (1, 1), (1, 0), (1, 1))]


def _textbook(x, g, kernel, stride, padding, dilation):
    op = MaxPool2d(kernel, stride, padding, dilation, False)
    return op.forward(x), op.backward(g)[0]


def _values(kind, shape, rng):
    if kind == "ties":  # few distinct values: many windows with equal maxima
        return rng.integers(-2, 3, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("kernel, stride, padding, dilation", GRID,
                         ids=[str(g) for g in GRID])
@pytest.mark.parametrize("layout", ["nchw", "channels-last"])
@pytest.mark.parametrize("kind", ["random", "ties"])
def test_the_textbooks_values_and_argmax(onednn, kernel, stride, padding, dilation, layout,
                                         kind):
    rng = np.random.default_rng(5)
    x = _values(kind, (4, 5, 13, 11), rng)
    if layout == "channels-last":
        x = channels_last(x)
    xt = dg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel, stride, padding, dilation)
    # with holes (dilation) oneDNN has only its reference kernel: the textbook runs
    assert isinstance(y.creator, OneDNNMaxPool2d) == (dilation == (1, 1))
    assert memory_layout(y.detach().numpy()) == memory_layout(x)  # the input's order
    g = rng.integers(-3, 4, size=y.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    values, grad = _textbook(x, g, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(y.detach().numpy(), values)
    np.testing.assert_array_equal(xt.grad.numpy(), grad)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, dilation)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(xt.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("special", [np.nan, -np.inf, np.inf])
def test_nan_and_infinities_as_the_textbook(onednn, special):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    x[0, 0, :3, :3] = special  # a whole window of it
    x[1, 2, 4, 5] = special
    xt = dg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, 3, 2, 1)
    assert isinstance(y.creator, OneDNNMaxPool2d)
    g = rng.integers(-3, 4, size=y.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    values, grad = _textbook(x, g, (3, 3), (2, 2), (1, 1), (1, 1))
    np.testing.assert_array_equal(y.detach().numpy(), values)
    np.testing.assert_array_equal(xt.grad.numpy(), grad)
    ty = torch.nn.functional.max_pool2d(torch.tensor(x), 3, 2, 1)
    np.testing.assert_array_equal(y.detach().numpy(), ty.numpy())


def test_what_stays_with_the_textbook_and_the_compiled_pooling(onednn):
    """(The compiled 2x2 loop is there with Numba, the ``fast`` extra, which ``all``
    holds with oneDNN; without it those cases go to oneDNN.)"""
    from deepgrad.ops import compiled
    loop = "CompiledMaxPool2x2" if compiled.kernels() is not None else "OneDNNMaxPool2d"
    x = dg.randn(2, 3, 8, 8, requires_grad=True)

    def op(*args, **kwargs):
        out = F.max_pool2d(*args, **kwargs)
        return type((out[0] if isinstance(out, tuple) else out).creator).__name__

    assert op(x, 3, 2, 1) == "OneDNNMaxPool2d"
    assert op(x, 2, 2) == loop  # few channels: the compiled 2x2 loop
    wide = dg.randn(4, 32, 16, 16, requires_grad=True)
    assert op(wide, 2) == loop  # few elements
    assert op(dg.cat([wide, wide]), 2) == "OneDNNMaxPool2d"
    assert op(x, 3, 2, 1, ceil_mode=True) == "MaxPool2d"
    assert op(x, 3, 2, 1, return_indices=True) == "MaxPool2d"
    assert op(x.double(), 3, 2, 1) == "MaxPool2d"
    assert op(x[:, :, :, ::2], 3, 2, 1) == "MaxPool2d"  # strided


def test_a_call_like_one_before_skips_the_checks_and_keeps_the_textbook_for_nan(
        onednn, monkeypatch):
    """max_pool2d files its oneDNN op under the arguments as given and the input's
    shape, strides and dtype; an equal call skips the checks, and an input with NaN on
    that path still goes to the textbook."""
    from deepgrad.ops import pool
    x = np.random.default_rng(8).standard_normal((2, 3, 9, 9)).astype(np.float32)
    first = F.max_pool2d(dg.tensor(x, requires_grad=True), 3, 2, 1)
    checks = []
    monkeypatch.setattr(pool, "_check_pool_input",
                        lambda *a, _real=pool._check_pool_input: checks.append(1) or _real(*a))
    x[0, 0, 0, 0] = np.nan
    xt = dg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, 3, 2, 1)
    assert checks == [] and isinstance(y.creator, OneDNNMaxPool2d)
    assert y.creator.plan is first.creator.plan
    g = np.ones(y.shape, np.float32)
    y.backward(dg.tensor(g))
    values, grad = _textbook(x, g, (3, 3), (2, 2), (1, 1), (1, 1))
    np.testing.assert_array_equal(y.detach().numpy(), values)
    np.testing.assert_array_equal(xt.grad.numpy(), grad)
    with pytest.raises(ValueError, match="kernel_size"):
        F.max_pool2d(xt, 3.0, 2, 1)
    assert len(checks) == 0
    F.max_pool2d(xt, 3, 2, 1, return_indices=True)  # another argument: checked
    assert len(checks) == 1
