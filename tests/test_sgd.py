"""SGD follows torch.optim.SGD's trajectory for 100 steps at float64, with every option."""
import copy

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.optim import SGD

STEPS = 100
RNG = np.random.default_rng(42)
X = RNG.standard_normal((16, 4))
Y = RNG.standard_normal((16, 3))
W0 = RNG.standard_normal((3, 4)) * 0.5
B0 = RNG.standard_normal(3) * 0.1


def _loss(lib, w, b, sign):
    """A small smooth regression loss, the same expression in both libraries."""
    if lib is dg:
        x, y = dg.tensor(X), dg.tensor(Y)
        h = dg.tanh(x @ w.T + b)
    else:
        x, y = torch.from_numpy(X), torch.from_numpy(Y)
        h = torch.tanh(x @ w.T + b)
    d = h - y
    return (d * d).mean() * sign


def _run_torch(options, steps=STEPS, groups=False, lr_at=None):
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    params = [{"params": [w]}, {"params": [b], "lr": 0.05}] if groups else [w, b]
    return _steps(torch, w, b, torch.optim.SGD(params, **options), options, steps, lr_at)


def _make_dg(options, groups=False, w0=W0, b0=B0):
    w = dg.tensor(w0, requires_grad=True)
    b = dg.tensor(b0, requires_grad=True)
    params = [{"params": [w]}, {"params": [b], "lr": 0.05}] if groups else [w, b]
    return w, b, SGD(params, **options)


def _dg_steps(w, b, opt, options, steps, lr_at=None, start=0):
    return _steps(dg, w, b, opt, options, steps, lr_at, start)


def _steps(lib, w, b, opt, options, steps, lr_at=None, start=0):
    """Take ``steps`` steps (halving every lr at step ``lr_at``); the (w, b) path."""
    sign = -1.0 if options.get("maximize") else 1.0
    path = []
    for step in range(start, start + steps):
        if lr_at is not None and step == lr_at:
            for g in opt.param_groups:
                g["lr"] *= 0.5
        opt.zero_grad()
        _loss(lib, w, b, sign).backward()
        opt.step()
        path.append(tuple(np.array(t.detach().numpy() if lib is torch else t.data)
                          for t in (w, b)))
    return path


def _assert_same_path(ours, theirs):
    assert len(ours) == len(theirs)
    for step, ((w, b), (wt, bt)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(w, wt, rtol=1e-10, atol=1e-13, err_msg=f"weight, step {step}")
        np.testing.assert_allclose(b, bt, rtol=1e-10, atol=1e-13, err_msg=f"bias, step {step}")


OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, maximize=True),
    dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True),
    dict(lr=0.05, momentum=0.5, dampening=0.9, weight_decay=0.1, maximize=True),
]


def _options_id(options):
    return ",".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("options", OPTIONS, ids=_options_id)
def test_trajectory_matches_torch(options):
    w, b, opt = _make_dg(options)
    _assert_same_path(_dg_steps(w, b, opt, options, STEPS), _run_torch(options))


def test_the_trajectory_actually_moves():
    # guard against a vacuous comparison: parameters change and the loss falls
    options = dict(lr=0.1, momentum=0.9)
    w, b, opt = _make_dg(options)
    first = float(_loss(dg, w, b, 1.0).data)
    _dg_steps(w, b, opt, options, STEPS)
    assert float(_loss(dg, w, b, 1.0).data) < 0.9 * first
    assert np.abs(w.data - W0).max() > 0.1


def test_param_groups_and_a_changed_lr_match_torch():
    options = dict(lr=0.1, momentum=0.9, weight_decay=0.01)
    w, b, opt = _make_dg(options, groups=True)
    ours = _dg_steps(w, b, opt, options, STEPS, lr_at=50)
    _assert_same_path(ours, _run_torch(options, groups=True, lr_at=50))


@pytest.mark.parametrize("options", [dict(lr=0.1, momentum=0.9, dampening=0.2,
                                          weight_decay=0.01),
                                     dict(lr=0.1, momentum=0.9, nesterov=True)])
def test_state_dict_round_trip_mid_run(options):
    theirs = _run_torch(options)
    w, b, opt = _make_dg(options)
    first = _dg_steps(w, b, opt, options, STEPS // 2)
    saved = copy.deepcopy(opt.state_dict())  # a snapshot, as a checkpoint on disk would be
    assert set(saved["state"]) == {0, 1}
    # a fresh optimizer over fresh parameters restored from the snapshot
    w2, b2, opt2 = _make_dg(dict(options, lr=1.0, momentum=0.1, nesterov=False),
                            w0=w.data.numpy().copy(), b0=b.data.numpy().copy())
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == options["lr"]
    restored = _dg_steps(w2, b2, opt2, options, STEPS - STEPS // 2, start=STEPS // 2)
    continued = _dg_steps(w, b, opt, options, STEPS - STEPS // 2, start=STEPS // 2)
    _assert_same_path(first + restored, theirs)
    _assert_same_path(first + continued, theirs)


def test_momentum_buffer_state_matches_torch():
    options = dict(lr=0.1, momentum=0.9, dampening=0.1)
    w, b, opt = _make_dg(options)
    _dg_steps(w, b, opt, options, 5)
    wt = torch.tensor(W0, requires_grad=True)
    bt = torch.tensor(B0, requires_grad=True)
    topt = torch.optim.SGD([wt, bt], **options)
    for _ in range(5):
        topt.zero_grad()
        _loss(torch, wt, bt, 1.0).backward()
        topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    for i in (0, 1):
        np.testing.assert_allclose(np.asarray(ours["state"][i]["momentum_buffer"]),
                                   theirs["state"][i]["momentum_buffer"].numpy(), rtol=1e-10)


def test_step_skips_parameters_without_grad():
    w = dg.tensor(np.ones(3), requires_grad=True)
    v = dg.tensor(np.ones(3), requires_grad=True)
    opt = SGD([w, v], lr=0.5)
    (w * 2.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.data, np.zeros(3))
    np.testing.assert_array_equal(v.data, np.ones(3))


def test_float32_parameters_stay_float32():
    w = dg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert w.data.dtype == np.float32
    assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values()
               if hasattr(v, "dtype"))


@pytest.mark.parametrize("kwargs,arg", [
    (dict(lr=-0.1), "lr"),
    (dict(lr=0.1, momentum=-0.5), "momentum"),
    (dict(lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (dict(lr=0.1, nesterov=True), "nesterov"),
    (dict(lr=0.1, momentum=0.9, dampening=0.5, nesterov=True), "nesterov"),
    (dict(lr="fast"), "lr"),
])
def test_bad_hyperparameters_raise_naming_the_argument(kwargs, arg):
    w = dg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=rf"SGD.*{arg}"):
        SGD([w], **kwargs)


def test_bad_parameter_lists():
    with pytest.raises(ValueError, match=r"SGD.*empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD.*Tensors.*ndarray"):
        SGD([np.ones(3)], lr=0.1)
    w = dg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"SGD.*more than one"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD.*unknown option.*betas"):
        SGD([{"params": [w], "betas": (0.9, 0.99)}], lr=0.1)
