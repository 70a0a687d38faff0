"""Linearization may need higher dimensions.

Data: a disk of one class inside a ring of the other (``circles``, inner radius 0.3,
outer radius 1, noise 0.05). Net: 2 inputs -> H tanh hidden units -> 2 logits, so the
output layer draws a straight line (plane) through the hidden representation. The
hidden layer has to make the classes linearly separable.

With H = 2 it cannot: the decision region is a function of two ridge functions
tanh(w_i . x + b_i), whose level sets are straight lines; at best it cuts a band out of
the ring (the disk's neighbours above and below the band stay misclassified). With H = 3
the three lines can enclose the disk in a triangle, and the hidden representation lifts
the disk away from the ring. Each width is trained from several initialisations (Adam,
full batch) and the best run is kept, so a failure is not bad luck.
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import circles

from deepgrad import plotting
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, verdict as judged

NAME = "linearization"
TITLE = "Linearization: may need higher dimensions"
CLAIM = ("Linearization: may need higher dimensions (a hidden layer must make the classes "
         "linearly separable, and in the plane it may not manage).")
CRITERION = ("On a disk inside a ring, the best of several 2-H-2 tanh nets reaches a "
             "training accuracy below 95% with H = 2 hidden units and at least 99% with "
             "H = 3.")

WIDTHS = (2, 3)


def _net(width):
    return nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, 2))


def run(quick=True, seed=0, out_dir=None):
    n, steps, restarts = (400, 1000, 3) if quick else (1000, 3000, 6)
    x, y = circles(n, noise=0.05, factor=0.3, seed=seed)
    xt, yt = common.tensors(x, y)
    g = np.linspace(-1.4, 1.4, 141, dtype=np.float32)
    grid = dg.tensor(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2))
    nets = {}
    for width in WIDTHS:
        best, accuracies = None, []
        for r in range(restarts):
            common.seed_all(seed * 1000 + r)
            model = _net(width)
            opt = dg.optim.Adam(model.parameters(), lr=0.05)
            for _ in range(steps):
                train_step(model, common.cross_entropy, opt, xt, yt)
            acc = common.accuracy_of(model, xt, yt)
            accuracies.append(acc)
            if best is None or acc > best[0]:
                best = (acc, model, r)
        acc, model, r = best
        with dg.no_grad():
            hidden = model[1](model[0](xt))._data
            region = model(grid)._data.argmax(axis=1)
        nets[str(width)] = {"hidden_units": width, "accuracies": accuracies,
                            "best_accuracy": acc, "best_restart": r,
                            "hidden": np.round(hidden, 4).tolist(),
                            "region": region.astype(int).tolist()}
    return {"n_samples": n, "steps": steps, "restarts": restarts, "x": x.tolist(),
            "y": y.tolist(), "grid": g.tolist(), "nets": nets}


def checks(numbers):
    nets = numbers["nets"]
    return [Check("best training accuracy, 2 hidden units", nets["2"]["best_accuracy"], "<", 0.95),
            Check("best training accuracy, 3 hidden units", nets["3"]["best_accuracy"], ">=",
                  0.99)]


def verdict(numbers):
    two, three = numbers["nets"]["2"]["best_accuracy"], numbers["nets"]["3"]["best_accuracy"]
    text = (f"best training accuracy over {numbers['restarts']} initialisations: "
            f"{two:.3f} with 2 hidden units, {three:.3f} with 3.")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig = plotting.figure(figsize=(16, 4.2))
    x, y = np.array(numbers["x"]), np.array(numbers["y"])
    g = np.array(numbers["grid"])
    for i, width in enumerate(WIDTHS):
        net = numbers["nets"][str(width)]
        ax = fig.add_subplot(1, 4, 2 * i + 1)
        region = np.array(net["region"]).reshape(len(g), len(g))
        ax.contourf(g, g, region, levels=[-0.5, 0.5, 1.5], colors=["#cfe0f0", "#fbdcc0"])
        for k, name in ((0, "ring (class 0)"), (1, "disk (class 1)")):
            ax.scatter(x[y == k, 0], x[y == k, 1], s=5, color=f"C{k}", label=name)
        ax.set_aspect("equal")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_title(f"H = {width}: input space, accuracy {net['best_accuracy']:.3f}",
                     fontsize=10)
        ax.legend(fontsize=7, loc="upper right")
        h = np.array(net["hidden"])
        if width == 2:
            ax = fig.add_subplot(1, 4, 2 * i + 2)
            for k, name in ((0, "ring (class 0)"), (1, "disk (class 1)")):
                ax.scatter(h[y == k, 0], h[y == k, 1], s=5, color=f"C{k}", label=name)
            ax.set_xlabel("hidden unit 1 (tanh)")
            ax.set_ylabel("hidden unit 2 (tanh)")
        else:
            ax = fig.add_subplot(1, 4, 2 * i + 2, projection="3d")
            for k, name in ((0, "ring (class 0)"), (1, "disk (class 1)")):
                ax.scatter(h[y == k, 0], h[y == k, 1], h[y == k, 2], s=4, color=f"C{k}",
                           label=name)
            ax.set_xlabel("unit 1")
            ax.set_ylabel("unit 2")
            ax.set_zlabel("unit 3")
            ax.view_init(elev=20, azim=-60)
        ax.set_title(f"H = {width}: hidden representation", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    return common.save(fig, path, TITLE + " (2-H-2 tanh nets on a disk inside a ring)")
