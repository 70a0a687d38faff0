"""Dropout and Dropout2d: PyTorch's formula, mean preserved, identity in eval, seeded masks,
gradients, errors."""
import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import backend, nn
from deepgrad.diagnostics import gradcheck
from deepgrad.nn import functional as F
from deepgrad.ops.dropout import dropout_noise


def _uniforms(seed, shape, dtype=np.float32):
    """The uniforms dropout draws after ``manual_seed(seed)``."""
    dg.manual_seed(seed)
    return backend.generator().random(shape, dtype=dtype)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_output_is_torch_formula_on_the_same_uniforms(p):
    shape = (64, 33)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    u = _uniforms(7, shape)
    dg.manual_seed(7)
    y = F.dropout(dg.tensor(x), p, training=True).data.numpy()
    # PyTorch (ATen _dropout_impl): noise = bernoulli(1 - p) / (1 - p); y = x * noise
    keep = torch.from_numpy(u) < (1 - p)
    expected = torch.from_numpy(x) * keep.to(torch.float32).div_(1 - p)
    np.testing.assert_array_equal(y, expected.numpy())
    assert y.dtype == np.float32
    np.testing.assert_array_equal(dropout_noise(u, p, np.float32) * x, y)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_training_preserves_the_mean_and_drops_a_fraction_p(p):
    n = 200_000
    x = dg.ones(n)
    layer = nn.Dropout(p)
    y = layer(x).data.numpy()
    # each output is 0 or 1/(1-p): mean 1, variance p/(1-p); 5 standard errors
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(np.unique(y), [0, 1 / (1 - p)], rtol=1e-6)


def test_torch_drops_the_same_fraction():
    """Statistical agreement with torch on the same input: fraction kept and the scale."""
    p, n = 0.3, 100_000
    ours = nn.Dropout(p)(dg.ones(n)).data.numpy()
    torch.manual_seed(0)
    ref = torch.nn.Dropout(p)(torch.ones(n)).numpy()
    se = np.sqrt(2 * p * (1 - p) / n)
    assert abs((ours == 0).mean() - (ref == 0).mean()) < 5 * se
    np.testing.assert_allclose(ours.max(), ref.max(), rtol=1e-6)


def test_eval_mode_is_the_identity():
    layer = nn.Dropout(0.5)
    layer.eval()
    x = dg.randn(10, 10, requires_grad=True)
    y = layer(x)
    assert y is x
    assert F.dropout(x, 0.5, training=False) is x
    two = nn.Dropout2d(0.5).eval()
    z = dg.randn(2, 3, 4, 4)
    assert two(z) is z


def test_same_seed_same_masks_different_seed_different_masks():
    def masks(seed):
        dg.manual_seed(seed)
        layer = nn.Dropout(0.5)
        return [layer(dg.ones(50, 20)).data for _ in range(3)]

    first, second, other = masks(3), masks(3), masks(4)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # a fresh mask each call
    assert not np.array_equal(first[0], other[0])


def test_p_zero_and_p_one():
    x = dg.randn(5, 6)
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    np.testing.assert_array_equal(y.data, 0)  # all dropped, no division by zero
    assert not np.isnan(y.data).any()
    ref = torch.nn.functional.dropout(torch.from_numpy(x.data.numpy()), 1.0, training=True)
    np.testing.assert_array_equal(y.data, ref.numpy())


def test_backward_is_the_same_mask_scaled_and_gradchecks():
    x = dg.randn(30, 40, requires_grad=True)
    y = F.dropout(x, 0.4)
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    y.backward(g)
    scale = np.float32(1 / 0.6)
    kept = y.data != 0
    np.testing.assert_allclose(x.grad, np.where(kept, g * scale, 0), rtol=1e-6)
    x64 = dg.tensor(np.random.default_rng(2).standard_normal((4, 5)), requires_grad=True)
    assert gradcheck(lambda a: F.dropout(a * a, 0.5), [x64], atol=1e-8, rtol=1e-7)
    c64 = dg.tensor(np.random.default_rng(3).standard_normal((2, 3, 2, 2)),
                    requires_grad=True)
    assert gradcheck(lambda a: F.dropout2d(a.tanh(), 0.5), [c64], atol=1e-8, rtol=1e-7)


def test_input_left_unmodified_and_dtypes_kept():
    for dtype in (np.float32, np.float64):
        data = np.random.default_rng(4).standard_normal((8, 8)).astype(dtype)
        before = data.copy()
        y = F.dropout(dg.tensor(data), 0.5)
        np.testing.assert_array_equal(data, before)
        assert y.dtype == dtype


def test_dropout2d_drops_whole_channels():
    p = 0.5
    x = dg.ones(64, 16, 5, 5)
    y = nn.Dropout2d(p)(x).data.numpy()
    per_channel = y.reshape(64, 16, -1)
    # every channel map is all zero or all 1/(1-p)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))
    assert set(np.unique(per_channel)) == {0.0, np.float32(2.0)}
    dropped = (per_channel[:, :, 0] == 0).mean()
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / (64 * 16))
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / (64 * 16))
    # the torch formula on the same per-channel uniforms
    u = _uniforms(11, (4, 3, 1, 1))
    dg.manual_seed(11)
    z = np.random.default_rng(5).standard_normal((4, 3, 2, 2)).astype(np.float32)
    ours = F.dropout2d(dg.tensor(z), 0.25).data.numpy()
    noise = (torch.from_numpy(u) < 0.75).to(torch.float32).div_(0.75)
    np.testing.assert_array_equal(ours, (torch.from_numpy(z) * noise).numpy())


def test_dropout2d_unbatched_chw():
    y = nn.Dropout2d(0.5)(dg.ones(32, 4, 4)).data.numpy()
    per_channel = y.reshape(32, -1)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probability_raises_valueerror(p):
    with pytest.raises(ValueError, match=r"Dropout: dropout probability p must be in \[0, 1\]"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"Dropout2d: dropout probability p must be in"):
        nn.Dropout2d(p)
    with pytest.raises(ValueError, match=r"dropout: dropout probability p must be in"):
        F.dropout(dg.ones(3), p)


def test_bad_types_and_shapes():
    with pytest.raises(TypeError, match="Dropout: p must be a number"):
        nn.Dropout("0.5")
    with pytest.raises(TypeError, match="dropout: input must be a Tensor"):
        F.dropout(np.ones(3), 0.5)
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5\): expected input of shape "
                                         r"\(N, C, H, W\) or \(C, H, W\), got \(4, 3\)"):
        nn.Dropout2d(0.5)(dg.ones(4, 3))


def test_repr():
    assert repr(nn.Dropout(0.25)) == repr(torch.nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
