"""The learning rate: too small, good, too large.

A linear layer ``nn.Linear(d, 1)`` fitted by full-batch gradient descent to the mean
squared error on d features of different scales. Its loss is quadratic with Hessian
H = (2 / n) [X 1]^T [X 1], so theory says where the boundary lies: gradient descent
converges iff lr < 2 / lambda_max(H), and diverges above it.

Every learning rate of a log-spaced grid (from 1e-3 to 10 times 2 / lambda_max) trains
the same initial weights for S steps in float64; two extra rates sit at 0.9 and
1.1 times the limit. A run diverged when its loss became
non-finite or exceeded 1e3 times the initial loss (it then stops). Three runs are drawn:
the smallest learning rate (too small), the one with the lowest final loss (good), and
the first that diverged (too large).
"""
import math

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "learning-rate"
TITLE = "Learning rate: too small, good, too large"
CLAIM = ("Learning rate: too small a step makes slow progress, a good one converges, "
         "too large a step overshoots and diverges.")
CRITERION = ("Over a log-spaced grid of learning rates (full-batch GD on a least-squares "
             "linear layer): the smallest rate's final loss is at least 10 times the best "
             "rate's; divergence is detected; and the measured boundary matches theory: "
             "every rate below 0.95 x 2/lambda_max converges and every rate above 1.05 x "
             "2/lambda_max diverges.")

BLOW_UP = 1e3


def _data(n, d, seed):
    rng = np.random.default_rng(seed)
    scales = np.linspace(0.5, 3.0, d)  # unequal feature scales: an elongated bowl
    x = rng.standard_normal((n, d)) * scales
    w = rng.standard_normal(d)
    y = x @ w + 0.5 + 0.1 * rng.standard_normal(n)
    return x, y[:, None]


def _train(x, y, lr, steps, seed):
    common.seed_all(seed)
    model = nn.Linear(x.shape[1], 1, dtype=np.float64)
    opt = dg.optim.SGD(model.parameters(), lr=lr)
    xt, yt = common.tensors(x, y)
    losses = []
    for _ in range(steps):
        losses.append(train_step(model, common.mse, opt, xt, yt))  # the loss before the step
        if not np.isfinite(losses[-1]) or losses[-1] > BLOW_UP * losses[0]:
            return losses, True
    losses.append(common.loss_of(model, common.mse, xt, yt))
    return losses, False


def run(quick=True, seed=0, out_dir=None):
    n, d, steps, points = (200, 5, 150, 17) if quick else (2000, 20, 1000, 41)
    x, y = _data(n, d, seed)
    design = np.hstack([x, np.ones((n, 1))])
    lam_max = float(np.linalg.eigvalsh(2.0 / n * design.T @ design).max())
    critical = 2.0 / lam_max
    # the log grid plus two rates just either side of the theoretical limit
    grid = critical * np.sort(np.concatenate([np.geomspace(1e-3, 10.0, points),
                                              [0.9, 1.1]]))
    runs = []
    for lr in grid:
        losses, diverged = _train(x, y, float(lr), steps, seed)
        runs.append({"lr": float(lr), "diverged": diverged,
                     "final_loss": None if diverged else common.finite(losses[-1]),
                     "loss": common.floats(losses)})
    return {"n_samples": n, "features": d, "steps": steps, "lambda_max": lam_max,
            "critical_lr": critical, "runs": runs}


def _picks(numbers):
    """Indices of the too-small, good and too-large runs (good/large may be None)."""
    runs = numbers["runs"]
    converged = [i for i, r in enumerate(runs) if not r["diverged"]]
    good = min(converged, key=lambda i: runs[i]["final_loss"]) if converged else None
    large = next((i for i, r in enumerate(runs) if r["diverged"]), None)
    return 0, good, large


def _wrong_sides(numbers):
    """The rates that diverged below 0.95 x 2/lambda_max, and converged above 1.05 x."""
    runs, crit = numbers["runs"], numbers["critical_lr"]
    return ([r["lr"] for r in runs if r["lr"] < 0.95 * crit and r["diverged"]],
            [r["lr"] for r in runs if r["lr"] > 1.05 * crit and not r["diverged"]])


def checks(numbers):
    runs = numbers["runs"]
    small, good, large = _picks(numbers)
    slowdown = math.nan
    if good is not None and not runs[small]["diverged"]:
        slowdown = ratio(runs[small]["final_loss"], runs[good]["final_loss"])
    wrong_below, wrong_above = _wrong_sides(numbers)
    return [Check("final loss of the smallest rate / the best rate's", slowdown, ">=", 10,
                  scale="log"),
            Check("rates of the grid that diverged", sum(r["diverged"] for r in runs), ">=", 1,
                  over="every"),
            Check("rates below 0.95 x 2/lambda_max that diverged", len(wrong_below), "<=", 0,
                  over="every"),
            Check("rates above 1.05 x 2/lambda_max that converged", len(wrong_above), "<=", 0,
                  over="every")]


def verdict(numbers):
    runs, crit = numbers["runs"], numbers["critical_lr"]
    small, good, large = _picks(numbers)
    if good is None:
        return judged(checks(numbers), "no learning rate of the grid converged")
    s_loss, g_loss = runs[small]["final_loss"], runs[good]["final_loss"]
    wrong_below, wrong_above = _wrong_sides(numbers)
    detected = large is not None
    text = (f"2/lambda_max = {crit:.4g}. Final loss after {numbers['steps']} steps: too small "
            f"(lr {runs[small]['lr']:.3g}) {s_loss:.4g}; best (lr {runs[good]['lr']:.3g}) "
            f"{g_loss:.4g}; ")
    text += (f"first divergence at lr {runs[large]['lr']:.4g} "
             f"= {runs[large]['lr'] / crit:.2f} x 2/lambda_max." if detected
             else "no divergence detected.")
    if wrong_below:
        text += f" Diverged below the limit: {wrong_below}."
    if wrong_above:
        text += f" Converged above the limit: {wrong_above}."
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, (ax1, ax2) = common.figure(1, 2, size=(5.2, 4.0))
    runs, crit = numbers["runs"], numbers["critical_lr"]
    small, good, large = _picks(numbers)
    for i, name, color in ((small, "too small", "C0"), (good, "good", "C2"),
                           (large, "too large", "C3")):
        if i is None:
            continue
        loss = [np.nan if v is None else v for v in runs[i]["loss"]]
        ax1.semilogy(loss, color=color, label=f"{name}: lr = {runs[i]['lr']:.3g}"
                     + (" (diverged)" if runs[i]["diverged"] else ""))
    ax1.set_xlabel("gradient-descent step")
    ax1.set_ylabel("training loss (MSE)")
    ax1.set_title("three learning rates")
    ax1.legend(fontsize=8)
    ok = [r for r in runs if not r["diverged"]]
    bad = [r for r in runs if r["diverged"]]
    ax2.loglog([r["lr"] for r in ok], [r["final_loss"] for r in ok], "o-", color="C2",
               label=f"final loss after {numbers['steps']} steps")
    if bad:
        top = max(r["final_loss"] for r in ok) if ok else 1.0
        ax2.plot([r["lr"] for r in bad], [top] * len(bad), "x", color="C3", ms=8,
                 label="diverged")
    ax2.axvline(crit, color="k", ls="--", lw=1, label=f"theory: 2/lambda_max = {crit:.3g}")
    ax2.set_xlabel("learning rate")
    ax2.set_ylabel("final training loss (MSE)")
    ax2.set_title("learning-rate sweep")
    ax2.legend(fontsize=8)
    return common.save(fig, path, TITLE)
