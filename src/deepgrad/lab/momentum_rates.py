"""Convergence rates of gradient descent and momentum, against the theory in Goh's "Why
Momentum Really Works" (Distill, 2017).

On a quadratic f(w) = 0.5 sum_i lambda_i w_i^2 whose curvatures run from mu = 1 to
L = kappa (the condition number), gradient descent with its best constant step
alpha = 2 / (mu + L) shrinks the error ||w_k - w*|| by the factor
(kappa - 1) / (kappa + 1) per step; with momentum (the heavy ball,
``SGD(lr=alpha, momentum=beta)`` in PyTorch's form) at its best parameters
alpha = (2 / (sqrt L + sqrt mu))^2 and beta = ((sqrt kappa - 1) / (sqrt kappa + 1))^2,
by (sqrt kappa - 1) / (sqrt kappa + 1): the square root of the condition number
instead of the condition number itself.

Measured: each run starts at a random point (the seed's), takes ``steps`` steps with
``dg.optim.SGD`` in float64, and the rate is exp of the slope of log ||w_k|| fitted over
the second half of the steps (where the slowest direction dominates; at momentum's
optimum the two roots coincide and the error decays like k rho^k, whose factor k the
late fit makes negligible).
"""
import math

import numpy as np

import deepgrad as dg
from deepgrad.nn import Parameter

from . import _common as common
from .verdicts import Check, verdict as judged

NAME = "momentum-rates"
TITLE = "Momentum's rate, against the theory (Goh, 2017)"
SOURCE = "Goh, \"Why Momentum Really Works\", Distill 2017"
CLAIM = ("On a quadratic of condition number kappa, gradient descent at its optimal step "
         "converges at the rate (kappa-1)/(kappa+1), momentum at its optimal parameters at "
         "(sqrt(kappa)-1)/(sqrt(kappa)+1).")
CRITERION = ("For kappa in 10, 100, 1000, the error each method removes per step (1 - "
             "its measured rate) is within 5% of what the published formula says.")

KAPPAS = (10.0, 100.0, 1000.0)
DIM = 8


def theory(kappa):
    """The published rates: (gradient descent's, momentum's)."""
    root = math.sqrt(kappa)
    return (kappa - 1) / (kappa + 1), (root - 1) / (root + 1)


def optimal(kappa, method):
    """(learning rate, momentum) at the method's optimum, for mu = 1, L = kappa."""
    if method == "gd":
        return 2 / (1 + kappa), 0.0
    root = math.sqrt(kappa)
    return (2 / (root + 1)) ** 2, ((root - 1) / (root + 1)) ** 2


def _errors(kappa, method, start, steps):
    curvatures = dg.tensor(np.geomspace(1.0, kappa, DIM))  # mu = 1 ... L = kappa
    w = Parameter(start.copy())
    lr, beta = optimal(kappa, method)
    opt = dg.optim.SGD([w], lr=lr, momentum=beta)
    errors = [float(np.linalg.norm(start))]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (curvatures * w * w).sum()).backward()
        opt.step()
        errors.append(float(np.linalg.norm(w._data)))
    return errors


FLOOR = 1e-250
"""Errors below this are left out of the fit (a fast run reaches float64's underflow)."""


def measured_rate(errors):
    """exp of the least-squares slope of log(error) over the second half of the steps
    whose error is above FLOOR."""
    errors = np.asarray(errors)
    usable = int(np.argmax(errors < FLOOR)) if (errors < FLOOR).any() else len(errors)
    k = np.arange(usable)[usable // 2:]
    return float(math.exp(np.polyfit(k, np.log(errors[k]), 1)[0]))


def run(quick=True, seed=0, out_dir=None):
    rng = common.seed_all(seed)
    steps = 1500 if quick else 4000
    runs = {}
    for kappa in KAPPAS:
        start = rng.standard_normal(DIM)
        gd_theory, momentum_theory = theory(kappa)
        for method, published in (("gd", gd_theory), ("momentum", momentum_theory)):
            errors = _errors(kappa, method, start, steps)
            runs[f"{method} {kappa:g}"] = {
                "kappa": kappa, "method": method, "published": published,
                "rate": measured_rate(errors), "lr": optimal(kappa, method)[0],
                "momentum": optimal(kappa, method)[1],
                "errors": [e if e >= FLOOR else None for e in common.floats(errors[::10])]}
    return {"steps": steps, "dim": DIM, "runs": runs}


def checks(numbers):
    return [Check(f"{'momentum' if r['method'] == 'momentum' else 'GD'} at kappa "
                  f"{r['kappa']:g}: 1 - rate (the error removed per step)", 1 - r["rate"],
                  "~=", 1 - r["published"], tolerance=0.05 * (1 - r["published"]),
                  published=f"rate {r['published']:.4f}")
            for r in numbers["runs"].values()]


def verdict(numbers):
    parts = [f"kappa {r['kappa']:g} {r['method']}: {r['rate']:.4f} (theory "
             f"{r['published']:.4f})" for r in numbers["runs"].values()]
    return judged(checks(numbers), "Measured per-step rates: " + "; ".join(parts) + ".")


def table(numbers):
    rows = [["kappa", "method", "learning rate", "momentum", "measured rate",
             "published rate"]]
    for r in numbers["runs"].values():
        rows.append([f"{r['kappa']:g}", r["method"], f"{r['lr']:.4g}", f"{r['momentum']:.4g}",
                     f"{r['rate']:.4f}", f"{r['published']:.4f}"])
    return rows


def figure(numbers, path):
    fig, axes = common.figure(1, 2, size=(5.2, 4.0))
    ax = axes[0]
    for i, kappa in enumerate(KAPPAS):
        for method, style in (("gd", "-"), ("momentum", "--")):
            r = numbers["runs"][f"{method} {kappa:g}"]
            errors = np.array([np.nan if e is None else e for e in r["errors"]])
            ax.semilogy(np.arange(len(errors)) * 10, errors, style, color=f"C{i}",
                        label=f"{'GD' if method == 'gd' else 'momentum'}, kappa {kappa:g}")
    ax.set_xlabel("step")
    ax.set_ylabel("error ||w - w*||")
    ax.set_title("convergence at the optimal parameters")
    ax.legend(fontsize=7)
    ax = axes[1]
    k = np.geomspace(2, 2000, 100)
    ax.semilogx(k, [1 - theory(x)[0] for x in k], color="C0", label="GD, theory")
    ax.semilogx(k, [1 - theory(x)[1] for x in k], color="C3", label="momentum, theory")
    for method, color in (("gd", "C0"), ("momentum", "C3")):
        runs = [r for r in numbers["runs"].values() if r["method"] == method]
        ax.loglog([r["kappa"] for r in runs], [1 - r["rate"] for r in runs], "o", color=color,
                  label=f"{'GD' if method == 'gd' else 'momentum'}, measured")
    ax.set_xlabel("condition number kappa")
    ax.set_ylabel("1 - rate (error removed per step)")
    ax.set_title("rate against the published formulas")
    ax.legend(fontsize=7)
    return common.save(fig, path, TITLE)
