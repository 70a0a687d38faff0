"""Learning-rate schedules against torch.optim.lr_scheduler, and checkpoint round trips."""
import copy

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.nn import Parameter
from deepgrad.optim import lr_scheduler as dgs
from helpers_optim import Run

tls = torch.optim.lr_scheduler
LRS = (0.1, 0.03)  # two parameter groups with their own lr


def _optimizers():
    ours = dg.optim.SGD([{"params": [Parameter(np.zeros(2))], "lr": LRS[0]},
                         {"params": [Parameter(np.zeros(2))], "lr": LRS[1]}], momentum=0.9)
    ref = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": LRS[0]},
                           {"params": [torch.zeros(2, requires_grad=True)], "lr": LRS[1]}],
                          momentum=0.9)
    return ours, ref


def _make(lib, opt, spec):
    """``spec``: (class name, kwargs), or ("SequentialLR", [specs], milestones)."""
    mod = dgs if lib == "dg" else tls
    if spec[0] == "SequentialLR":
        inner = [_make(lib, opt, s) for s in spec[1]]
        return mod.SequentialLR(opt, inner, milestones=spec[2])
    return getattr(mod, spec[0])(opt, **spec[1])


SPECS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.95)),
    ("CosineAnnealingLR", dict(T_max=20, eta_min=0.001)),  # 60 steps: past T_max too
    ("CosineAnnealingLR", dict(T_max=7)),
    ("LinearLR", dict(start_factor=0.1, total_iters=10)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.2, total_iters=25)),
    ("SequentialLR", [("LinearLR", dict(start_factor=0.1, total_iters=5)),
                      ("CosineAnnealingLR", dict(T_max=30))], [5]),
    ("SequentialLR", [("LinearLR", dict(start_factor=0.25, total_iters=4)),
                      ("StepLR", dict(step_size=6, gamma=0.5)),
                      ("ExponentialLR", dict(gamma=0.9))], [4, 20]),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s[0])
def test_lr_sequence_matches_torch(spec):
    ours_opt, ref_opt = _optimizers()
    ours, ref = _make("dg", ours_opt, spec), _make("torch", ref_opt, spec)
    seen = []
    for epoch in range(60):
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-13, abs=0), epoch
        assert [g["lr"] for g in ours_opt.param_groups] == ours.get_last_lr()
        assert ours.last_epoch == ref.last_epoch
        seen.append(ours.get_last_lr()[0])
        ours_opt.step()
        ref_opt.step()
        ours.step()
        ref.step()
    assert len(set(seen)) > 2, "the schedule never changed the lr"
    assert [g["initial_lr"] for g in ours_opt.param_groups] == list(LRS)


def test_chained_schedulers_match_torch():
    """Two schedulers on one optimizer compose multiplicatively (recursive form)."""
    ours_opt, ref_opt = _optimizers()
    ours = [dgs.StepLR(ours_opt, 5, 0.5), dgs.ExponentialLR(ours_opt, 0.9)]
    ref = [tls.StepLR(ref_opt, 5, 0.5), tls.ExponentialLR(ref_opt, 0.9)]
    for _ in range(30):
        ours_opt.step()
        ref_opt.step()
        for a, b in zip(ours, ref):
            a.step()
            b.step()
        assert ours[1].get_last_lr() == pytest.approx(ref[1].get_last_lr(), rel=1e-13)


@pytest.mark.parametrize("spec", [s for s in SPECS if s[0] != "SequentialLR"],
                         ids=lambda s: s[0])
def test_closed_form_step_epoch_matches_torch(spec):
    ours_opt, ref_opt = _optimizers()
    ours, ref = _make("dg", ours_opt, spec), _make("torch", ref_opt, spec)
    for epoch in (3, 10, 0, 17, 40):
        ours.step(epoch)
        with pytest.warns(UserWarning):
            ref.step(epoch)
        assert ours.get_last_lr() == pytest.approx(ref.get_last_lr(), rel=1e-13)


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.01, threshold_mode="abs"),
    dict(factor=0.5, patience=1, cooldown=3, min_lr=[0.01, 0.001]),
    dict(factor=0.2, patience=0, min_lr=0.005, eps=1e-3),
]


@pytest.mark.parametrize("options", PLATEAU)
def test_reduce_on_plateau_matches_torch(options):
    rng = np.random.default_rng(5)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + 0.02 * rng.random(50)])
    if options.get("mode") == "max":
        metrics = -metrics
    ours_opt, ref_opt = _optimizers()
    ours = dgs.ReduceLROnPlateau(ours_opt, **options)
    ref = tls.ReduceLROnPlateau(ref_opt, **options)
    lrs = set()
    for m in metrics:
        ours.step(m)
        ref.step(m)
        assert ours.get_last_lr() == ref.get_last_lr()
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == \
            (ref.best, ref.num_bad_epochs, ref.cooldown_counter)
        lrs.add(ours.get_last_lr()[0])
    assert len(lrs) > 1, "the plateau never reduced the lr"


# -- checkpoints -----------------------------------------------------------------------
def _scheduled(spec_maker):
    run = Run("dg", "SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01))
    return run, spec_maker(run.opt)


SCHEDULE_MAKERS = {
    "warmup-cosine": lambda opt: dgs.SequentialLR(
        opt, [dgs.LinearLR(opt, start_factor=0.1, total_iters=20),
              dgs.CosineAnnealingLR(opt, T_max=180)], milestones=[20]),
    "multistep": lambda opt: dgs.MultiStepLR(opt, milestones=[40, 60, 120], gamma=0.5),
    "plateau": lambda opt: dgs.ReduceLROnPlateau(opt, factor=0.5, patience=3),
}


def _epoch(run, sched, t):
    run.step(t)
    if isinstance(sched, dgs.ReduceLROnPlateau):
        sched.step(float(np.sum(run.arrays()[0] ** 2)))
    else:
        sched.step()


@pytest.mark.parametrize("kind", sorted(SCHEDULE_MAKERS))
def test_optimizer_and_scheduler_resume_bit_for_bit(kind):
    make = SCHEDULE_MAKERS[kind]
    full, full_sched = _scheduled(make)
    for t in range(200):
        _epoch(full, full_sched, t)
    half, half_sched = _scheduled(make)
    for t in range(50):
        _epoch(half, half_sched, t)
    saved = copy.deepcopy((half.opt.state_dict(), half_sched.state_dict(),
                           [np.array(x) for x in half.arrays()]))
    # Resume as a training script would: build model, optimizer and scheduler afresh
    # (the scheduler's construction writes the lrs), then load optimizer, then scheduler.
    resumed, resumed_sched = _scheduled(make)
    for p, x in zip(resumed.params, saved[2]):
        p.data[...] = x
    resumed.opt.load_state_dict(saved[0])
    resumed_sched.load_state_dict(saved[1])
    for t in range(50, 200):
        _epoch(resumed, resumed_sched, t)
    assert resumed_sched.get_last_lr() == full_sched.get_last_lr()
    for a, b in zip(resumed.arrays(), full.arrays()):
        np.testing.assert_array_equal(a, b)


def test_resume_with_last_epoch_needs_initial_lr():
    opt = dg.optim.SGD([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        dgs.StepLR(opt, 5, last_epoch=10)
    opt.param_groups[0]["initial_lr"] = 0.1
    sched = dgs.StepLR(opt, 5, gamma=0.5, last_epoch=9)
    assert sched.last_epoch == 10 and sched.get_last_lr() == [0.05]


# -- registry and validation -----------------------------------------------------------
def test_registry():
    assert dgs.SCHEDULERS == {
        "step": dgs.StepLR, "multistep": dgs.MultiStepLR, "exponential": dgs.ExponentialLR,
        "cosine": dgs.CosineAnnealingLR, "linear": dgs.LinearLR,
        "sequential": dgs.SequentialLR, "plateau": dgs.ReduceLROnPlateau}


def _opt():
    return dg.optim.SGD([Parameter(np.zeros(2))], lr=0.1)


@pytest.mark.parametrize("call,match", [
    (lambda o: dgs.StepLR(o, step_size=0), "StepLR: step_size"),
    (lambda o: dgs.StepLR(o, step_size=2.5), "StepLR: step_size"),
    (lambda o: dgs.StepLR(o, step_size=2, gamma=-0.1), "StepLR: gamma"),
    (lambda o: dgs.MultiStepLR(o, milestones=[3, -1]), "milestone"),
    (lambda o: dgs.ExponentialLR(o, gamma=0), "ExponentialLR: gamma"),
    (lambda o: dgs.CosineAnnealingLR(o, T_max=0), "T_max"),
    (lambda o: dgs.CosineAnnealingLR(o, T_max=5, eta_min=-1), "eta_min"),
    (lambda o: dgs.LinearLR(o, start_factor=0), "start_factor"),
    (lambda o: dgs.LinearLR(o, end_factor=1.5), "end_factor"),
    (lambda o: dgs.LinearLR(o, total_iters=0), "total_iters"),
    (lambda o: dgs.SequentialLR(o, [dgs.StepLR(o, 2)], milestones=[3]), "milestones"),
    (lambda o: dgs.SequentialLR(o, [dgs.StepLR(o, 2), dgs.StepLR(_opt(), 2)],
                                milestones=[3]), "another optimizer"),
    (lambda o: dgs.ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: dgs.ReduceLROnPlateau(o, mode="up"), "mode"),
    (lambda o: dgs.ReduceLROnPlateau(o, threshold_mode="pct"), "threshold_mode"),
    (lambda o: dgs.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "min_lr"),
    (lambda o: dgs.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]), 2),
     "deepgrad optimizer"),
])
def test_bad_arguments_rejected(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call(_opt())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s[0])
def test_state_dict_survives_json(spec):
    """Checkpoints keep scheduler state as JSON: ints as keys and tuples do not survive
    it, so the state must not depend on them."""
    import json
    opt, _ = _optimizers()
    sched = _make("dg", opt, spec)
    for _ in range(10):
        sched.step()
    saved_opt = json.loads(json.dumps(_jsonable(opt.state_dict())))
    saved = json.loads(json.dumps(sched.state_dict()))
    expected = []
    for _ in range(30):
        sched.step()
        expected.append(sched.get_last_lr())
    opt2, _ = _optimizers()
    sched2 = _make("dg", opt2, spec)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    got = []
    for _ in range(30):
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected


def _jsonable(state_dict):
    return {"state": {}, "param_groups": [
        {k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
        for g in state_dict["param_groups"]]}
