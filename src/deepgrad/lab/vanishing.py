"""Vanishing gradients: 10 sigmoid layers against 10 ReLU layers.

Two nets of 10 hidden layers of width 64 and a linear output layer on the 8x8 digits,
identical except for the activation. Both start from the same weights, drawn with He
(Kaiming normal) initialisation, biases zero, so the activation is the only difference.
Both train with the same SGD (lr 0.02, momentum 0.9, minibatches of 64).

Measured with ``deepgrad.diagnostics.GradientFlowMonitor``: the gradient norm
||dL/dW_l|| of every layer, at initialisation and every k steps. With forward hooks on
the Sigmoid modules: the slope sigma'(z) = s (1 - s) of every unit, the factor by which
the backward signal is scaled when it crosses the nonlinearity (at most 1/4, at z = 0).
``deepgrad.train.Probes`` records the same training: the report shows the distribution of
every layer's output gradient over the steps, and the saturated units.
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.diagnostics import GradientFlowMonitor
from deepgrad.nn import init
from deepgrad.train import Callback, Probes, Trainer

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "vanishing-gradients"
TITLE = "Vanishing gradients: sigmoid vs ReLU, 10 layers"
CLAIM = ("Vanishing gradients problem: gradient signal scaling < 1 (actually < 0.25) from "
         "above; do this 10 times: updates in the first layers get minimal; top layer knows "
         "what to do, lower layers 'don't get it'. ReLU solves it: scaling {0, 1}.")
CRITERION = ("In the sigmoid net every measured slope sigma'(z) is at most 0.25; at "
             "initialisation its first layer's gradient norm is below 1e-3 times its last "
             "layer's, while in the ReLU net it is above 0.1 times; after the same training "
             "the sigmoid net's first layer still gets below 1e-3 of the last layer's "
             "gradient and the ReLU net reaches the lower training loss.")

DEPTH, WIDTH = 10, 64


def _net(activation):
    layers, width = [], 64
    for _ in range(DEPTH):
        linear = nn.Linear(width, WIDTH)
        init.kaiming_normal_(linear.weight, nonlinearity="relu")
        init.zeros_(linear.bias)
        layers += [linear, nn.Sigmoid() if activation == "sigmoid" else nn.ReLU()]
        width = WIDTH
    out = nn.Linear(width, 10)
    init.kaiming_normal_(out.weight, nonlinearity="relu")
    init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


class _Record(Callback):
    """The experiment's own measurements, taken while ``Trainer`` trains: the gradient
    flow (after each step; the optimizer leaves ``.grad`` as backward left it) and the
    training loss over the whole set after every epoch."""

    def __init__(self, every, x, y):
        self.every, self.x, self.y = every, x, y
        self.monitor, self.losses = None, []

    def on_train_begin(self, trainer):
        self.monitor = GradientFlowMonitor(trainer.model, every=self.every)
        self.losses.append(common.loss_of(trainer.model, common.cross_entropy, self.x, self.y))

    def on_batch_end(self, trainer, logs):
        self.monitor.step()

    def on_epoch_end(self, trainer, epoch, logs):
        self.losses.append(common.loss_of(trainer.model, common.cross_entropy, self.x, self.y))

    def on_train_end(self, trainer):
        self.monitor.remove()


def _train(activation, x, y, epochs, every, seed):
    common.seed_all(seed)
    model = _net(activation)
    slopes = []  # per Sigmoid layer: (mean, max) of s (1 - s) on the first batch

    def slope_hook(module, inputs, output):
        if len(slopes) < DEPTH:
            s = output._data.astype(np.float64)
            d = s * (1 - s)
            slopes.append((float(d.mean()), float(d.max())))

    handles = [m.register_forward_hook(slope_hook) for m in model.modules()
               if isinstance(m, nn.Sigmoid)]
    opt = dg.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=seed)
    xt, yt = common.tensors(x, y)
    record, probes = _Record(every, xt, yt), Probes(every=every)
    Trainer(model, common.cross_entropy, opt, loader, metrics=(),
            callbacks=[record, probes]).fit(epochs)
    for h in handles:
        h.remove()
    records = record.monitor.records
    steps = sorted({r["step"] for r in records})
    norms = {str(s): [r["grad_norm"] for r in records if r["step"] == s] for s in steps}
    return {"grad_norms": norms, "loss": common.floats(record.losses),
            "accuracy": common.accuracy_of(model, xt, yt),
            "slope_mean": [m for m, _ in slopes], "slope_max": [m for _, m in slopes],
            "probes": probes.to_dict()}


def run(quick=True, seed=0, out_dir=None):
    epochs, every = (8, 23) if quick else (40, 115)
    x, y = dg.data.load("digits", split="train", seed=seed)
    nets = {a: _train(a, x, y, epochs, every, seed) for a in ("sigmoid", "relu")}
    return {"depth": DEPTH, "width": WIDTH, "epochs": epochs, "nets": nets}


def _ratio(norms):
    return norms[0] / norms[-1] if norms[-1] > 0 else float("inf")


def checks(numbers):
    sig, relu = numbers["nets"]["sigmoid"], numbers["nets"]["relu"]
    last = max(sig["grad_norms"], key=int)
    s_loss, r_loss = sig["loss"][-1], relu["loss"][-1]
    return [Check("largest sigmoid slope s(1 - s)",
                  max(sig["slope_max"]) if sig["slope_max"] else None, "<=", 0.25,
                  over="every"),
            Check("first/last layer gradient norm at init, sigmoid",
                  _ratio(sig["grad_norms"]["0"]), "<", 1e-3, scale="log"),
            Check("first/last layer gradient norm at init, ReLU",
                  _ratio(relu["grad_norms"]["0"]), ">", 0.1, scale="log"),
            Check("first/last layer gradient norm after training, sigmoid",
                  _ratio(sig["grad_norms"][last]), "<", 1e-3, scale="log"),
            Check("final training loss, ReLU / sigmoid",
                  ratio(r_loss, float("inf") if s_loss is None else s_loss), "<", 1,
                  scale="log")]


def verdict(numbers):
    sig, relu = numbers["nets"]["sigmoid"], numbers["nets"]["relu"]
    last = max(sig["grad_norms"], key=int)
    max_slope = max(sig["slope_max"]) if sig["slope_max"] else None
    sig0, relu0 = _ratio(sig["grad_norms"]["0"]), _ratio(relu["grad_norms"]["0"])
    sig_end = _ratio(sig["grad_norms"][last])
    per_layer = sig0 ** (1 / (len(sig["grad_norms"]["0"]) - 1))
    s_loss, r_loss = sig["loss"][-1], relu["loss"][-1]
    text = (f"sigmoid slopes: mean {np.mean(sig['slope_mean']):.3f}, max "
            f"{max_slope if max_slope is None else round(max_slope, 4)} (bound 0.25). "
            f"First/last layer gradient norm at init: sigmoid {sig0:.2e} (x{per_layer:.2f} "
            f"per layer), ReLU {relu0:.2f}; sigmoid at step {last}: {sig_end:.2e}. "
            f"Training loss after {numbers['epochs']} epochs: sigmoid {s_loss:.3f} "
            f"(accuracy {sig['accuracy']:.2f}), ReLU {r_loss:.3f} (accuracy "
            f"{relu['accuracy']:.2f}).")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(2, 2, size=(5.2, 3.7))
    nets = numbers["nets"]
    colors = {"sigmoid": "C3", "relu": "C0"}
    ax = axes[0]
    for a, net in nets.items():
        g = net["grad_norms"]["0"]
        ax.semilogy(range(1, len(g) + 1), g, "o-", color=colors[a], label=a)
    g = nets["sigmoid"]["grad_norms"]["0"]
    depth = np.arange(1, len(g) + 1)
    ax.semilogy(depth, g[-1] * 0.25 ** (len(g) - depth), ":", color="0.4",
                label="x 0.25 per layer (from the top)")
    ax.set_xlabel(f"weight layer (1 = input side, {len(g)} = output)")
    ax.set_ylabel("gradient norm ||dL/dW||")
    ax.set_title("at initialisation")
    ax.legend(fontsize=8)
    ax = axes[1]
    sig = nets["sigmoid"]
    layers = np.arange(1, len(sig["slope_mean"]) + 1)
    ax.bar(layers - 0.2, sig["slope_mean"], 0.4, color="C3", alpha=0.6, label="mean")
    ax.bar(layers + 0.2, sig["slope_max"], 0.4, color="C3", label="max")
    ax.axhline(0.25, color="k", ls="--", lw=1, label="0.25 = sigma'(0)")
    ax.set_xlabel("sigmoid layer")
    ax.set_ylabel("slope sigma'(z) = s(1 - s)")
    ax.set_title("the sigmoid's scaling of the backward signal")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[2]
    for a, net in nets.items():
        steps = sorted(net["grad_norms"], key=int)
        ax.semilogy([int(s) for s in steps], [_ratio(net["grad_norms"][s]) for s in steps],
                    "o-", color=colors[a], label=a)
    ax.set_xlabel("training step")
    ax.set_ylabel("||dL/dW_first|| / ||dL/dW_last||")
    ax.set_title("during training")
    ax.legend(fontsize=8)
    ax = axes[3]
    for a, net in nets.items():
        ax.plot([np.nan if v is None else v for v in net["loss"]], "o-", color=colors[a],
                label=f"{a}: accuracy {net['accuracy']:.2f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title("training")
    ax.legend(fontsize=8)
    return common.save(fig, path, TITLE + f" (width {numbers['width']}, He init, 8x8 digits)")


def probes(numbers, figures_dir):
    """The training probes of both nets: the gradient dL/dy of every layer's output over
    training (the sigmoid net's fades towards the input) and its saturated units."""
    return common.probe_figures(
        NAME, {a: net["probes"] for a, net in numbers["nets"].items()},
        ("probes_gradients.png", "probes_saturation.png"), figures_dir)
