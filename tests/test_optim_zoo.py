"""The optimizer zoo against torch.optim: trajectories, checkpoints, convergence, errors."""
import copy

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.nn import Parameter
from helpers_optim import Run, snapshot

STEPS = 200

# Every option of every optimizer, alone and combined; (name, options, groups).
CASES = [
    ("SGD", dict(lr=0.05), None),
    ("SGD", dict(lr=0.05, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), None),
    ("SGD", dict(lr=0.05, weight_decay=0.2, maximize=True), None),
    ("Rprop", dict(), None),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)), None),
    ("Rprop", dict(lr=0.02, maximize=True), None),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1,
                     initial_accumulator_value=0.3, eps=1e-6), None),
    ("Adagrad", dict(lr=0.1, maximize=True), None),
    ("RMSprop", dict(), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-4, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.01, momentum=0.8), None),
    ("RMSprop", dict(lr=0.01, centered=True), None),
    ("RMSprop", dict(lr=0.01, momentum=0.8, centered=True, weight_decay=0.1,
                     maximize=True), None),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1), None),
    ("Adadelta", dict(maximize=True), None),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, amsgrad=True), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True), None),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.3, amsgrad=True), None),
    ("AdamW", dict(lr=0.01, maximize=True), None),
]

# Parameter groups with per-group options, including per-group weight decay.
GROUP_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9),
     [([0], dict(weight_decay=0.1, nesterov=True)), ([1, 2], dict(lr=0.02, dampening=0.5))]),
    ("Rprop", dict(), [([0, 2], dict(lr=0.05)), ([1], dict(etas=(0.4, 1.3)))]),
    ("Adagrad", dict(lr=0.1), [([0], dict(weight_decay=0.1)), ([1, 2], dict(lr_decay=0.1))]),
    ("RMSprop", dict(lr=0.01), [([0], dict(centered=True, weight_decay=0.1)),
                                ([1, 2], dict(momentum=0.5, alpha=0.9))]),
    ("Adadelta", dict(), [([0], dict(weight_decay=0.1, rho=0.95)), ([1, 2], dict(lr=0.5))]),
    ("Adam", dict(lr=0.01), [([0], dict(weight_decay=0.1, amsgrad=True)),
                             ([1, 2], dict(betas=(0.5, 0.9)))]),
    ("AdamW", dict(lr=0.01), [([0], dict(weight_decay=0.2)), ([1, 2], dict(weight_decay=0.0))]),
]


def _ids(cases):
    return [f"{name}-{i}" for i, (name, _, _) in enumerate(cases)]


def _assert_same_trajectory(name, options, groups):
    ours = Run("dg", name, options, groups)
    ref = Run("torch", name, options, groups)
    for t in range(STEPS):
        ours.step(t)
        ref.step(t)
        if t % 50 == 49 or t == STEPS - 1:
            for a, b in zip(ours.arrays(), ref.arrays()):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12,
                                           err_msg=f"{name} {options} step {t + 1}")
    moved = [np.abs(a - b).max() for a, b in zip(ours.arrays(), Run("dg", name, options,
                                                                      groups).arrays())]
    assert max(moved) > 1e-3, f"{name} {options}: the parameters did not move"


@pytest.mark.parametrize("name,options,groups", CASES, ids=_ids(CASES))
def test_trajectory_matches_torch(name, options, groups):
    _assert_same_trajectory(name, options, groups)


@pytest.mark.parametrize("name,options,groups", GROUP_CASES, ids=_ids(GROUP_CASES))
def test_trajectory_with_param_groups_matches_torch(name, options, groups):
    _assert_same_trajectory(name, options, groups)


def test_sgd_decoupled_weight_decay_switch():
    """p <- p (1 - lr wd) - lr b, with the momentum buffer b built from g alone."""
    lr, wd, mu = 0.1, 0.3, 0.9
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((20, 5))
    p = Parameter(rng.standard_normal(5))
    expected, buf = p.data.numpy().copy(), None
    opt = dg.optim.SGD([p], lr=lr, momentum=mu, weight_decay=wd, decoupled_weight_decay=True)
    for g in grads:
        p.grad = dg.as_tensor(g.copy())
        opt.step()
        buf = g.copy() if buf is None else mu * buf + g
        expected = expected * (1 - lr * wd) - lr * buf
    np.testing.assert_allclose(p.data, expected, rtol=1e-13)
    # the coupled rule is a different one: it must not coincide
    assert not np.allclose(_sgd_final(grads, coupled=True), p.data)


def _sgd_final(grads, coupled):
    rng = np.random.default_rng(1)
    rng.standard_normal((20, 5))
    p = Parameter(rng.standard_normal(5))
    opt = dg.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.3,
                       decoupled_weight_decay=not coupled)
    for g in grads:
        p.grad = dg.as_tensor(g.copy())
        opt.step()
    return p.data


def test_adamw_decay_is_exactly_decoupled():
    """With gradients that do not depend on p, AdamW's moments equal plain Adam's bit for
    bit (the decay never enters them) and each step is p (1 - lr wd) - Adam's step."""
    rng = np.random.default_rng(2)
    grads = rng.standard_normal((30, 8))
    start = rng.standard_normal(8)
    lr, wd = 0.01, 0.5
    pw, pa, pc = (Parameter(start.copy()) for _ in range(3))
    adamw = dg.optim.AdamW([pw], lr=lr, weight_decay=wd)
    adam = dg.optim.Adam([pa], lr=lr)
    coupled = dg.optim.Adam([pc], lr=lr, weight_decay=wd)
    expected = start.copy()
    for g in grads:
        before = pa.data.numpy().copy()
        for p, opt in ((pw, adamw), (pa, adam), (pc, coupled)):
            p.grad = dg.as_tensor(g.copy())
            opt.step()
        adam_step = pa.data - before
        expected = expected * (1 - lr * wd) + adam_step
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_array_equal(adamw.state[id(pw)][key], adam.state[id(pa)][key])
    assert not np.array_equal(coupled.state[id(pc)]["exp_avg"], adam.state[id(pa)]["exp_avg"])
    np.testing.assert_allclose(pw.data, expected, rtol=1e-12)


def test_rprop_published_irprop_minus_steps():
    p = Parameter(np.zeros(1))
    opt = dg.optim.Rprop([p], lr=0.1)
    moves = []
    for g in (1.0, 1.0, 1.0, -1.0, 1.0):
        before = p.data.numpy().copy()
        p.grad = dg.as_tensor(np.array([g]))
        opt.step()
        moves.append(abs(float(p.data[0] - before[0])))
    np.testing.assert_allclose(moves, [0.1, 0.12, 0.144, 0.0, 0.072], rtol=1e-12)


@pytest.mark.parametrize("name,options,groups", [CASES[i] for i in (3, 7, 10, 15, 18, 23, 25)]
                         + [GROUP_CASES[0], GROUP_CASES[5]],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_state_dict_round_trip_continues_bit_for_bit(name, options, groups):
    full = Run("dg", name, options, groups)
    for t in range(STEPS):
        full.step(t)
    half = Run("dg", name, options, groups)
    for t in range(50):
        half.step(t)
    saved_state, saved_params = snapshot(half)
    for t in range(50, 60):  # the original keeps training: the snapshot must not change
        half.step(t)
    resumed = Run("dg", name, options, groups)  # a fresh optimizer, parameters set below
    for p, x in zip(resumed.params, saved_params):
        p.data[...] = x
    resumed.opt.load_state_dict(saved_state)
    for t in range(50, STEPS):
        resumed.step(t)
    for a, b in zip(resumed.arrays(), full.arrays()):
        np.testing.assert_array_equal(a, b)


def test_state_dict_layout_and_checks():
    p, q = Parameter(np.ones(3)), Parameter(np.ones((2, 2)))
    opt = dg.optim.Adam([{"params": [p]}, {"params": [q], "lr": 0.1}], amsgrad=True)
    for x in (p, q):
        x.grad = dg.as_tensor(np.ones_like(x.data))
    opt.step()
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1]
    assert sd["state"][1]["step"] == 2 and isinstance(sd["state"][1]["step"], int)
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["param_groups"][1]["params"] == [1] and sd["param_groups"][1]["lr"] == 0.1
    other = dg.optim.Adam([p, q])
    with pytest.raises(ValueError, match="parameter groups"):
        other.load_state_dict(sd)
    # a float32 model takes the checkpoint's float64 state in its own dtype
    p32 = Parameter(np.ones(3, np.float32))
    q32 = Parameter(np.ones((2, 2), np.float32))
    opt32 = dg.optim.Adam([{"params": [p32]}, {"params": [q32]}], amsgrad=True)
    opt32.load_state_dict(copy.deepcopy(sd))
    assert opt32.state[id(p32)]["exp_avg"].dtype == np.float32
    assert opt32.param_groups[1]["lr"] == 0.1


# -- convergence and dtype -------------------------------------------------------------
def _rosenbrock_grad(x):
    a, b = x
    return np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], x.dtype)


# optimizer -> (options, steps, ExponentialLR gamma or None): each reaches (1, 1) from
# (-1.5, 2). Adadelta's step ratio sqrt(u + eps) / sqrt(v + eps) does not shrink near a
# minimum, so it circles the valley floor unless its lr decays: it gets a schedule.
ROSENBROCK = {
    "SGD": (dict(lr=1e-3, momentum=0.9), 3000, None),
    "Rprop": (dict(lr=1e-3), 3000, None),
    "Adagrad": (dict(lr=1.0), 10000, None),
    "RMSprop": (dict(lr=1e-3, alpha=0.9, centered=True, momentum=0.5), 3000, None),
    "Adadelta": (dict(lr=3.0, rho=0.95), 5000, 0.999),
    "Adam": (dict(lr=0.02, betas=(0.9, 0.999)), 3000, None),
    "AdamW": (dict(lr=0.02, weight_decay=1e-5), 3000, None),
}


def _minimize(name, options, steps, gamma, x, grad):
    opt = dg.optim.__dict__[name]([x], **options)
    sched = None if gamma is None else dg.optim.lr_scheduler.ExponentialLR(opt, gamma)
    for _ in range(steps):
        x.grad = dg.as_tensor(grad(x.data))
        opt.step()
        if sched is not None:
            sched.step()
    return opt


@pytest.mark.parametrize("name", sorted(ROSENBROCK))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_converges_on_rosenbrock_and_keeps_dtype(name, dtype):
    x = Parameter(np.array([-1.5, 2.0], dtype))
    opt = _minimize(name, *ROSENBROCK[name], x, _rosenbrock_grad)
    assert x.data.dtype == dtype
    for value in opt.state[id(x)].values():
        if hasattr(value, "dtype"):
            assert value.dtype == dtype
    tol = 2e-2 if dtype == np.float64 else 5e-2
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=tol, err_msg=name)


QUADRATIC = {  # optimizer -> (options, ExponentialLR gamma or None)
    "SGD": (dict(lr=0.1, momentum=0.5), None), "Rprop": (dict(lr=0.01), None),
    "Adagrad": (dict(lr=0.5), None), "RMSprop": (dict(lr=0.01), None),
    "Adadelta": (dict(lr=1.0, eps=1e-3), 0.99), "Adam": (dict(lr=0.05), None),
    "AdamW": (dict(lr=0.05, weight_decay=0.0), None),
}


@pytest.mark.parametrize("name", sorted(QUADRATIC))
def test_converges_on_quadratic_float32(name):
    """f(x) = sum(a (x - c)^2) / 2 over a (20, 10) float32 parameter."""
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 3.0, (20, 10)).astype(np.float32)
    c = rng.standard_normal((20, 10)).astype(np.float32)
    x = Parameter(np.zeros((20, 10), np.float32))
    options, gamma = QUADRATIC[name]
    _minimize(name, options, 500, gamma, x, lambda v: a * (v - c))
    assert x.data.dtype == np.float32
    np.testing.assert_allclose(x.data, c, atol=1e-2, err_msg=name)


@pytest.mark.parametrize("name, threads", [("Adam", 1), ("SGD", 3), ("Adam", 3)])
def test_blocked_update_equals_whole_array_update(monkeypatch, name, threads):
    """Cache blocking is an implementation detail, and so is cutting a large array into
    one part per thread: the result is bit for bit one pass over the whole array."""
    from deepgrad import backend
    from deepgrad.optim import _blocked
    monkeypatch.setattr(_blocked, "WHOLE_BELOW_BYTES", 0)  # block even this small array
    monkeypatch.setattr(_blocked, "PARALLEL_MIN_ELEMENTS", 1000)
    monkeypatch.setattr(backend, "compute_threads", lambda: threads)  # 3: uneven parts
    rng = np.random.default_rng(5)
    start = rng.standard_normal(200_001).astype(np.float32)
    results = []
    for block in (None, 4096):
        p = Parameter(start.copy())
        opt = dg.optim.SGD([p], lr=0.01, momentum=0.9) if name == "SGD" else \
            dg.optim.Adam([p], lr=0.01, weight_decay=0.1, amsgrad=True)
        opt.block_bytes = block
        for t in range(5):
            p.grad = dg.as_tensor(np.sin(p.data + t))
            opt.step()
        results.append(p.data.numpy().copy())
    np.testing.assert_array_equal(*results)


def test_grad_is_left_unmodified_and_strided_params_work():
    base = np.arange(24.0).reshape(4, 6) / 10
    start = base.T.copy()
    p = Parameter(base.T)  # a non-contiguous parameter (a view the step writes through)
    g = np.ones((6, 4))
    g_copy = g.copy()
    opt = dg.optim.Adam([p], lr=0.1, weight_decay=0.5, maximize=True)
    p.grad = dg.as_tensor(g)
    opt.step()
    np.testing.assert_array_equal(g, g_copy)
    tp = torch.tensor(start, requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.1, weight_decay=0.5, maximize=True)
    tp.grad = torch.ones(6, 4, dtype=torch.float64)
    topt.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)


# -- groups helper, registry, validation -------------------------------------------------
def test_param_groups_without_decay():
    model = dg.nn.Sequential(dg.nn.Linear(4, 3), dg.nn.ReLU(), dg.nn.Linear(3, 2))
    groups = dg.optim.param_groups_without_decay(model, 0.1)
    assert [len(g["params"]) for g in groups] == [2, 2]
    assert all(p.ndim == 2 for p in groups[0]["params"])
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    opt = dg.optim.AdamW(groups, lr=0.01)
    assert opt.param_groups[1]["weight_decay"] == 0.0
    assert opt.param_groups[0]["lr"] == 0.01
    with pytest.raises(ValueError, match="weight_decay"):
        dg.optim.param_groups_without_decay(model, -1.0)


def test_registry():
    assert set(dg.optim.OPTIMIZERS) == {"sgd", "rprop", "adagrad", "rmsprop", "adadelta",
                                        "adam", "adamw"}
    for name, cls in dg.optim.OPTIMIZERS.items():
        assert cls.__name__.lower() == name
        assert "p = p" in cls.__doc__  # the docstring states the update


def _param():
    return [Parameter(np.zeros(2))]


@pytest.mark.parametrize("name", sorted(QUADRATIC))
def test_negative_lr_rejected(name):
    with pytest.raises(ValueError, match=rf"{name}: lr"):
        dg.optim.__dict__[name](_param(), lr=-0.1)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas", [(1.0, 0.9), (0.9, 1.0), (-0.1, 0.9), (0.9, 1.5)])
def test_betas_outside_unit_interval_rejected(name, betas):
    with pytest.raises(ValueError, match=r"betas\[[01]\] must be a number in \[0.0, 1.0\)"):
        dg.optim.__dict__[name](_param(), betas=betas)


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"])
def test_negative_eps_rejected(name):
    with pytest.raises(ValueError, match=rf"{name}: eps"):
        dg.optim.__dict__[name](_param(), eps=-1e-8)


@pytest.mark.parametrize("call,match", [
    (lambda: dg.optim.Rprop(_param(), etas=(1.5, 1.2)), "etas"),
    (lambda: dg.optim.Rprop(_param(), step_sizes=(1.0, 0.1)), "step_sizes"),
    (lambda: dg.optim.Adadelta(_param(), rho=1.5), "rho"),
    (lambda: dg.optim.RMSprop(_param(), momentum=-0.5), "momentum"),
    (lambda: dg.optim.Adam(_param(), betas=0.9), "betas"),
    (lambda: dg.optim.Adam(_param(), amsgrad="yes"), "amsgrad"),
    (lambda: dg.optim.SGD(_param(), nesterov=True), "nesterov"),
    (lambda: dg.optim.Adam([{"params": _param(), "lr": -1.0}]), "lr"),
    (lambda: dg.optim.Adam(_param(), foo=1), "foo"),
])
def test_bad_options_rejected_at_construction(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# -- switches for other libraries' conventions ----------------------------------------
def _drive(opt, p, grads, sched=None):
    for g in grads:
        p.grad = dg.as_tensor(g.copy())
        opt.step()
        if sched is not None:
            sched.step()
    return p.data.numpy().copy()


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_sutskever_momentum_form(nesterov):
    rng = np.random.default_rng(6)
    grads, start = rng.standard_normal((40, 5)), rng.standard_normal(5)
    lr, mu = 0.1, 0.9

    def run(form, gamma=None):
        p = Parameter(start.copy())
        opt = dg.optim.SGD([p], lr=lr, momentum=mu, nesterov=nesterov, momentum_form=form)
        sched = None if gamma is None else dg.optim.lr_scheduler.ExponentialLR(opt, gamma)
        return _drive(opt, p, grads, sched)

    # constant lr: the two forms are the same rule
    np.testing.assert_allclose(run("sutskever"), run("pytorch"), rtol=1e-12)
    # decaying lr: v = mu v - lr_t g keeps each step's own lr
    expected, v = start.copy(), np.zeros(5)
    for t, g in enumerate(grads):
        lr_t = lr * 0.9 ** t
        v = mu * v - lr_t * g
        expected = expected + (mu * v - lr_t * g if nesterov else v)
    np.testing.assert_allclose(run("sutskever", 0.9), expected, rtol=1e-12)
    assert not np.allclose(run("pytorch", 0.9), expected)


def test_adam_eps_inside_sqrt_switch():
    rng = np.random.default_rng(7)
    grads, start = rng.standard_normal((10, 4)), rng.standard_normal(4)
    lr, (b1, b2), eps = 0.01, (0.9, 0.99), 1e-3
    p = Parameter(start.copy())
    got = _drive(dg.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps, eps_inside_sqrt=True),
                 p, grads)
    x, m, v = start.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr / (1 - b1 ** t) * m / np.sqrt(v / (1 - b2 ** t) + eps)
    np.testing.assert_allclose(got, x, rtol=1e-12)
    p = Parameter(start.copy())
    assert not np.allclose(_drive(dg.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps), p,
                                  grads), x)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_eps_inside_sqrt_switch(centered):
    rng = np.random.default_rng(8)
    grads, start = rng.standard_normal((10, 4)), rng.standard_normal(4)
    lr, alpha, eps = 0.01, 0.9, 1e-2
    p = Parameter(start.copy())
    got = _drive(dg.optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps, centered=centered,
                                  eps_inside_sqrt=True), p, grads)
    x, v, m = start.copy(), np.zeros(4), np.zeros(4)
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        m = alpha * m + (1 - alpha) * g
        x = x - lr * g / np.sqrt(v - (m * m if centered else 0) + eps)
    np.testing.assert_allclose(got, x, rtol=1e-12)


@pytest.mark.parametrize("call,match", [
    (lambda: dg.optim.SGD(_param(), momentum=0.9, momentum_form="nesterov"),
     "momentum_form"),
    (lambda: dg.optim.SGD(_param(), momentum=0.9, dampening=0.1, momentum_form="sutskever"),
     "dampening"),
    (lambda: dg.optim.RMSprop(_param(), eps_inside_sqrt=1), "eps_inside_sqrt"),
])
def test_bad_switches_rejected(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_small_arrays_are_updated_whole_large_ones_in_blocks(monkeypatch):
    from deepgrad.optim import _blocked
    monkeypatch.setattr(_blocked, "PARALLEL_MIN_ELEMENTS", 1 << 40)  # one thread
    large = _blocked.WHOLE_BELOW_BYTES // 4 + 1
    for size, expected_blocks in ((1000, 1), (large, -(-large * 4 // _blocked.BLOCK_BYTES))):
        p = Parameter(np.zeros(size, np.float32))
        p.grad = dg.as_tensor(np.ones(size, np.float32))
        opt = dg.optim.SGD([p], lr=0.1)
        blocks = []
        run = opt._run
        opt._run = lambda update, arrays: run(
            lambda **a: blocks.append(a["p"].size) or update(**a), arrays)
        opt.step()
        assert len(blocks) == expected_blocks and sum(blocks) == size
        np.testing.assert_array_equal(p.data, np.float32(-0.1))
