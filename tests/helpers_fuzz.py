"""Helpers for the fuzz suite (tests/test_fuzz.py): case counting, the clean-error
contract, and deepgrad <-> PyTorch comparison of a module's forward and backward."""
from collections import Counter

import numpy as np
import pytest
import torch

import deepgrad as dg

CASES = Counter()  # family -> examples run (valid and invalid); reported by the last test


def count(family):
    CASES[family] += 1


def expect_clean_error(names, fn):
    """``fn()`` must raise ValueError or TypeError whose message names one of ``names``
    (the layer or function); never numpy's AxisError (an IndexError too), never another
    exception, never a silent result. Returns the message."""
    names = (names,) if isinstance(names, str) else tuple(names)
    try:
        result = fn()
    except np.exceptions.AxisError as err:  # also a ValueError: catch it first
        pytest.fail(f"numpy AxisError leaked out instead of a clean message: {err}")
    except (ValueError, TypeError) as err:
        message = str(err)
        assert message.strip(), f"{type(err).__name__} without a message"
        assert any(n in message for n in names), \
            f"the message does not name {names}: {message!r}"
        return message
    pytest.fail(f"no error raised; got {type(result).__name__} "
                f"{getattr(result, 'shape', '')}")


def to_torch_module(ours, theirs):
    """Copy every parameter and buffer of ``ours`` into the torch module ``theirs``
    (float64), keys being the same."""
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in ours.state_dict().items()}
    theirs.double()  # first, so that loading does not round the values to float32
    theirs.load_state_dict(state)
    return theirs


def compare_module(ours, theirs, x, rtol=1e-10, atol=1e-12, backward=True):
    """Run both modules on ``x`` (float64), compare outputs, and with ``backward`` the
    gradients of sum(out * w) for a random ``w`` w.r.t. the input and every parameter."""
    xt = torch.from_numpy(x.copy()).requires_grad_(backward)
    xd = dg.tensor(x.copy(), requires_grad=backward)
    out_d, out_t = ours(xd), theirs(xt)
    got = out_d.detach().numpy()
    assert np.isfinite(got).all(), "non-finite output from finite input"
    np.testing.assert_allclose(got, out_t.detach().numpy(), rtol=rtol, atol=atol)
    if not backward:
        return
    w = np.random.default_rng(1).standard_normal(got.shape)
    (out_d * dg.tensor(w)).sum().backward()
    (out_t * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=rtol, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs_params[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


def compare_loss(got, want, xd, xt, seed):
    """A loss from both frameworks: finite, equal values, and equal input gradients of
    sum(loss * w) for a random ``w`` (float64)."""
    assert np.isfinite(got.detach().numpy()).all()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(seed).standard_normal(got.shape)
    (got * dg.tensor(w)).sum().backward()
    (want * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
