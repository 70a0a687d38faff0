"""nn.utils against torch.nn.utils: gradient clipping, flat parameter vectors, and the L2
penalty whose gradient equals SGD's coupled weight decay."""
import math

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import utils

SHAPES = [(4, 3), (3,), (2, 2, 3)]


def _params_with_grads(scale=1.0, seed=0):
    """deepgrad and torch float64 parameters with the same values and gradients."""
    rng = np.random.default_rng(seed)
    ours, ref = [], []
    for shape in SHAPES:
        value, grad = rng.standard_normal(shape), rng.standard_normal(shape) * scale
        p = nn.Parameter(value.copy())
        p.grad = dg.as_tensor(grad.copy())
        t = torch.tensor(value, requires_grad=True)
        t.grad = torch.tensor(grad)
        ours.append(p)
        ref.append(t)
    return ours, ref


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, ref = _params_with_grads()
    total = utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type)
    assert isinstance(total, dg.Tensor)
    np.testing.assert_allclose(total.item(), total_ref.item(), rtol=1e-12)
    for p, t in zip(ours, ref):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)
    if max_norm < total.item():  # clipped: the new total norm is max_norm (minus the 1e-6)
        after = utils.get_total_norm([p.grad for p in ours], norm_type)
        assert after == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_float32_stays_float32_and_skips_missing_grads():
    a = nn.Parameter(np.ones((3, 4), dtype=np.float32))
    a.grad = dg.as_tensor(np.full((3, 4), 2.0, dtype=np.float32))
    b = nn.Parameter(np.ones(5, dtype=np.float32))  # no gradient: ignored
    total = utils.clip_grad_norm_([a, b], 1.0)
    assert total.item() == pytest.approx(np.sqrt(12 * 4), rel=1e-6)
    assert a.grad.dtype == np.float32 and b.grad is None
    assert np.linalg.norm(a.grad) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_nonfinite():
    ours, _ = _params_with_grads()
    ours[0].grad[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="total norm .* is nan"):
        utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type must be a positive number or 'inf'"):
        utils.clip_grad_norm_(ours, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="max_norm must be a non-negative number"):
        utils.clip_grad_norm_(ours, -1.0)


def test_clip_grad_value_matches_torch():
    ours, ref = _params_with_grads(scale=3.0)
    utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(ref, 1.5)
    for p, t in zip(ours, ref):
        np.testing.assert_array_equal(p.grad, t.grad.numpy())
    with pytest.raises(ValueError, match="clip_value must be a non-negative number"):
        utils.clip_grad_value_(ours, -1)


def test_parameters_to_vector_and_back_match_torch():
    ours, ref = _params_with_grads()
    vec = utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(vec.data,
                                  torch.nn.utils.parameters_to_vector(ref).detach().numpy())
    # differentiable: d(sum(vec * w))/dp = the matching slice of w
    w = np.arange(vec.shape[0], dtype=np.float64)
    for p in ours:
        p.grad = None
    (vec * dg.tensor(w)).sum().backward()
    np.testing.assert_array_equal(np.concatenate([p.grad.numpy().ravel() for p in ours]), w)
    new = np.linspace(-1, 1, vec.shape[0])
    arrays_before = [p._data for p in ours]
    utils.vector_to_parameters(dg.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), ref)
    for p, t, before in zip(ours, ref, arrays_before):
        np.testing.assert_array_equal(p.data, t.detach().numpy())
        assert p._data is before  # copied in place: optimizers keep their references
    with pytest.raises(ValueError, match="vec has 3 elements, the parameters have 27"):
        utils.vector_to_parameters(np.zeros(3), ours)
    with pytest.raises(ValueError, match="vec must be a 1-D array"):
        utils.vector_to_parameters(np.zeros((3, 9)), ours)


def test_l2_penalty_value_and_gradient():
    ours, _ = _params_with_grads()
    for p in ours:
        p.grad = None
    penalty = utils.l2_penalty(ours, 0.3)
    expected = 0.3 / 2 * sum(float((p.data ** 2).sum()) for p in ours)
    assert penalty.shape == () and penalty.item() == pytest.approx(expected, rel=1e-14)
    penalty.backward()
    for p in ours:
        np.testing.assert_allclose(p.grad, 0.3 * p.data, rtol=1e-15)
    with pytest.raises(ValueError, match="weight_decay must be a non-negative number"):
        utils.l2_penalty(ours, -0.1)


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_l2_penalty_gives_the_same_trajectory_as_sgd_weight_decay(momentum, nesterov):
    """loss + l2_penalty(params, wd) with SGD(weight_decay=0) == loss with SGD(wd)."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((32, 5)), rng.standard_normal((32, 2))
    wd = 0.05

    def model():
        dg.manual_seed(3)
        return nn.Sequential(nn.Linear(5, 8, dtype=np.float64), nn.Tanh(),
                             nn.Linear(8, 2, dtype=np.float64))

    coupled, explicit = model(), model()
    opt_coupled = dg.optim.SGD(coupled.parameters(), lr=0.1, momentum=momentum,
                               nesterov=nesterov, weight_decay=wd)
    opt_explicit = dg.optim.SGD(explicit.parameters(), lr=0.1, momentum=momentum,
                                nesterov=nesterov)
    xt, yt = dg.tensor(x), dg.tensor(y)
    for _ in range(20):
        opt_coupled.zero_grad()
        nn.functional.mse_loss(coupled(xt), yt).backward()
        opt_coupled.step()
        opt_explicit.zero_grad()
        loss = nn.functional.mse_loss(explicit(xt), yt)
        (loss + utils.l2_penalty(explicit.parameters(), wd)).backward()
        opt_explicit.step()
    for (name, a), b in zip(coupled.named_parameters(), explicit.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-13, err_msg=name)
    assert not np.allclose(coupled[0].weight.data, model()[0].weight.data)  # it moved
