"""nn.init against torch.nn.init: the same values from the same uniforms/normals (the draw
helpers are replaced by torch's samples), the same distributions from deepgrad's own
generator (Kolmogorov-Smirnov against torch's samples), gains and fans."""
import math

import numpy as np
import pytest
import scipy.stats
import torch

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import init

SHAPES = [(7, 5), (40, 30), (6, 3, 3, 3), (5, 4, 3)]


def _param(shape, dtype=np.float64):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def _torch_draws(monkeypatch, seed):
    """Make deepgrad's draws the ones torch makes, in order, after
    ``torch.manual_seed(seed)``: torch's uniform_(a, b) is a + (b - a) * rand and its
    normal_(m, s) is m + s * (its standard normal), both bit for bit."""
    torch.manual_seed(seed)

    def uniform01(shape):
        return torch.rand(shape, dtype=torch.float64).numpy()

    def standard_normal(shape):
        return torch.empty(shape, dtype=torch.float64).normal_().numpy()

    monkeypatch.setattr(init, "_uniform01", uniform01)
    monkeypatch.setattr(init, "_standard_normal", standard_normal)


def _torch_init(shape, fn, seed):
    torch.manual_seed(seed)
    t = torch.empty(shape, dtype=torch.float64)
    fn(t)
    return t.numpy()


CASES = [  # (deepgrad call, torch call) on a tensor
    (lambda t: init.uniform_(t, -0.3, 0.7), lambda t: torch.nn.init.uniform_(t, -0.3, 0.7)),
    (lambda t: init.normal_(t, 0.5, 2.0), lambda t: torch.nn.init.normal_(t, 0.5, 2.0)),
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_),
    (lambda t: init.xavier_uniform_(t, gain=init.calculate_gain("tanh")),
     lambda t: torch.nn.init.xavier_uniform_(t, gain=torch.nn.init.calculate_gain("tanh"))),
    (init.xavier_normal_, torch.nn.init.xavier_normal_),
    (lambda t: init.xavier_normal_(t, gain=2.5), lambda t: torch.nn.init.xavier_normal_(t, 2.5)),
    (init.kaiming_uniform_, torch.nn.init.kaiming_uniform_),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)),
     lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5))),
    (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
     lambda t: torch.nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")),
    (init.kaiming_normal_, torch.nn.init.kaiming_normal_),
    (lambda t: init.kaiming_normal_(t, a=0.2, mode="fan_out"),
     lambda t: torch.nn.init.kaiming_normal_(t, a=0.2, mode="fan_out")),
    (lambda t: init.kaiming_normal_(t, nonlinearity="tanh"),
     lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="tanh")),
    (init.trunc_normal_, torch.nn.init.trunc_normal_),
    (lambda t: init.trunc_normal_(t, mean=1.0, std=0.5, a=0.2, b=3.0),
     lambda t: torch.nn.init.trunc_normal_(t, mean=1.0, std=0.5, a=0.2, b=3.0)),
    (lambda t: init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04),  # ViT's choice
     lambda t: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04)),
    # intervals with less than 30% of the mass: uniform proposals, in a tail and around
    # the mean
    (lambda t: init.trunc_normal_(t, a=2.0, b=4.0),
     lambda t: torch.nn.init.trunc_normal_(t, a=2.0, b=4.0)),
    (lambda t: init.trunc_normal_(t, mean=0.1, a=-0.2, b=0.3),
     lambda t: torch.nn.init.trunc_normal_(t, mean=0.1, a=-0.2, b=0.3)),
    (init.orthogonal_, torch.nn.init.orthogonal_),
    (lambda t: init.orthogonal_(t, gain=1.7), lambda t: torch.nn.init.orthogonal_(t, 1.7)),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_values_as_torch_from_the_same_draws(monkeypatch, shape, case):
    ours_fn, torch_fn = CASES[case]
    _torch_draws(monkeypatch, seed=case + 10)
    p = _param(shape)
    out = ours_fn(p)
    assert out is p
    expected = _torch_init(shape, torch_fn, seed=case + 10)
    np.testing.assert_allclose(p.data, expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_same_distribution_as_torch_from_deepgrad_generator(case):
    """Two-sample KS test of 12000 values from deepgrad's generator against torch's."""
    ours_fn, torch_fn = CASES[case]
    shape = (120, 100)
    p = _param(shape)
    ours_fn(p)
    ref = _torch_init(shape, torch_fn, seed=123)
    assert scipy.stats.ks_2samp(p.data.numpy().ravel(), ref.ravel()).pvalue > 1e-4
    np.testing.assert_allclose(p.data.std(), ref.std(), rtol=0.05)


def test_float32_parameters_stay_float32_and_use_the_seed():
    dg.manual_seed(5)
    a = init.kaiming_uniform_(_param((30, 20), np.float32))
    dg.manual_seed(5)
    b = init.kaiming_uniform_(_param((30, 20), np.float64))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a.data, b.data.astype(np.float32))


def test_orthogonal_is_orthogonal():
    for shape in [(20, 10), (10, 20), (8, 4, 3, 3)]:
        w = init.orthogonal_(_param(shape)).data.reshape(shape[0], -1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-12)


def test_trunc_normal_stays_within_bounds_and_has_the_right_moments():
    p = init.trunc_normal_(_param((200, 200)), mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert p.data.min() >= -1.0 and p.data.max() <= 1.5
    dist = scipy.stats.truncnorm(-1.5, 1.0, loc=0.5, scale=1.0)
    assert abs(p.data.mean() - dist.mean()) < 5 * dist.std() / 200
    assert scipy.stats.kstest(p.data.numpy().ravel(), dist.cdf).pvalue > 1e-4


def test_trunc_normal_far_tail_interval_is_exact():
    dist = scipy.stats.truncnorm(3.0, 3.5)
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        p = init.trunc_normal_(_param((100, 100)), a=3.0, b=3.5)
    assert p.data.min() >= 3.0 and p.data.max() <= 3.5
    assert scipy.stats.kstest(p.data.numpy().ravel(), dist.cdf).pvalue > 1e-4
    with pytest.raises(ValueError, match="zero probability"), pytest.warns(UserWarning):
        init.trunc_normal_(_param((2, 2)), a=50.0, b=60.0)


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == \
        torch.nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("shape", [(3, 4), (5, 4, 3), (6, 3, 3, 3), (2, 2, 2, 2, 2)])
def test_fans_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(_param(shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_deterministic_initialisers_match_torch():
    for shape in [(4, 4), (3, 5)]:
        t = torch.empty(shape)
        torch.nn.init.eye_(t)
        np.testing.assert_array_equal(init.eye_(_param(shape)).data, t.numpy())
    for shape, groups in [((4, 4, 3, 3), 1), ((6, 2, 3), 3), ((4, 6, 3, 3, 3), 2)]:
        t = torch.empty(shape)
        torch.nn.init.dirac_(t, groups)
        np.testing.assert_array_equal(init.dirac_(_param(shape), groups).data, t.numpy())
    np.testing.assert_array_equal(init.constant_(_param((2, 3)), 0.25).data, 0.25)
    np.testing.assert_array_equal(init.ones_(_param((2, 3))).data, 1)
    np.testing.assert_array_equal(init.zeros_(init.ones_(_param((2, 3)))).data, 0)


def test_zero_element_tensor_is_a_no_op_with_a_warning():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(_param((0, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.xavier_uniform_(_param((5,)))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        init.kaiming_normal_(_param((3, 3)), mode="fan")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="uniform_: expected a <= b, got a=1, b=0"):
        init.uniform_(_param((2, 2)), 1, 0)
    with pytest.raises(ValueError, match="normal_: std must be >= 0"):
        init.normal_(_param((2, 2)), 0, -1)
    with pytest.raises(ValueError, match="trunc_normal_: need std > 0 and a < b"):
        init.trunc_normal_(_param((2, 2)), a=1, b=-1)
    with pytest.raises(ValueError, match=r"eye_: expected a 2-D tensor, got shape \(2, 2, 2\)"):
        init.eye_(_param((2, 2, 2)))
    with pytest.raises(ValueError, match="dirac_: groups must divide"):
        init.dirac_(_param((4, 2, 3)), groups=3)
