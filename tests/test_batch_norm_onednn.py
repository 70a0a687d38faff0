"""oneDNN's batch normalization in training mode (ops/_onednn_batch_norm.py) against the
textbook ``BatchNorm`` Function in float64: output, the three gradients and the running
statistics, NCHW and channels-last; the cases that stay with NumPy.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra); without it the
tests that run oneDNN skip and the fallback tests still run.
"""
import importlib

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.ops._onednn_batch_norm import OneDNNBatchNorm
from helpers_onednn import channels_last, onednn, onednn_switched_off  # noqa: F401

bn_ops = importlib.import_module("deepgrad.ops.batch_norm")  # the module, not the function


def _run(x, w, b, g, reference, momentum=0.1):
    xt = dg.tensor(x, requires_grad=True)
    wt, bt = dg.tensor(w, requires_grad=True), dg.tensor(b, requires_grad=True)
    rm, rv = np.zeros(len(w), x.dtype), np.ones(len(w), x.dtype)
    if reference:
        y = bn_ops.BatchNorm(rm, rv, True, momentum, 1e-5)(xt, wt, bt)
    else:
        y = bn_ops.batch_norm(xt, rm, rv, wt, bt, training=True, momentum=momentum)
    y.backward(dg.tensor(g))
    return y, [y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy(), rm, rv]


@pytest.mark.parametrize("shape", [(8, 16, 5, 7), (64, 32, 8, 8), (2, 3, 1, 1), (1, 64, 14, 14)])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_matches_the_textbook_batch_norm_in_float64(onednn, shape, layout, momentum):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    x = channels_last(x) if layout == "nhwc" else x
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(
        shape[1]).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    y, fast = _run(x, w, b, g, reference=False, momentum=momentum)
    assert isinstance(y.creator, OneDNNBatchNorm)
    _, exact = _run(*(a.astype(np.float64) for a in (x, w, b, g)), reference=True,
                    momentum=momentum)
    for name, got, want in zip(("y", "dx", "dweight", "dbias", "running_mean", "running_var"),
                               fast, exact):
        assert got.dtype == np.float32, name
        scale = max(1.0, float(np.abs(want).max()))
        assert np.abs(got - want).max() <= 2e-5 * scale, name
    if layout == "nhwc":  # the output and the input gradient keep the input's order
        assert fast[0].transpose(0, 2, 3, 1).flags.c_contiguous


def test_what_stays_with_numpy(onednn):
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32)
    w, b = np.ones(3, np.float32), np.zeros(3, np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)

    def creator(x, w=w, b=b, training=True, sliced=False):
        wt = None if w is None else dg.tensor(w)
        bt = None if b is None else dg.tensor(b)
        xt = dg.tensor(x, requires_grad=True)  # a graph, so the op is seen
        xt = xt[:, :, ::2] if sliced else xt
        return type(bn_ops.batch_norm(xt, rm, rv, wt, bt, training=training)
                    .creator).__name__

    assert creator(x) == "OneDNNBatchNorm"
    assert creator(x, training=False) == "BatchNorm"  # running statistics: NumPy
    assert creator(x, w=None, b=None) == "BatchNorm"  # no affine parameters
    assert creator(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)) == \
        "BatchNorm"
    assert creator(x, sliced=True) == "BatchNorm"  # strided: neither NCHW nor NHWC
    assert creator(x.reshape(4, 3, 25)) == "BatchNorm"  # 3-D: BatchNorm1d's


def test_switched_off_by_the_environment(monkeypatch):
    with onednn_switched_off(monkeypatch):
        x = dg.randn(4, 3, 5, 5, requires_grad=True)
        y = bn_ops.batch_norm(x, None, None, dg.ones(3), dg.zeros(3), training=True)
        assert type(y.creator).__name__ == "BatchNorm"


def test_a_batchnorm2d_layer_trains_the_same_on_both_paths(monkeypatch):
    def train():
        dg.manual_seed(0)
        model = dg.nn.Sequential(dg.nn.Conv2d(3, 8, 3, padding=1), dg.nn.BatchNorm2d(8),
                                 dg.nn.ReLU(), dg.nn.Flatten(), dg.nn.Linear(8 * 36, 4))
        opt = dg.optim.SGD(model.parameters(), lr=0.1)
        x = dg.tensor(np.random.default_rng(1).standard_normal((16, 3, 6, 6)).astype(
            np.float32))
        y = dg.tensor(np.arange(16) % 4)
        for _ in range(3):
            opt.zero_grad()
            dg.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return {k: v.numpy().copy() for k, v in model.state_dict().items()}

    fast = train()
    with onednn_switched_off(monkeypatch):
        reference = train()
    for key in reference:
        assert np.allclose(fast[key], reference[key], rtol=1e-4, atol=1e-5), key
