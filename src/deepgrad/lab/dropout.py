"""Dropout: test error with and without it, and the test-time approximation.

An over-parameterised 2-256-256-2 ReLU MLP is trained on 40 noisy two-moons samples
(Adam, full batch), once plainly and once with ``Dropout(0.5)`` after each hidden layer,
from the same initial weights. Test set: 1000 fresh samples.

Each training step runs a "decimated" net: every hidden unit is dropped with probability
p (deepgrad uses inverted dropout: kept units are scaled by 1/(1-p) during training, so the
test-time net is the full net with no scaling at all, which is the same as the slide's
"scale the weights by 1-p" on a net trained without the scaling).

The deterministic approximation: the full net's output (the log-odds z_1 - z_0 of the
last, linear layer) against the average output of M sampled decimated nets (train-mode
forward passes), for M = 1, 4, 16, ...; the gap shrinks towards the bias of the
approximation (exact for a linear net, small for this one).
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import two_moons
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "dropout"
TITLE = "Dropout: decimated nets, and their deterministic approximation"
CLAIM = ("Dropout: each sample is processed by a 'decimated' neural net; decimated nets "
         "are distinct classifiers that should all do the same job. Test time: "
         "deterministic approximation.")
CRITERION = ("On an over-parameterised MLP trained on few samples, dropout lowers both the "
             "test error and the test loss. The deterministic (full, scaled) net predicts "
             "the same class as the average of the largest number M of sampled decimated "
             "nets on at least 95% of the test points, and its mean distance to that "
             "average is at most half the mean distance of a single decimated net.")

P = 0.5


def _model(p):
    return nn.Sequential(nn.Linear(2, 256), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(256, 256), nn.ReLU(), nn.Dropout(p), nn.Linear(256, 2))


def _prob1(model, x):
    """Class-1 probability of each row (in the model's current mode), as NumPy."""
    with dg.no_grad():
        return dg.nn.functional.softmax(model(x), dim=1)._data[:, 1].astype(np.float64)


def _log_odds(model, x):
    """The net's output z_1 - z_0 (log-odds of class 1), as float64 NumPy."""
    with dg.no_grad():
        z = model(x)._data.astype(np.float64)
    return z[:, 1] - z[:, 0]


def run(quick=True, seed=0, out_dir=None):
    steps, samples = (500, (1, 4, 16, 64, 128)) if quick else (3000, (1, 4, 16, 64, 256,
                                                                      1024, 4096))
    x, y = two_moons(40, noise=0.3, seed=seed + 1)
    xs, ys = two_moons(1000, noise=0.3, seed=seed + 1001)
    xt, yt, xst, yst = common.tensors(x, y, xs, ys)
    g = np.linspace(-2.0, 3.0, 120, dtype=np.float32)
    grid = dg.tensor(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2))
    nets, models = {}, {}
    for p in (0.0, P):
        common.seed_all(seed)
        model = _model(p)
        opt = dg.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(steps):
            train_step(model, common.cross_entropy, opt, xt, yt)
        model.eval()
        nets[str(p)] = {"p": p, "train_error": 1 - common.accuracy_of(model, xt, yt),
                        "test_error": 1 - common.accuracy_of(model, xst, yst),
                        "test_loss": common.finite(
                            common.loss_of(model, common.cross_entropy, xst, yst)),
                        "grid_prob": np.round(_prob1(model, grid), 4).tolist()}
        models[str(p)] = model
    # the deterministic approximation, on the dropout net
    model = models[str(P)]
    model.eval()
    deterministic = _log_odds(model, xst)
    model.train()
    draws, total, done = [], np.zeros_like(deterministic), 0
    for m in samples:
        while done < m:
            total += _log_odds(model, xst)
            done += 1
        draws.append({"samples": m,
                      "mean_abs_diff": float(np.abs(total / m - deterministic).mean()),
                      "same_class": float(((total / m > 0) == (deterministic > 0))
                                          .mean())})
    model.eval()
    keep = np.arange(0, len(deterministic), 4)  # a quarter of the points, for the figure
    return {"steps": steps, "n_train": 40, "n_test": 1000, "p": P, "nets": nets,
            "x": x.tolist(), "y": y.tolist(), "grid": g.tolist(),
            "approximation": draws,
            "scatter": {"deterministic": np.round(deterministic[keep], 5).tolist(),
                        "average": np.round(total[keep] / done, 5).tolist()}}


def checks(numbers):
    plain, drop = numbers["nets"]["0.0"], numbers["nets"][str(numbers["p"])]
    single, most = numbers["approximation"][0], numbers["approximation"][-1]
    return [Check("test error with dropout - without", drop["test_error"] - plain["test_error"],
                  "<", 0),
            Check("test loss with dropout / without", ratio(drop["test_loss"], plain["test_loss"]),
                  "<", 1, scale="log"),
            Check(f"same class, deterministic net and the average of {most['samples']} "
                  f"decimated nets", most["same_class"], ">=", 0.95),
            Check("distance to the deterministic net, averaged nets / one decimated net",
                  ratio(most["mean_abs_diff"], single["mean_abs_diff"]), "<=", 0.5,
                  scale="log")]


def verdict(numbers):
    plain, drop = numbers["nets"]["0.0"], numbers["nets"][str(numbers["p"])]
    approx = numbers["approximation"]
    single, most = approx[0], approx[-1]
    text = (f"test error {plain['test_error']:.3f} without dropout, {drop['test_error']:.3f} "
            f"with p = {numbers['p']:g}; test loss {plain['test_loss']:.3g} vs "
            f"{drop['test_loss']:.3g}. Deterministic net vs the average of "
            f"{most['samples']} decimated nets: same class on {most['same_class']:.1%} of "
            f"the test points, mean |difference| of the log-odds "
            f"{most['mean_abs_diff']:.4f} (one decimated net: {single['mean_abs_diff']:.4f}).")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 3, size=(4.4, 4.0))
    g = np.array(numbers["grid"])
    x, y = np.array(numbers["x"]), np.array(numbers["y"])
    ax = axes[0]
    for key, color in (("0.0", "C3"), (str(numbers["p"]), "C2")):
        net = numbers["nets"][key]
        prob = np.array(net["grid_prob"]).reshape(len(g), len(g))
        ax.contour(g, g, prob, levels=[0.5], colors=color)
        ax.plot([], [], color=color, label=f"p = {net['p']:g}: test error "
                f"{net['test_error']:.3f}")
    ax.scatter(x[:, 0], x[:, 1], c=np.where(y == 1, "C1", "C0"), s=14, edgecolors="k",
               linewidths=0.4)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"decision boundaries, {numbers['n_train']} training points", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1]
    approx = numbers["approximation"]
    ax.loglog([a["samples"] for a in approx], [a["mean_abs_diff"] for a in approx], "o-",
              label="|average of M nets - deterministic|")
    m = np.array([a["samples"] for a in approx], dtype=float)
    ax.loglog(m, approx[0]["mean_abs_diff"] / np.sqrt(m), ":", color="0.5",
              label="1/sqrt(M) (sampling noise alone)")
    ax.set_xlabel("M, number of sampled decimated nets averaged")
    ax.set_ylabel("mean |difference| of the log-odds z1 - z0")
    ax.set_title("averaging decimated nets approaches the scaled net", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[2]
    sc = numbers["scatter"]
    ax.plot(sc["deterministic"], sc["average"], ".", ms=3, alpha=0.6,
            label="test points (a quarter)")
    lim = [min(sc["deterministic"]), max(sc["deterministic"])]
    ax.plot(lim, lim, "k--", lw=0.8, label="equal")
    ax.set_xlabel("deterministic net: log-odds z1 - z0")
    ax.set_ylabel(f"average of {approx[-1]['samples']} decimated nets: log-odds")
    ax.set_title("test time: deterministic approximation", fontsize=9)
    ax.legend(fontsize=7)
    return common.save(fig, path, TITLE)
