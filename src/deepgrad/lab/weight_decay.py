"""Overfitting, and weight decay against it.

Two over-parameterised nets trained on few samples, full batch, with SGD (momentum 0.9)
and L2 weight decay lambda (``SGD(weight_decay=lambda)`` adds lambda * w to the gradient,
the gradient of the per-layer penalty lambda/2 ||W||^2 of the slide):

* regression: y = sin(2 pi x) + noise (sigma 0.3), 12 training points, a 1-100-100-1 tanh
  MLP, mean squared error; the gap is test MSE minus training MSE;
* classification: two moons (noise 0.3), 30 training points, a 2-128-128-2 ReLU MLP,
  cross-entropy; the gap is test error minus training error.

The test sets hold 500 / 1000 fresh samples of the same distributions.
"""
import numpy as np

from deepgrad import nn
from deepgrad.data import regression_1d, two_moons

import deepgrad as dg
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "weight-decay"
TITLE = "Overfitting and weight decay"
CLAIM = ("Overfitting: a net that fits few samples too well generalises badly (in "
         "classification and in regression); l2 regularization (\"weight decay\": "
         "per-sample loss + per-layer regularization) counters it.")
CRITERION = ("For both the regression and the classifier: some lambda > 0 shrinks the "
             "train/test gap to at most two thirds of the gap without decay; some lambda "
             "> 0 gives a lower test loss (regression) or test error (classifier) than "
             "lambda = 0; and the largest lambda raises the training loss (decay trades "
             "fit for generalisation).")

DECAYS = (0.0, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


def _fit(layers, loss, lr, decay, steps, seed, x, y):
    """The net of ``layers`` (seeded) after ``steps`` full-batch SGD steps (momentum
    0.9) with weight decay ``decay``."""
    common.seed_all(seed)
    model = nn.Sequential(*layers())
    opt = dg.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=decay)
    for _ in range(steps):
        train_step(model, loss, opt, x, y)
    return model


def _regression(decays, steps, n, seed):
    x, y = regression_1d(n, noise=0.3, seed=seed + 1)
    xs, ys = regression_1d(500, noise=0.3, seed=seed + 1001)
    # inputs to [-2, 2] so that tanh units start in their working range
    xt, yt, xst, yst = common.tensors(4 * x - 2, y, 4 * xs - 2, ys)
    grid = np.linspace(0, 1, 200, dtype=np.float32)[:, None]
    runs = []
    def layers():
        return (nn.Linear(1, 100), nn.Tanh(), nn.Linear(100, 100), nn.Tanh(),
                nn.Linear(100, 1))
    for lam in decays:
        model = _fit(layers, common.mse, 0.05, lam, steps, seed, xt, yt)
        train = common.loss_of(model, common.mse, xt, yt)
        test = common.loss_of(model, common.mse, xst, yst)
        with dg.no_grad():
            curve = model(dg.tensor(4 * grid - 2))._data[:, 0]
        runs.append({"decay": lam, "train": common.finite(train), "test": common.finite(test),
                     "gap": common.finite(test - train), "curve": common.floats(curve)})
    return {"x": x[:, 0].tolist(), "y": y[:, 0].tolist(), "grid": grid[:, 0].tolist(),
            "n_train": n, "steps": steps, "runs": runs}


def _classifier(decays, steps, n, seed):
    x, y = two_moons(n, noise=0.3, seed=seed + 1)
    xs, ys = two_moons(1000, noise=0.3, seed=seed + 1001)
    xt, yt, xst, yst = common.tensors(x, y, xs, ys)
    runs = []
    def layers():
        return (nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                nn.Linear(128, 2))
    for lam in decays:
        model = _fit(layers, common.cross_entropy, 0.1, lam, steps, seed, xt, yt)
        train_err = 1 - common.accuracy_of(model, xt, yt)
        test_err = 1 - common.accuracy_of(model, xst, yst)
        runs.append({"decay": lam, "train": train_err, "test": test_err,
                     "gap": test_err - train_err,
                     "train_loss": common.finite(
                         common.loss_of(model, common.cross_entropy, xt, yt))})
    return {"n_train": n, "steps": steps, "runs": runs}


def run(quick=True, seed=0, out_dir=None):
    if quick:
        return {"regression": _regression(DECAYS, 1500, 12, seed),
                "classifier": _classifier(DECAYS, 400, 30, seed)}
    decays = DECAYS + (3e-4, 3e-1)
    decays = tuple(sorted(decays))
    return {"regression": _regression(decays, 5000, 12, seed),
            "classifier": _classifier(decays, 1500, 30, seed)}


PROBLEMS = (("regression", "train", "regression (MSE)"),
            ("classifier", "train_loss", "classifier (error)"))


def _runs(problem):
    """The run without decay, the decayed runs that did not diverge, the largest decay."""
    runs = problem["runs"]
    base = next(r for r in runs if r["decay"] == 0.0)
    decayed = [r for r in runs if r["decay"] > 0 and r["gap"] is not None]
    return base, decayed, max(runs, key=lambda r: r["decay"])


def checks(numbers):
    out = []
    for key, train_key, what in PROBLEMS:
        base, decayed, largest = _runs(numbers[key])
        best_gap = min((r["gap"] for r in decayed), default=None)
        best_test = min((r["test"] for r in decayed), default=None)
        out += [Check(f"{what}: smallest generalisation gap with decay / without",
                      ratio(best_gap, base["gap"]), "<=", 2 / 3),
                Check(f"{what}: best test value with decay / without",
                      ratio(best_test, base["test"]), "<", 1, scale="log"),
                Check(f"{what}: training value at the largest decay / without",
                      ratio(largest[train_key], base[train_key]), ">", 1,
                      scale="log")]
    return out


def _summary(problem, what):
    base, decayed, _ = _runs(problem)
    if not decayed or base["gap"] is None:
        return f"{what}: a run diverged"
    best_gap = min(decayed, key=lambda r: r["gap"])
    best_test = min(decayed, key=lambda r: r["test"])
    return (f"{what}: gap {base['gap']:.3g} without decay, {best_gap['gap']:.3g} at lambda "
            f"{best_gap['decay']:g}; test {base['test']:.3g} without decay, best "
            f"{best_test['test']:.3g} at lambda {best_test['decay']:g}")


def verdict(numbers):
    text = "; ".join(_summary(numbers[key], what) for key, _, what in PROBLEMS) + "."
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 3, size=(4.5, 3.9))
    reg, clf = numbers["regression"], numbers["classifier"]
    ax = axes[0]
    ax.plot(reg["grid"], np.sin(2 * np.pi * np.array(reg["grid"])), "k:", lw=1,
            label="true sin(2 pi x)")
    best = min((r for r in reg["runs"] if r["decay"] > 0), key=lambda r: r["test"])
    for r, color in ((reg["runs"][0], "C3"), (best, "C2")):
        ax.plot(reg["grid"], [np.nan if v is None else v for v in r["curve"]], color=color,
                label=f"lambda = {r['decay']:g}: test MSE {r['test']:.3f}")
    ax.plot(reg["x"], reg["y"], "ko", ms=4, label=f"{reg['n_train']} training points")
    ax.set_ylim(-2.2, 2.2)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("regression: the fits")
    ax.legend(fontsize=7, loc="lower left")
    for ax, problem, name, ylabel in (
            (axes[1], reg, "regression", "mean squared error"),
            (axes[2], clf, "classifier (two moons)", "error rate")):
        runs = problem["runs"]
        # lambda = 0 drawn at a tenth of the smallest decay, on a log axis
        lam = [r["decay"] or min(d["decay"] for d in runs if d["decay"] > 0) / 10
               for r in runs]
        ax.semilogx(lam, [r["train"] for r in runs], "o-", label="train")
        ax.semilogx(lam, [r["test"] for r in runs], "s-", label="test")
        ax.semilogx(lam, [r["gap"] for r in runs], "^--", color="0.4", label="gap (test - train)")
        ax.set_xlabel("weight decay lambda (leftmost point: lambda = 0)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name}: {problem['n_train']} samples, {problem['steps']} steps",
                     fontsize=9)
        ax.legend(fontsize=7)
    return common.save(fig, path, TITLE)
