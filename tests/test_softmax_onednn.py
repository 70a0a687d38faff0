"""oneDNN's softmax for large float32 arrays along their innermost dim
(ops/_onednn_softmax.py): forward and backward against float64 and PyTorch, as accurate
as the textbook, in C order and channels-last; rows with NaN or infinities as the
textbook and PyTorch give them; in-place changes caught; the arrays that stay with
NumPy (other axes, small, float64, strided) and log_softmax, which always does.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra); without it these
tests skip.
"""
import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.ops._onednn_softmax import OneDNNSoftmax
from deepgrad.ops.activation import ONEDNN_FROM as MIN_SIZE
from deepgrad.ops.activation import Softmax
from helpers_onednn import (assert_backward_refuses_a_changed_output, channels_last,  # noqa: F401
                            onednn)

CASES = [((8192, 10), -1, "C"), ((64, 128, 512), 2, "C"), ((256, 1000), 1, "C"),
         ((65536, 2), 1, "C"), ((16, 21, 24, 20), 1, "channels-last"),
         ((4, 6, 32, 128), 3, "C")]


def _exact(x, dim):
    return torch.softmax(torch.tensor(x, dtype=torch.float64), dim).numpy()


@pytest.mark.parametrize("shape, dim, layout", CASES, ids=[str(c) for c in CASES])
def test_matches_float64_as_closely_as_the_textbook(onednn, shape, dim, layout):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    if layout == "channels-last":
        x = channels_last(x)
    xt = dg.tensor(x, requires_grad=True)
    y = dg.softmax(xt, dim=dim)
    assert isinstance(y.creator, OneDNNSoftmax)
    got = y.detach().numpy()
    assert got.strides == x.strides  # the input's memory order
    exact = _exact(x, dim)
    textbook = Softmax(dim % x.ndim).forward(x)
    worst = np.abs(textbook - exact).max()
    assert np.abs(got - exact).max() <= 2 * worst + 1e-8
    g = rng.standard_normal(shape).astype(np.float32)
    y.backward(dg.tensor(g))
    exact_grad = exact * (g - (g * exact).sum(axis=dim, keepdims=True))
    np.testing.assert_allclose(xt.grad.numpy(), exact_grad, rtol=1e-4, atol=1e-6)
    tx = torch.tensor(x, requires_grad=True)
    torch.softmax(tx, dim).backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_rows_with_nan_or_infinities_are_the_textbooks(onednn):
    rows = np.array([[1, 2, 3, 4], [np.inf, 1, 2, 3], [-np.inf, 1, 2, 3], [-np.inf] * 4,
                     [np.nan, 1, 2, 3], [1e30, -1e30, 0, 5], [np.inf, np.inf, 0, 0],
                     [-1e38] * 4, [np.inf, -np.inf, 0, 1]], np.float32)
    x = np.tile(rows, (MIN_SIZE // rows.size + 1, 1))
    xt = dg.tensor(x, requires_grad=True)
    y = dg.softmax(xt, dim=1)
    assert isinstance(y.creator, OneDNNSoftmax)
    with np.errstate(invalid="ignore"):
        textbook = Softmax(1).forward(x)
    got = y.detach().numpy()
    expected = torch.softmax(torch.tensor(x), 1).numpy()
    for theirs in (textbook, expected):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(theirs))
        np.testing.assert_allclose(got, theirs, rtol=1e-6, atol=1e-7)
    g = np.ones_like(x)
    y.backward(dg.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    torch.softmax(tx, 1).backward(torch.tensor(g))
    np.testing.assert_array_equal(np.isnan(xt.grad.numpy()), np.isnan(tx.grad.numpy()))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), atol=1e-6)


def test_an_output_changed_in_place_is_refused_by_backward(onednn):
    x = dg.randn(128, 1024, requires_grad=True)
    assert_backward_refuses_a_changed_output(dg.softmax(x, dim=-1), OneDNNSoftmax)


def test_a_gradient_in_another_memory_order_is_read_in_its_own(onednn):
    x = channels_last(np.random.default_rng(1).standard_normal((8, 16, 32, 32)).astype(
        np.float32))
    xt = dg.tensor(x, requires_grad=True)
    y = dg.softmax(xt, dim=1)
    assert isinstance(y.creator, OneDNNSoftmax)
    g = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)  # C order
    y.backward(dg.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    torch.softmax(tx, 1).backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_what_stays_with_numpy(onednn):
    def op(a, dim=-1):
        return type(dg.softmax(dg.tensor(a, requires_grad=True), dim=dim).creator).__name__

    big = np.ones((64, MIN_SIZE // 64), np.float32)
    assert op(big) == "OneDNNSoftmax"
    assert op(big, dim=0) == "Softmax"  # not the innermost axis in memory
    assert op(big[:, :-1]) == "Softmax"  # strided
    assert op(big[:, : MIN_SIZE // 64 - 1].copy()) == "Softmax"  # below the threshold
    assert op(big.astype(np.float64)) == "Softmax"
    assert op(np.ones((16, 32, 16, 16), np.float32), dim=1) == "Softmax"  # NCHW channels
    # log_softmax: oneDNN's was less accurate than PyTorch's, so NumPy computes it
    assert type(dg.nn.functional.log_softmax(dg.tensor(big, requires_grad=True),
                                             dim=-1).creator).__name__ == "LogSoftmax"
