"""Fully connected vs locally connected vs convolutional layers.

The course's example, counted with ``nn.count_parameters`` (nothing is allocated): a
200x200 image mapped to 40,000 hidden units (one 200x200 map, 'same' padding):

* fully connected: 40,000 x 40,000 weights, 1.6e9 (the slide: "~2B parameters");
* locally connected, 10x10 filters: 40,000 x 100 = 4e6 ("4M parameters");
* convolutional: one shared 10x10 filter, 100.

Then the three as the hidden layer of the same classifier on the same 8x8 digit images
(a 500-image training subset: "we have not enough training samples anyway"): 8 feature
maps of 8x8 from a 3x3 receptive field ('same' padding), ReLU, then one shared
Linear(512, 10). Each trains with Adam (lr 3e-3, minibatches of 50) from its own
initialisation; measured: hidden-layer parameters, test accuracy (the 360 test images),
and training time per epoch.
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.nn import count_parameters
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "connectivity"
TITLE = "Fully connected vs locally connected vs convolutional"
CLAIM = ("Fully connected layer: 200x200 image, 40K hidden units, ~2B parameters; spatial "
         "correlation is local, a waste of resources, and we have not enough training "
         "samples anyway. Locally connected layer, 10x10 filters: 4M parameters. "
         "Convolutional layer: share the same parameters across different locations.")
CRITERION = ("The counts of the course's example come out as on the slides (fully "
             "connected between 1e9 and 2.5e9, '~2B'; locally connected within 5% of 4e6; "
             "convolutional 100 per filter); and on the digits the convolutional hidden "
             "layer, with less than 1% of the fully connected layer's parameters, comes "
             "within 2 points of its test accuracy (the extra parameters are a waste of "
             "resources).")

CHANNELS, KERNEL, SIDE = 8, 3, 8


def course_counts():
    """The slide's example: 200x200 input, 40,000 hidden units, 10x10 filters, no bias."""
    side, hidden, k = 200, 200 * 200, 10
    return {
        "fully_connected": count_parameters(("Linear", dict(
            in_features=side * side, out_features=hidden, bias=False))),
        "locally_connected": count_parameters(("LocallyConnected2d", dict(
            in_channels=1, out_channels=1, input_size=side, kernel_size=k, padding="same",
            bias=False))),
        "convolutional": count_parameters(("Conv2d", dict(
            in_channels=1, out_channels=1, kernel_size=k, bias=False))),
    }


def _hidden(kind):
    units = CHANNELS * SIDE * SIDE
    if kind == "fully_connected":
        return nn.Sequential(nn.Flatten(), nn.Linear(SIDE * SIDE, units))
    if kind == "locally_connected":
        return nn.LocallyConnected2d(1, CHANNELS, SIDE, KERNEL, padding=1)
    return nn.Conv2d(1, CHANNELS, KERNEL, padding=1)


KINDS = ("fully_connected", "locally_connected", "convolutional")


def run(quick=True, seed=0, out_dir=None):
    epochs = 15 if quick else 60
    x, y = dg.data.load("digits-images", split="train", seed=seed)
    xs, ys = dg.data.load("digits-images", split="test", seed=seed)
    pick = np.random.default_rng(seed).permutation(len(x))[:500]
    x, y = x[pick], y[pick]
    xt, yt, xst, yst = common.tensors(x, y, xs, ys)
    nets = {}
    for kind in KINDS:
        common.seed_all(seed)
        hidden = _hidden(kind)
        model = nn.Sequential(hidden, nn.ReLU(), nn.Flatten(),
                              nn.Linear(CHANNELS * SIDE * SIDE, 10))
        opt = dg.optim.Adam(model.parameters(), lr=3e-3)
        loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True, seed=seed)
        curve = [common.accuracy_of(model, xst, yst)]
        seconds = 0.0
        for _ in range(epochs):
            with common.Stopwatch() as watch:
                for xb, yb in loader:
                    train_step(model, common.cross_entropy, opt, xb, yb)
            seconds += watch.seconds
            curve.append(common.accuracy_of(model, xst, yst))
        nets[kind] = {"hidden_parameters": count_parameters(hidden),
                      "total_parameters": count_parameters(model),
                      "test_accuracy": curve[-1], "accuracy_curve": curve,
                      "train_accuracy": common.accuracy_of(model, xt, yt),
                      "epoch_seconds": seconds / epochs}
    return {"course": course_counts(), "n_train": len(x), "epochs": epochs, "nets": nets}


def table(numbers):
    c = numbers["course"]
    rows = [["layer", "course example (200x200 -> 40K units)", "digits: hidden params",
             "digits: test acc.", "train acc.", "s / epoch"]]
    for kind in KINDS:
        n = numbers["nets"][kind]
        rows.append([kind.replace("_", " "), f"{c[kind]:,}", f"{n['hidden_parameters']:,}",
                     f"{n['test_accuracy']:.3f}", f"{n['train_accuracy']:.3f}",
                     f"{n['epoch_seconds']:.3f}"])
    return rows


def checks(numbers):
    c, nets = numbers["course"], numbers["nets"]
    conv, fc = nets["convolutional"], nets["fully_connected"]
    return [Check("course example, fully connected parameters", c["fully_connected"], ">=", 1e9,
                  over="every"),
            Check("course example, fully connected parameters (at most)", c["fully_connected"],
                  "<=", 2.5e9, over="every"),
            Check("course example, locally connected parameters / 4M, off by",
                  abs(c["locally_connected"] / 4e6 - 1), "<=", 0.05, over="every"),
            Check("course example, convolution parameters off 100 by",
                  abs(c["convolutional"] - 100), "<=", 0, over="every"),
            Check("hidden parameters, convolution / fully connected",
                  ratio(conv["hidden_parameters"], fc["hidden_parameters"]), "<", 0.01,
                  scale="log"),
            Check("test accuracy, convolution - fully connected",
                  conv["test_accuracy"] - fc["test_accuracy"], ">=", -0.02)]


def verdict(numbers):
    c, nets = numbers["course"], numbers["nets"]
    text = (f"course example: fully connected {c['fully_connected']:.3g}, locally connected "
            f"{c['locally_connected']:.3g}, convolutional {c['convolutional']} parameters. "
            f"On {numbers['n_train']} digit images: " + "; ".join(
                f"{k.replace('_', ' ')} {nets[k]['hidden_parameters']:,} hidden parameters, "
                f"test accuracy {nets[k]['test_accuracy']:.3f}" for k in KINDS) + ".")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 3, size=(4.5, 3.9))
    labels = {"fully_connected": "fully connected", "locally_connected": "locally connected",
              "convolutional": "convolutional"}
    colors = {"fully_connected": "C3", "locally_connected": "C1", "convolutional": "C0"}
    c, nets = numbers["course"], numbers["nets"]
    ax = axes[0]
    ax.bar(range(3), [c[k] for k in KINDS], color=[colors[k] for k in KINDS])
    ax.set_yscale("log")
    for i, k in enumerate(KINDS):
        ax.text(i, c[k] * 1.3, f"{c[k]:.3g}", ha="center", fontsize=8)
    ax.set_xticks(range(3), [labels[k].replace(" ", "\n") for k in KINDS], fontsize=8)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("parameters")
    ax.set_title("the course's example: 200x200 image,\n40K hidden units, 10x10 filters",
                 fontsize=9)
    ax.set_ylim(10, 1e11)
    ax = axes[1]
    for k in KINDS:
        ax.plot(nets[k]["accuracy_curve"], "o-", ms=3, color=colors[k],
                label=f"{labels[k]} ({nets[k]['hidden_parameters']:,} params)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"8x8 digits, {numbers['n_train']} training images", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[2]
    for k in KINDS:
        n = nets[k]
        ax.scatter(n["hidden_parameters"], n["test_accuracy"], s=40 + 4000 *
                   n["epoch_seconds"], color=colors[k], label=f"{labels[k]}: "
                   f"{1000 * n['epoch_seconds']:.0f} ms/epoch")
    ax.set_xscale("log")
    accs = [nets[k]["test_accuracy"] for k in KINDS]
    ax.set_ylim(min(accs) - 0.6 * (max(accs) - min(accs) + 0.01),
                max(accs) + 0.3 * (max(accs) - min(accs) + 0.01))
    ax.set_xlim(20, 3e5)
    ax.set_xlabel("hidden-layer parameters")
    ax.set_ylabel("final test accuracy")
    ax.set_title("accuracy, parameters and time\n(marker area ~ training time)", fontsize=9)
    ax.legend(fontsize=7, loc="lower center")
    return common.save(fig, path, TITLE)
