"""Batch normalization's Figure 1 (Ioffe and Szegedy, 2015), reproduced at a smaller scale.

The paper's network: 3 fully connected hidden layers of 100 sigmoid units on MNIST,
trained with SGD on minibatches of 60, with and without ``BatchNorm1d`` before each
sigmoid. Figure 1(a): test accuracy over the training steps, higher and reached sooner
with batch normalization. Figures 1(b, c): the 15th, 50th and 85th percentiles of one
sigmoid's input over training; without batch normalization they drift (the internal
covariate shift), with it they stay put.

Here: the bundled 5,000-image MNIST subset (4,000 to train, 1,000 to test), the default
initialisation of ``nn.Linear`` (PyTorch's), SGD with lr 0.5, 1,500 steps in quick mode
and 6,000 in full (the paper: 50,000 steps on 60,000 images; say so in the report). The
sigmoid observed is unit 0 of the last hidden layer, on a fixed probe batch of 500
training images in eval mode, every 1/30 of the run. Its drift: how far its median
travels over training (the sum of the changes between records), in units of its
spread (85th - 15th percentile, averaged over the records); the check uses the mean
drift over all 100 units of that layer, so it does not hang on one unit.
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "batch-norm-figure1"
TITLE = "Batch normalization's Figure 1 (Ioffe and Szegedy, 2015)"
SOURCE = "Ioffe and Szegedy, \"Batch Normalization\", ICML 2015, Figure 1"
CLAIM = ("A 3-hidden-layer sigmoid MLP on MNIST trains faster and reaches a higher test "
         "accuracy with batch normalization (Figure 1a), and the distribution of a "
         "sigmoid's input stays stable with it while it drifts without (Figures 1b, c).")
CRITERION = ("With BN the test accuracy after a fifth of the steps is at least 10 points "
             "above the accuracy without it, and the final test accuracy is higher; the "
             "inputs of the last hidden layer's sigmoids drift at least twice as far "
             "(median travel over spread) without BN as with it.")

PERCENTILES = (15, 50, 85)
LR, BATCH, PROBE = 0.5, 60, 500


def _net(bn):
    layers, width = [], 784
    for _ in range(3):
        layers += [nn.Linear(width, 100), *([nn.BatchNorm1d(100)] if bn else []), nn.Sigmoid()]
        width = 100
    return nn.Sequential(*layers, nn.Linear(width, 10))


def _train(bn, x, y, x_test, y_test, steps, seed):
    common.seed_all(seed)
    model = _net(bn)
    last_sigmoid = [m for m in model.modules() if isinstance(m, nn.Sigmoid)][-1]
    seen = {}
    hook = last_sigmoid.register_forward_hook(
        lambda module, inputs, output: seen.__setitem__("z", inputs[0]._data.copy()))
    opt = dg.optim.SGD(model.parameters(), lr=LR)
    rng = np.random.default_rng(seed)
    probe = dg.tensor(x[rng.choice(len(x), PROBE, replace=False)])
    xt, yt = common.tensors(x_test, y_test)
    every = max(1, steps // 30)
    accuracy, percentiles = [], []
    for step in range(steps + 1):
        if step % every == 0:
            accuracy.append((step, common.accuracy_of(model, xt, yt)))
            model.eval()
            with dg.no_grad():
                model(probe)
            model.train()
            percentiles.append(np.percentile(seen["z"], PERCENTILES, axis=0))  # (3, 100)
        if step == steps:
            break
        idx = rng.integers(0, len(x), BATCH)
        opt.zero_grad()
        common.cross_entropy(model(dg.tensor(x[idx])), dg.tensor(y[idx])).backward()
        opt.step()
    hook.remove()
    p = np.array(percentiles)  # (records, 3, units)
    spread = (p[:, 2] - p[:, 0]).mean(axis=0)
    drift = np.abs(np.diff(p[:, 1], axis=0)).sum(axis=0) / spread
    return {"accuracy": accuracy, "unit0_percentiles": [common.floats(r) for r in p[:, :, 0]],
            "drift_per_unit": common.floats(drift), "mean_drift": float(drift.mean())}


def run(quick=True, seed=0, out_dir=None):
    steps = 1500 if quick else 6000
    x, y = common.mnist_images("train", seed)
    x_test, y_test = common.mnist_images("test", seed)
    nets = {name: _train(name == "bn", x, y, x_test, y_test, steps, seed)
            for name in ("plain", "bn")}
    return {"steps": steps, "lr": LR, "batch": BATCH, "n_train": len(x), "nets": nets}


def _accuracy_at(net, fraction, steps):
    return next(a for s, a in net["accuracy"] if s >= fraction * steps)


def checks(numbers):
    plain, bn, steps = numbers["nets"]["plain"], numbers["nets"]["bn"], numbers["steps"]
    return [Check("test accuracy after a fifth of the steps, with BN - without",
                  _accuracy_at(bn, 0.2, steps) - _accuracy_at(plain, 0.2, steps), ">=", 0.1,
                  published="BN faster (Fig. 1a)"),
            Check("final test accuracy, with BN - without",
                  bn["accuracy"][-1][1] - plain["accuracy"][-1][1], ">", 0,
                  published="BN higher (Fig. 1a)"),
            Check("drift of the sigmoids' inputs, without BN / with",
                  ratio(plain["mean_drift"], bn["mean_drift"]), ">=", 2, scale="log",
                  published="stable with BN (Fig. 1b, c)")]


def verdict(numbers):
    plain, bn, steps = numbers["nets"]["plain"], numbers["nets"]["bn"], numbers["steps"]
    text = (f"{steps} SGD steps (lr {numbers['lr']:g}, batch {numbers['batch']}) on "
            f"{numbers['n_train']} MNIST images (the paper: 50,000 steps on 60,000): test "
            f"accuracy after {steps // 5} steps {_accuracy_at(plain, 0.2, steps):.3f} without "
            f"BN, {_accuracy_at(bn, 0.2, steps):.3f} with; at the end "
            f"{plain['accuracy'][-1][1]:.3f} and {bn['accuracy'][-1][1]:.3f}. Mean drift of "
            f"the last hidden layer's sigmoid inputs: {plain['mean_drift']:.2f} without BN, "
            f"{bn['mean_drift']:.2f} with.")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 3, size=(4.2, 3.8))
    nets = numbers["nets"]
    ax = axes[0]
    for name, color, label in (("plain", "C3", "without BN"), ("bn", "C0", "with BN")):
        curve = np.array(nets[name]["accuracy"])
        ax.plot(curve[:, 0], curve[:, 1], color=color, label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy")
    ax.set_title("(a) test accuracy")
    ax.legend(fontsize=8)
    every = max(1, numbers["steps"] // 30)
    for ax, name, title in ((axes[1], "plain", "(b) without BN"), (axes[2], "bn", "(c) with BN")):
        p = np.array(nets[name]["unit0_percentiles"])
        steps = np.arange(len(p)) * every
        for i, (q, style) in enumerate(zip(PERCENTILES, (":", "-", ":"))):
            ax.plot(steps, p[:, i], style, color="k", label=f"{q}th percentile")
        ax.set_xlabel("training step")
        ax.set_ylabel("input of one last-layer sigmoid")
        ax.set_title(f"{title}: drift {nets[name]['mean_drift']:.2f}")
        ax.legend(fontsize=7)
    return common.save(fig, path, TITLE + " (5,000-image MNIST subset)")
