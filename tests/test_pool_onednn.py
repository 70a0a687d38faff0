"""oneDNN's average pooling (ops/_onednn_pool.py) against the textbook ``AvgPool2d``
Function in float64, forward and backward, over kernels, strides, paddings, both
divisor rules and both memory orders; the cases that stay with NumPy.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra); without it the
tests that run oneDNN skip and the fallback tests still run.
"""
import importlib

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops._onednn_pool import OneDNNAvgPool2d
from helpers_onednn import channels_last, onednn, onednn_switched_off  # noqa: F401

pool_ops = importlib.import_module("deepgrad.ops.pool")


GEOMETRIES = [(2, 2, 0), (3, 1, 1), (3, 2, 1), (2, 1, 0), (5, 3, 2), ((2, 3), (1, 2), (1, 0))]


@pytest.mark.parametrize("kernel,stride,padding", GEOMETRIES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_matches_the_textbook_average_pooling(onednn, kernel, stride, padding,
                                              count_include_pad, layout):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 11, 9)).astype(np.float32)
    x = channels_last(x) if layout == "nhwc" else x
    xt = dg.tensor(x, requires_grad=True)
    y = F.avg_pool2d(xt, kernel, stride, padding, count_include_pad=count_include_pad)
    assert isinstance(y.creator, OneDNNAvgPool2d)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    k, s, p = (pool_ops._pool_args("avg_pool2d", kernel, stride, padding, 1)[:3])
    x64 = dg.tensor(x.astype(np.float64), requires_grad=True)
    ref = pool_ops.AvgPool2d(k, s, p, False, count_include_pad, None)(x64)
    ref.backward(dg.tensor(g.astype(np.float64)))
    assert y.shape == ref.shape and y.dtype == np.float32
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), x64.grad.numpy(), rtol=1e-5, atol=1e-6)
    if layout == "nhwc":  # the output keeps the input's memory order
        assert y.detach().numpy().transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("in_hw,out_hw", [((8, 8), 1), ((12, 9), (4, 3)), ((7, 7), (7, 7)),
                                          ((6, 10), (None, 5))])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_adaptive_pooling_with_equal_windows_runs_on_onednn(onednn, in_hw, out_hw, layout):
    """Windows all of one size (the input a multiple of the output) are an average
    pooling: oneDNN's, held to the textbook adaptive op (two products) in float64."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5) + in_hw).astype(np.float32)
    x = channels_last(x) if layout == "nhwc" else x
    xt = dg.tensor(x, requires_grad=True)
    y = F.adaptive_avg_pool2d(xt, out_hw)
    assert isinstance(y.creator, OneDNNAvgPool2d)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dg.tensor(g))
    size = (out_hw, out_hw) if isinstance(out_hw, int) else out_hw
    size = tuple(in_hw[a] if s is None else s for a, s in enumerate(size))
    x64 = dg.tensor(x.astype(np.float64), requires_grad=True)
    ref = pool_ops.AdaptiveAvgPool2d(size)(x64)
    ref.backward(dg.tensor(g.astype(np.float64)))
    assert y.shape == ref.shape and y.dtype == np.float32
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), x64.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_adaptive_pooling_with_unequal_windows_stays_with_the_products(onednn):
    x = dg.tensor(np.ones((1, 2, 7, 7), np.float32), requires_grad=True)
    assert type(F.adaptive_avg_pool2d(x, 3).creator).__name__ == "AdaptiveAvgPool2d"
    assert type(F.adaptive_avg_pool2d(x.double(), 1).creator).__name__ == "AdaptiveAvgPool2d"


def test_what_stays_with_numpy(onednn):
    x = dg.tensor(np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32),
                  requires_grad=True)

    def creator(t, **kw):
        return type(F.avg_pool2d(t, 2, **kw).creator).__name__

    assert creator(x) == "OneDNNAvgPool2d"
    assert creator(x, ceil_mode=True) == "AvgPool2d"
    assert creator(x, divisor_override=3) == "AvgPool2d"
    assert creator(x.double()) == "AvgPool2d"
    assert creator(x[:, :, ::2]) == "AvgPool2d"  # strided: neither NCHW nor NHWC


def test_switched_off_by_the_environment(monkeypatch):
    with onednn_switched_off(monkeypatch):
        x = dg.randn(2, 3, 8, 8, requires_grad=True)
        assert type(F.avg_pool2d(x, 2).creator).__name__ == "AvgPool2d"


def test_a_call_like_one_before_skips_the_checks_and_gets_the_same_op(onednn, monkeypatch):
    """avg_pool2d files its oneDNN plan under the arguments as given and the input's
    shape, strides and dtype; a call with all of them equal takes it without the
    checks (which depend on nothing else). Arguments equal but of another type, and
    inputs of another layout or shape, are checked as ever."""
    x = dg.randn(2, 3, 8, 8, requires_grad=True)
    first = F.avg_pool2d(x, 2, None, (1, 1))
    checks = []
    monkeypatch.setattr(pool_ops, "_check_pool_input",
                        lambda *a, _real=pool_ops._check_pool_input: checks.append(1)
                        or _real(*a))
    again = F.avg_pool2d(x, 2, None, (1, 1))
    assert checks == [] and isinstance(again.creator, OneDNNAvgPool2d)
    assert again.creator.plan is first.creator.plan
    np.testing.assert_array_equal(again.detach().numpy(), first.detach().numpy())
    with pytest.raises(ValueError, match="kernel_size"):
        F.avg_pool2d(x, 2.0, None, (1, 1))  # 2.0 == 2, but not an int
    with pytest.raises(ValueError, match="kernel_size"):
        F.avg_pool2d(x, True, None, (1, 1))  # True == 1
    from deepgrad.checks import InputError
    with pytest.raises(InputError, match="larger than the padded input"):
        F.avg_pool2d(dg.randn(2, 3, 1, 1), 5)
    F.avg_pool2d(dg.tensor(channels_last(x.detach().numpy())), 2, None, (1, 1))
    assert len(checks) == 2  # the small input, the other layout (the float and the bool
    # were refused by the argument checks before it)
    assert onednn.seen_key("avg_pool2d", (x.detach().numpy(),),
                           ([2], None, 0, False, True, None)) is None  # a list


def test_switching_onednn_off_forgets_the_calls_seen(onednn, monkeypatch):
    x = dg.randn(2, 3, 8, 8, requires_grad=True)
    assert isinstance(F.avg_pool2d(x, 2).creator, OneDNNAvgPool2d)
    with onednn_switched_off(monkeypatch):
        assert not isinstance(F.avg_pool2d(x, 2).creator, OneDNNAvgPool2d)
