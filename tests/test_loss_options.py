"""cross_entropy and nll_loss with PyTorch's weight, ignore_index and label_smoothing."""
import itertools

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn

IGNORE = 2  # a real class index used as ignore_index: the hardest case


def _case(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    target_shape = shape[:1] + shape[2:]
    t = rng.integers(0, shape[1], size=target_shape)
    w = rng.uniform(0.2, 2.0, size=shape[1])
    return x, t, w


@pytest.mark.parametrize("shape, weighted, ignore, smoothing, reduction", [
    (s, w, i, e, r) for s, w, i, e, r in itertools.product(
        [(6, 5), (4, 5, 3)], [False, True], [-100, IGNORE], [0.0, 0.15],
        ["mean", "sum", "none"])])
def test_cross_entropy_options_match_torch(shape, weighted, ignore, smoothing, reduction):
    x, t, w = _case(shape, seed=len(shape) + int(weighted))
    xd = dg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    wd = w if weighted else None
    wt = torch.tensor(w) if weighted else None
    ours = nn.functional.cross_entropy(xd, t, weight=wd, ignore_index=ignore,
                                       reduction=reduction, label_smoothing=smoothing)
    theirs = torch.nn.functional.cross_entropy(xt, torch.tensor(t), weight=wt,
                                               ignore_index=ignore, reduction=reduction,
                                               label_smoothing=smoothing)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = np.random.default_rng(9).standard_normal(ours.shape)
    ours.backward(up)
    theirs.backward(torch.tensor(up))
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weighted, ignore, reduction", itertools.product(
    [False, True], [-100, IGNORE], ["mean", "sum", "none"]))
def test_nll_loss_options_match_torch(weighted, ignore, reduction):
    x, t, w = _case((7, 4, 2), seed=3)
    xd = dg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ours = nn.functional.nll_loss(xd, t, weight=w if weighted else None, ignore_index=ignore,
                                  reduction=reduction)
    theirs = torch.nn.functional.nll_loss(xt, torch.tensor(t), ignore_index=ignore,
                                          weight=torch.tensor(w) if weighted else None,
                                          reduction=reduction)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-10)
    up = np.random.default_rng(2).standard_normal(ours.shape)
    ours.backward(up)
    theirs.backward(torch.tensor(up))
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_loss_modules_keep_weight_as_a_buffer_like_torch():
    w = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    ours = nn.CrossEntropyLoss(w, label_smoothing=0.1)
    theirs = torch.nn.CrossEntropyLoss(torch.tensor(w), label_smoothing=0.1)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 1, 0])
    assert ours(dg.tensor(x), t).item() == pytest.approx(
        theirs(torch.tensor(x), torch.tensor(t)).item(), rel=1e-6)
    assert list(nn.CrossEntropyLoss().state_dict()) == []


def test_bad_options_are_refused_naming_them():
    x = dg.tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(3,\)"):
        nn.functional.cross_entropy(x, [0, 1], weight=np.ones(4, np.float32))
    with pytest.raises(TypeError, match="weight has dtype float64"):
        nn.functional.cross_entropy(x, [0, 1], weight=np.ones(3))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.functional.cross_entropy(x, [0, 1], label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"class 5.*or ignore_index=-1"):
        nn.functional.cross_entropy(x, [5, -1], ignore_index=-1)
    assert nn.functional.cross_entropy(x, [1, -1], ignore_index=-1).item() == pytest.approx(
        np.log(3))
