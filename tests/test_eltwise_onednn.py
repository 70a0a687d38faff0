"""oneDNN's sigmoid, tanh and leaky ReLU for large float32 arrays
(ops/_onednn_eltwise.py): sigmoid and tanh against float64, leaky ReLU bit for bit
against the textbook and PyTorch, forward and backward, in C order and channels-last;
in-place changes caught as for the other ops; the arrays that stay with NumPy and the
compiled loops.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra); without it the
tests that run oneDNN skip and the fallback tests still run.
"""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad.ops._onednn_eltwise import OneDNNActivation
from deepgrad.ops.activation import ONEDNN_FROM as MIN_SIZE
from helpers_onednn import (assert_backward_refuses_a_changed_output, channels_last,  # noqa: F401
                            onednn, onednn_switched_off)

EXACT = {"sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh}
SLOPE = {"sigmoid": lambda y: y * (1 - y), "tanh": lambda y: 1 - y * y}


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
@pytest.mark.parametrize("layout", ["C", "channels-last"])
def test_matches_float64(onednn, name, layout):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((32, 8, 16, 17)) * 6).astype(np.float32)
    if layout == "channels-last":
        x = channels_last(x)
    xt = dg.tensor(x, requires_grad=True)
    y = getattr(dg, name)(xt)
    assert isinstance(y.creator, OneDNNActivation)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    exact = EXACT[name](x.astype(np.float64))
    got = y.detach().numpy()
    assert got.strides == x.strides  # the input's memory order
    np.testing.assert_allclose(got, exact, rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(xt.grad.numpy(), g * SLOPE[name](exact), rtol=1e-5, atol=1e-6)


def test_an_output_changed_in_place_is_refused_by_backward(onednn):
    x = dg.randn(64, 1024, requires_grad=True)
    assert_backward_refuses_a_changed_output(dg.sigmoid(x), OneDNNActivation)


def test_what_stays_with_numpy(onednn):
    def op(a):
        return type(dg.tanh(dg.tensor(a, requires_grad=True)).creator).__name__

    big = np.ones((MIN_SIZE,), np.float32)
    assert op(big) == "OneDNNActivation"
    assert op(big[: MIN_SIZE - 1]) != "OneDNNActivation"  # small: the compiled loop
    assert op(big.astype(np.float64)) != "OneDNNActivation"
    wide = np.ones((2, MIN_SIZE), np.float32)
    assert type(dg.tanh(dg.tensor(wide, requires_grad=True)[:, ::2]).creator).__name__ != \
        "OneDNNActivation"  # strided


def test_switched_off_by_the_environment(monkeypatch):
    with onednn_switched_off(monkeypatch):
        y = dg.sigmoid(dg.randn(MIN_SIZE, requires_grad=True))
        assert not isinstance(y.creator, OneDNNActivation)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0])
@pytest.mark.parametrize("layout", ["C", "channels-last"])
def test_leaky_relu_gives_the_textbooks_bits(onednn, slope, layout):
    """Forward and backward bit for bit as the textbook LeakyReLU, special values
    included (a NaN input's gradient is slope * g, as in PyTorch)."""
    from deepgrad.ops.activation import LeakyReLU
    from deepgrad.ops._onednn_eltwise import OneDNNLeakyReLU
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 4, 16, 16)).astype(np.float32)
    x[0, 0, 0, :6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, np.nan]
    if layout == "channels-last":
        x = channels_last(x)
    xt = dg.tensor(x, requires_grad=True)
    y = dg.nn.functional.leaky_relu(xt, slope)
    assert isinstance(y.creator, OneDNNLeakyReLU)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    textbook = LeakyReLU(slope)
    want = textbook.forward(x)
    textbook.needs_input_grad = (True,)
    (want_grad,) = textbook.backward(g)
    got = y.detach().numpy()
    assert got.strides == x.strides  # the input's memory order
    assert np.array_equal(got.view(np.int32), want.view(np.int32))
    assert np.array_equal(xt.grad.numpy().view(np.int32), want_grad.view(np.int32))
    import torch
    xtorch = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    torch.nn.functional.leaky_relu(xtorch, slope).backward(torch.tensor(g))
    np.testing.assert_array_equal(xt.grad.numpy(), xtorch.grad.numpy())


def test_what_leaky_relu_leaves_to_the_textbook(onednn):
    big = np.ones((2, MIN_SIZE), np.float32)

    def op(a, slope):
        y = dg.nn.functional.leaky_relu(dg.tensor(a, requires_grad=True), slope)
        return type(y.creator).__name__

    assert op(big, 0.1) == "OneDNNLeakyReLU"
    for slope in (0.0, 1.5, -0.1):  # outside (0, 1]: another form in the textbook
        assert op(big, slope) == "LeakyReLU"
    assert op(big[:, : MIN_SIZE // 4], 0.1) == "LeakyReLU"  # small
    assert op(big.astype(np.float64), 0.1) == "LeakyReLU"
    h = dg.tensor(big, requires_grad=True) * 1.0
    z = dg.nn.functional.leaky_relu(h, 0.1)
    h.mul_(2)  # the saved input, changed before backward: refused as in PyTorch
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()
