"""LocallyConnected2d against a reference built from torch.nn.functional.unfold (float64
rtol 1e-10), float64 gradient checks, the fast path against the simple oracle, the
layer's layout, init and errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops.locally_connected import _locally_connected2d_reference
from helpers_ops import Case, check_case


def _locally_connected2d(method):
    """F.locally_connected2d (the fast path), or for 'simple' the textbook op behind it
    (locally_connected.py's private hook)."""
    return F.locally_connected2d if method == "fast" else _locally_connected2d_reference


def torch_locally_connected(x, weight, bias, stride, padding):
    """y[n, o, p, q] = sum_k unfold(x)[n, k, (p, q)] * weight[p, q, o, k] + bias[o, p, q],
    with k running over (in, kh, kw) as in the weight's last three axes."""
    oh, ow, out, cin, kh, kw = weight.shape
    cols = TF.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C*kh*kw, L)
    y = torch.einsum("nkl,lok->nol", cols, weight.reshape(oh * ow, out, cin * kh * kw))
    y = y.reshape(x.shape[0], out, oh, ow)
    return y if bias is None else y + bias


CONFIGS = [  # in, out, input size, kernel, stride, padding, bias
    (1, 1, (6, 6), 3, 1, 0, True),
    (3, 2, (7, 6), (3, 2), (2, 1), (1, 0), True),
    (2, 4, (5, 8), 2, 2, 1, False),
    (4, 3, (6, 5), (1, 3), (1, 2), (0, 1), True),
    (9, 2, (5, 5), 3, 1, 1, True),
]


def _out_hw(size, k, s, p):
    k, s, p = ((v, v) if isinstance(v, int) else v for v in (k, s, p))
    return tuple((size[a] + 2 * p[a] - k[a]) // s[a] + 1 for a in range(2))


@pytest.mark.parametrize("method", ["fast", "simple"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_matches_unfold_reference_and_gradcheck(cfg, method):
    cin, cout, size, k, s, p, bias = cfg
    oh, ow = _out_hw(size, k, s, p)
    kk = (k, k) if isinstance(k, int) else k
    shapes = ((2, cin) + size, (oh, ow, cout, cin) + kk) + (((cout, oh, ow),) if bias else ())
    check_case(Case(
        f"locally_connected2d[{method}]{cfg}", shapes,
        fn=lambda x, w, b=None: _locally_connected2d(method)(x, w, b, s, p),
        torch_fn=lambda x, w, b=None: torch_locally_connected(x, w, b, s, p),
        rtol32=1e-4, atol32=1e-5))


def test_fast_path_equals_simple_path():
    rng = np.random.default_rng(0)
    for cin, cout, size, k, s, p, bias in CONFIGS:
        oh, ow = _out_hw(size, k, s, p)
        kk = (k, k) if isinstance(k, int) else k
        x = rng.standard_normal((3, cin) + size)
        w = rng.standard_normal((oh, ow, cout, cin) + kk)
        b = rng.standard_normal((cout, oh, ow)) if bias else None
        results = []
        for method in ("fast", "simple"):
            ts = [dg.tensor(a, requires_grad=True) for a in (x, w)]
            bt = dg.tensor(b, requires_grad=True) if bias else None
            y = _locally_connected2d(method)(ts[0], ts[1], bt, s, p)
            y.backward(np.cos(np.arange(y.numel())).reshape(y.shape))
            results.append([y.data, ts[0].grad, ts[1].grad] + ([bt.grad] if bias else []))
        for fast, simple in zip(*results):
            np.testing.assert_allclose(fast, simple, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["fast", "simple"])
def test_elementwise_gradcheck(method):
    """Every input element, central differences (dg.diagnostics.gradcheck), float64."""
    from deepgrad.diagnostics import gradcheck
    rng = np.random.default_rng(4)
    x, w, b = (dg.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 2, 5, 4), (3, 2, 2, 2, 2, 3), (2, 3, 2)))
    assert gradcheck(lambda x, w, b: _locally_connected2d(method)(x, w, b, stride=(2, 1),
                                                                  padding=(1, 0)),
                     (x, w, b))


def test_with_one_position_it_is_a_convolution():
    """A kernel covering the whole padded input leaves one position: the same as Conv2d."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 5))
    w = rng.standard_normal((4, 3, 5, 5))
    y = F.locally_connected2d(dg.tensor(x), dg.tensor(w[None, None]))
    np.testing.assert_allclose(y.data, F.conv2d(dg.tensor(x), dg.tensor(w)).data,
                               rtol=1e-12)


def test_layer_layout_init_and_state_dict():
    dg.manual_seed(0)
    layer = dg.nn.LocallyConnected2d(3, 8, (12, 10), 3, stride=1, padding="same")
    assert layer.output_size == (12, 10)
    assert layer.weight.shape == (12, 10, 8, 3, 3, 3)
    assert layer.bias.shape == (8, 12, 10)
    assert list(layer.state_dict()) == ["weight", "bias"]
    bound = 1 / math.sqrt(3 * 3 * 3)
    assert np.abs(layer.weight.data).max() <= bound
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert layer.weight.dtype == np.float32
    x = dg.tensor(np.random.default_rng(0).random((2, 3, 12, 10), dtype=np.float32))
    y = layer(x)
    assert y.shape == (2, 8, 12, 10) and y.dtype == np.float32
    expected = torch_locally_connected(torch.from_numpy(x.data.numpy()),
                                       torch.from_numpy(layer.weight.data.numpy()),
                                       torch.from_numpy(layer.bias.data.numpy()), 1, 1)
    np.testing.assert_allclose(y.data, expected.numpy(), rtol=1e-5, atol=1e-6)
    assert dg.nn.LocallyConnected2d(1, 1, 4, 2, bias=False).bias is None


def test_weights_are_not_shared():
    """Changing the filter of one position changes only that output pixel."""
    layer = dg.nn.LocallyConnected2d(1, 1, (4, 4), 2, dtype=np.float64)
    x = dg.tensor(np.random.default_rng(0).random((1, 1, 4, 4)))
    before = layer(x).data.numpy().copy()
    layer.weight.data[1, 2] += 1.0
    changed = layer(x).data != before
    assert changed[0, 0, 1, 2] and changed.sum() == 1


# -- errors ----------------------------------------------------------------------------

def test_wrong_channels_and_input_size():
    layer = dg.nn.LocallyConnected2d(2, 3, (6, 6), 3)
    with pytest.raises(ValueError, match=r"LocallyConnected2d\(2, 3.*2 input channels.*"
                                         r"\(1, 1, 6, 6\)"):
        layer(dg.zeros(1, 1, 6, 6))
    with pytest.raises(ValueError, match=r"LocallyConnected2d\(2, 3.*spatial size \(6, 6\).*"
                                         r"\(1, 2, 7, 6\)"):
        layer(dg.zeros(1, 2, 7, 6))
    with pytest.raises(ValueError, match=r"LocallyConnected2d\(2, 3.*4-D input.*\(2, 6, 6\)"):
        layer(dg.zeros(2, 6, 6))


def test_kernel_larger_than_padded_input_raises_at_construction():
    with pytest.raises(ValueError, match=r"LocallyConnected2d: the kernel \(7, 7\).*larger "
                                         r"than the padded input \(6, 6\)"):
        dg.nn.LocallyConnected2d(1, 1, (4, 4), 7, padding=1)


def test_functional_checks_weight_against_the_output_positions():
    with pytest.raises(ValueError, match=r"locally_connected2d: .*\(4, 4\) positions.*"
                                         r"\(3, 3\)"):
        F.locally_connected2d(dg.zeros(1, 1, 6, 6), dg.zeros(3, 3, 1, 1, 3, 3))
