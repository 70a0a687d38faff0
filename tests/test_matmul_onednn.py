"""The oneDNN matrix product (ops/_onednn_matmul.py, chosen by ops/products.py) against
NumPy's ``a @ b`` in float64 over shapes and memory orders, with and without a bias; the
cases that must stay with NumPy; the linear layer and ``matmul`` on both paths.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra): without it the
tests that run oneDNN skip, and the fallback tests still run.
"""
import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops import products
from deepgrad.ops._onednn_matmul import product
from deepgrad.ops.products import ONEDNN_FROM
from helpers_onednn import onednn, onednn_switched_off  # noqa: F401


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _layout(x, order):
    """``x``'s values in memory order ``order``: C, F, or a row slice of a wider array
    (a leading dimension larger than the row)."""
    if order == "C":
        return np.ascontiguousarray(x)
    if order == "F":
        return np.asfortranarray(x)
    wide = np.zeros((x.shape[0], x.shape[1] + 5), np.float32)
    wide[:, 2:2 + x.shape[1]] = x
    return wide[:, 2:2 + x.shape[1]]


def _close(y, a, b, bias=None):
    ref = a.astype(np.float64) @ b.astype(np.float64)
    if bias is not None:
        ref = ref + bias
    scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)  # error bound
    assert y.dtype == np.float32 and y.shape == ref.shape and y.flags.c_contiguous
    assert np.all(np.abs(y - ref) <= 1e-6 * scale + 1e-6), np.max(np.abs(y - ref))


SHAPES = [(256, 784, 512), (64, 400, 120), (1000, 120, 84), (7, 333, 257), (512, 1, 1024)]


@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("a_order", ["C", "F", "sliced"])
@pytest.mark.parametrize("b_order", ["C", "F", "sliced"])
def test_product_matches_float64_in_every_memory_order(onednn, m, k, n, a_order, b_order):
    if m * k * n < ONEDNN_FROM:
        pytest.skip("below the size oneDNN is used for")
    a, b = _layout(_rand((m, k), 1), a_order), _layout(_rand((k, n), 2), b_order)
    y = product(a, b)
    assert y is not None
    _close(y, a, b)


@pytest.mark.parametrize("m,k,n", SHAPES[:3])
def test_product_with_bias_and_a_transposed_weight(onednn, m, k, n):
    a, weight, bias = _rand((m, k), 1), _rand((n, k), 2), _rand((n,), 3)
    y = product(a, weight.T, bias)  # the linear layer's x @ W.T + b
    _close(y, a, weight.T, bias)


def test_plans_are_cached_per_geometry_and_use_a_real_kernel(onednn):
    a, b = _rand((128, 256), 1), _rand((256, 64), 2)
    product(a, b)
    key = ("matmul", 128, 256, 64, (256, 1), (64, 1), False)
    plan = onednn._plans[key]
    assert not plan.primitive.impl.startswith("ref")
    for seed in (4, 6):  # the plan's memory objects are pointed at each call's arrays
        a2, b2 = _rand((128, 256), seed), _rand((256, 64), seed + 1)
        _close(product(a2, b2), a2, b2)
    assert onednn._plans[key] is plan  # made once
    product(a, np.asfortranarray(b))
    assert ("matmul", 128, 256, 64, (256, 1), (1, 256), False) in onednn._plans


def test_what_stays_with_numpy(onednn):
    a, b = _rand((256, 512), 1), _rand((512, 256), 2)
    assert product(a, b) is not None
    assert product(a.astype(np.float64), b.astype(np.float64)) is None  # float64
    assert product(a[::2], b[:, ::-1][:, :256]) is None  # negative strides
    assert product(a[::2, ::2], b[::2]) is None  # neither rows nor columns contiguous
    assert product(np.broadcast_to(b[:1], (256, 256)), b[:256]) is None  # stride 0
    assert product(a, b[:100]) is None  # shapes do not match: NumPy says so
    assert product(a.astype(np.int64), b) is None
    assert product(a, b, bias=np.ones(3, np.float32)) is None  # a bias of another size
    assert product(a[None], b) is None  # batched products: NumPy


def test_a_small_product_stays_with_numpy(onednn):
    a, b = _rand((64, 64), 1), _rand((64, 64), 2)  # 2^18 multiply-adds: too few to pay
    before = set(onednn._plans)
    assert np.array_equal(products.mm(a, b), a @ b)
    assert set(onednn._plans) == before  # no plan made


def test_mm_falls_back_to_numpy_and_adds_the_bias():
    a, b, bias = _rand((4, 3), 1), _rand((3, 2), 2), _rand((2,), 3)
    assert np.array_equal(products.mm(a, b, bias), a @ b + bias)
    a64 = a.astype(np.float64)
    assert np.array_equal(products.mm(a64, b.astype(np.float64)), a64 @ b.astype(np.float64))


def test_switched_off_by_the_environment(monkeypatch):
    with onednn_switched_off(monkeypatch):
        a, b = _rand((256, 512), 1), _rand((512, 256), 2)
        assert product(a, b) is None
        assert np.array_equal(products.mm(a, b), a @ b)


def _linear_grads(x, weight, bias):
    xt = dg.tensor(x, requires_grad=True)
    wt, bt = dg.tensor(weight, requires_grad=True), dg.tensor(bias, requires_grad=True)
    y = F.linear(xt, wt, bt)
    g = _rand(y.shape, 9)
    y.backward(dg.tensor(g))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(), g


@pytest.mark.parametrize("x_shape", [(256, 784), (4, 64, 300), (784,)])
def test_linear_layer_forward_and_gradients(onednn, x_shape):
    x, weight, bias = _rand(x_shape, 1), _rand((120, x_shape[-1]), 2), _rand((120,), 3)
    y, gx, gw, gb, g = _linear_grads(x, weight, bias)
    x2, g2 = x.reshape(-1, x_shape[-1]), g.reshape(-1, 120)
    _close(y.reshape(-1, 120), x2, weight.T, bias)
    _close(gx.reshape(-1, x_shape[-1]), g2, weight)
    _close(gw, g2.T, x2)
    assert np.allclose(gb, g2.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)


def test_matmul_gradients(onednn):
    a, b = _rand((300, 200), 1), _rand((200, 150), 2)
    at, bt = dg.tensor(a, requires_grad=True), dg.tensor(b, requires_grad=True)
    y = at @ bt
    g = _rand((300, 150), 3)
    y.backward(dg.tensor(g))
    _close(y.detach().numpy(), a, b)
    _close(at.grad.numpy(), g, b.T)
    _close(bt.grad.numpy(), a.T, g)


def test_a_network_trains_the_same_on_both_paths(monkeypatch):
    """Two SGD steps of an MLP with oneDNN's products and with NumPy's: the same weights
    to float32 round-off."""
    def train():
        dg.manual_seed(0)
        model = dg.nn.Sequential(dg.nn.Linear(784, 256), dg.nn.ReLU(), dg.nn.Linear(256, 10))
        opt = dg.optim.SGD(model.parameters(), lr=0.1)
        x, y = dg.tensor(_rand((128, 784), 1)), dg.tensor(np.arange(128) % 10)
        for _ in range(2):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    fast = train()
    with onednn_switched_off(monkeypatch):
        reference = train()
    for p, q in zip(fast, reference):
        assert np.allclose(p, q, rtol=1e-5, atol=1e-6)
