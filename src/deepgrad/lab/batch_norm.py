"""Batch normalization: the same ReLU MLP with and without it.

The shape of Ioffe & Szegedy's MNIST net, on the 8x8 digits: 3 hidden layers of 100
units, 64-100-100-100-10, with ReLU (their sigmoid version does not get off the ground
without BN within this lab's budget: it stays at chance); the BN variant puts
``BatchNorm1d`` between each Linear and its ReLU. Same initial Linear weights (He
normal, zero biases), plain SGD, minibatches of 64 drawn with replacement.

Measured:

* test accuracy against steps at one learning rate, and the steps to reach 90%;
* a learning-rate sweep: the highest rate whose run still trains (training accuracy
  >= 0.8 after the sweep's steps, chance is 0.1);
* internal covariate shift: the 15th, 50th and 85th percentiles of the inputs to the
  ReLUs of the last hidden layer, on a fixed probe batch of training images, as
  training goes on. The shift is the mean over units of how far the median of a unit's
  input travels (sum of |change| between records), in units of that input's largest
  spread (85th - 15th percentile) over the records.
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.nn import init
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "batch-norm"
TITLE = "Batch normalization: whiten as you go"
CLAIM = ("Internal covariate shift: neural network activations during training are a "
         "moving target. Batch normalization (whiten-as-you-go) is used in all current "
         "systems.")
CRITERION = ("With batch normalization the MLP reaches 90% test accuracy in fewer steps "
             "than without it at the same learning rate; the highest learning rate of the "
             "sweep at which it still trains is higher; and the inputs to its last hidden "
             "layer's nonlinearity shift less during training (smaller mean travel of the "
             "median, in units of the spread).")

HIDDEN = (100, 100, 100)


def _net(bn, seed):
    common.seed_all(seed)  # the Linear layers draw the same weights with or without BN
    layers, width = [], 64
    for h in HIDDEN:
        linear = nn.Linear(width, h)
        init.kaiming_normal_(linear.weight, nonlinearity="relu")
        init.zeros_(linear.bias)
        layers.append(linear)
        if bn:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        width = h
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def _activation_inputs(model, probe):
    """Inputs of the last ReLU on ``probe`` in training mode (batch statistics, as the
    training steps see them); running statistics are left untouched."""
    captured = []
    last = [m for m in model.modules() if isinstance(m, nn.ReLU)][-1]
    handle = last.register_forward_hook(lambda m, i, o: captured.append(i[0]._data.copy()))
    saved = {k: np.array(v, copy=True) for k, v in model.state_dict().items()}
    with dg.no_grad():
        model(probe)
    model.load_state_dict(saved)
    handle.remove()
    return captured[0].astype(np.float64)


def _train(bn, lr, data, steps, seed, record_every=None, probe_every=None):
    x, y, xs, ys, probe = data
    model = _net(bn, seed)
    opt = dg.optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, replacement=True, seed=seed)
    xt, yt, xst, yst = common.tensors(x, y, xs, ys)
    curve, shift, probes = [], [], []
    step = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while step < steps:
            for xb, yb in loader:
                if record_every and step % record_every == 0:
                    curve.append([step, common.accuracy_of(model, xst, yst)])
                if probe_every and step % probe_every == 0:
                    probes.append(step)
                    z = _activation_inputs(model, probe)
                    shift.append(np.percentile(z, [15, 50, 85], axis=0))
                train_step(model, common.cross_entropy, opt, xb, yb)
                step += 1
                if step == steps:
                    break
        result = {"train_accuracy": common.accuracy_of(model, xt, yt),
                  "train_loss": common.finite(common.loss_of(model, common.cross_entropy, xt, yt))}
    if record_every:
        curve.append([step, common.accuracy_of(model, xst, yst)])
        probes.append(step)
        shift.append(np.percentile(_activation_inputs(model, probe), [15, 50, 85], axis=0))
        q = np.array(shift)  # (records, 3 percentiles, units)
        travel = np.abs(np.diff(q[:, 1], axis=0)).sum(axis=0)
        spread = np.maximum((q[:, 2] - q[:, 0]).max(axis=0), 1e-12)
        reached = next((s for s, a in curve if a >= 0.9), None)
        result.update(accuracy_curve=curve, probe_steps=probes,
                      percentiles=q[:, :, :3].tolist(), shift=float((travel / spread).mean()),
                      steps_to_90=reached)
    return result


def run(quick=True, seed=0, out_dir=None):
    steps, sweep_steps, every = (300, 150, 30) if quick else (2000, 600, 100)
    lr = 0.1
    rates = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    x, y = dg.data.load("digits", split="train", seed=seed)
    xs, ys = dg.data.load("digits", split="test", seed=seed)
    probe = dg.tensor(x[np.random.default_rng(seed).permutation(len(x))[:512]])
    data = (x, y, xs, ys, probe)
    nets = {}
    for bn in (False, True):
        key = "bn" if bn else "plain"
        nets[key] = _train(bn, lr, data, steps, seed, record_every=10, probe_every=every)
        nets[key]["sweep"] = [{"lr": r, **_train(bn, r, data, sweep_steps, seed)}
                              for r in rates]
    return {"lr": lr, "steps": steps, "sweep_steps": sweep_steps, "trains_at": 0.8,
            "nets": nets}


def _highest(net, threshold):
    ok = [r["lr"] for r in net["sweep"] if r["train_accuracy"] >= threshold
          and r["train_loss"] is not None]
    return max(ok) if ok else None


def checks(numbers):
    plain, bn = numbers["nets"]["plain"], numbers["nets"]["bn"]
    h_plain, h_bn = (_highest(plain, numbers["trains_at"]), _highest(bn, numbers["trains_at"]))
    return [Check("steps to 90% test accuracy, with BN / without",
                  ratio(bn["steps_to_90"], plain["steps_to_90"]), "<", 1, scale="log"),
            Check("highest learning rate that trains, with BN / without",
                  ratio(h_bn or 0.0, h_plain or 0.0), ">", 1, scale="log"),
            Check("shift of the last hidden layer's inputs, with BN / without",
                  ratio(bn["shift"], plain["shift"]), "<", 1, scale="log")]


def verdict(numbers):
    plain, bn = numbers["nets"]["plain"], numbers["nets"]["bn"]
    s_plain, s_bn = plain["steps_to_90"], bn["steps_to_90"]
    h_plain, h_bn = (_highest(plain, numbers["trains_at"]), _highest(bn, numbers["trains_at"]))
    text = (f"steps to 90% test accuracy at lr {numbers['lr']:g}: {s_plain} without BN, "
            f"{s_bn} with (final: {plain['accuracy_curve'][-1][1]:.3f} and "
            f"{bn['accuracy_curve'][-1][1]:.3f}); highest learning rate that trains "
            f"(accuracy >= {numbers['trains_at']:g} in {numbers['sweep_steps']} steps): "
            f"{h_plain} without, {h_bn} with; shift of the last hidden layer's inputs: "
            f"{plain['shift']:.2f} without, {bn['shift']:.2f} with.")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 3, size=(4.6, 4.0))
    nets = numbers["nets"]
    styles = {"plain": ("C3", "without BN"), "bn": ("C0", "with BN")}
    ax = axes[0]
    for key, (color, label) in styles.items():
        c = np.array(nets[key]["accuracy_curve"])
        ax.plot(c[:, 0], c[:, 1], "-", color=color, label=label)
    ax.axhline(0.9, color="k", ls=":", lw=1, label="90%")
    ax.set_xlabel("training step (minibatches of 64)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"same net, lr = {numbers['lr']:g}", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    for key, (color, label) in styles.items():
        sweep = nets[key]["sweep"]
        ax.semilogx([r["lr"] for r in sweep], [r["train_accuracy"] for r in sweep], "o-",
                    color=color, label=label)
    ax.axhline(numbers["trains_at"], color="k", ls=":", lw=1, label="'still trains'")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"training accuracy after {numbers['sweep_steps']} steps")
    ax.set_title("learning-rate sweep", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[2]
    for key, (color, label) in styles.items():
        q = np.array(nets[key]["percentiles"])[:, :, 0]  # the first unit
        steps = nets[key]["probe_steps"]
        ax.fill_between(steps, q[:, 0], q[:, 2], color=color, alpha=0.2)
        ax.plot(steps, q[:, 1], color=color,
                label=f"{label} (shift {nets[key]['shift']:.2f})")
    ax.set_xlabel("training step")
    ax.set_ylabel("input of one last-hidden-layer ReLU")
    ax.set_title("15th / 50th / 85th percentiles on a fixed batch", fontsize=10)
    ax.legend(fontsize=8)
    return common.save(fig, path, TITLE + " (ReLU MLP 64-100-100-100-10, 8x8 digits)")
