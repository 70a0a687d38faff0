"""The optimizer zoo on Rosenbrock, on Beale, and on an MLP.

Two-dimensional test functions (their gradients in closed form, so the time goes to the
optimizers' own updates):

* Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1), start (-1.5, 2);
* Beale f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2, minimum 0
  at (3, 0.5), start (1, 1.5).

Each optimizer runs S steps at every learning rate of a grid (1e-3 to 1 in quick mode,
1e-4 to 1 in full mode); the rate with the lowest
final f is kept (a run whose f turns non-finite or exceeds 1e6 f(start) diverged), so each
is ranked at its best. On the MLP (64-64-10 ReLU on the 8x8 digits, minibatches of 64)
each uses one customary learning rate. The ranking table orders them per problem.
"""
import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.nn import Parameter
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, verdict as judged

NAME = "optimizers"
TITLE = "Optimizers: SGD, momentum, NAG, Rprop, AdaGrad, RMSProp, AdaDelta, Adam"
CLAIM = ("Step-size selection & optimizers: a research problem. Nesterov's accelerated "
         "gradient (NAG), R-prop, AdaGrad, RMSProp, AdaDelta, Adam, ...")
CRITERION = ("Each optimizer, at its best learning rate of a grid, lowers Rosenbrock's and "
             "Beale's function and the MLP's training loss below their starting values; "
             "and no optimizer ranks first on all three problems (the choice depends on "
             "the problem: a research problem).")

O = dg.optim
# name (deepgrad.optim's class, as PyTorch spells it) -> (constructor(params, lr), the
# MLP's learning rate)
OPTIMIZERS = {
    "SGD": (lambda p, lr: O.SGD(p, lr=lr), 0.1),
    "SGD momentum": (lambda p, lr: O.SGD(p, lr=lr, momentum=0.9), 0.05),
    "SGD Nesterov": (lambda p, lr: O.SGD(p, lr=lr, momentum=0.9, nesterov=True), 0.05),
    "Rprop": (lambda p, lr: O.Rprop(p, lr=lr), 1e-3),
    "Adagrad": (lambda p, lr: O.Adagrad(p, lr=lr), 0.05),
    "RMSprop": (lambda p, lr: O.RMSprop(p, lr=lr), 3e-3),
    "Adadelta": (lambda p, lr: O.Adadelta(p, lr=lr), 1.0),
    "Adam": (lambda p, lr: O.Adam(p, lr=lr), 3e-3),
    "AdamW": (lambda p, lr: O.AdamW(p, lr=lr), 3e-3),
}
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
QUICK_LR_GRID = LR_GRID[2:]


def rosenbrock(w):
    x, y = w
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_grad(w):
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def beale(w):
    x, y = w
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2
            + (2.625 - x + x * y ** 3) ** 2)


def beale_grad(w):
    x, y = w
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    return np.array([2 * t1 * (y - 1) + 2 * t2 * (y ** 2 - 1) + 2 * t3 * (y ** 3 - 1),
                     2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y ** 2])


FUNCTIONS = {
    "rosenbrock": (rosenbrock, rosenbrock_grad, (-1.5, 2.0), (1.0, 1.0),
                   ((-2.0, 2.0), (-1.0, 3.0))),
    "beale": (beale, beale_grad, (1.0, 1.5), (3.0, 0.5), ((-0.5, 4.0), (-1.0, 2.0))),
}


def _descend(make, lr, fn, grad, start, steps):
    w = Parameter(np.array(start, dtype=np.float64))
    opt = make([w], lr)
    path, values = [w._data.copy()], [fn(w._data)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            w._grad = grad(w._data)
            opt.step()
            path.append(w._data.copy())
            values.append(fn(w._data))
            if not np.isfinite(values[-1]) or values[-1] > 1e6 * values[0]:
                return path, values, True
    return path, values, False


def _surface(name, steps, grid):
    fn, grad, start, _, _ = FUNCTIONS[name]
    result = {}
    for opt_name, (make, _) in OPTIMIZERS.items():
        best = None
        for lr in grid:
            path, values, diverged = _descend(make, lr, fn, grad, start, steps)
            if not diverged and (best is None or values[-1] < best["final"]):
                best = {"lr": lr, "final": float(values[-1]), "path": np.array(path)}
        if best is None:
            result[opt_name] = {"lr": None, "final": None, "path": []}
        else:
            keep = np.unique(np.geomspace(1, len(best["path"]), 150).astype(int) - 1)
            result[opt_name] = {"lr": best["lr"], "final": best["final"],
                                "path": best["path"][keep].tolist()}
    return {"start_value": float(fn(np.array(start))), "steps": steps,
            "optimizers": result}


def _mlp(quick, seed):
    x, y = dg.data.load("digits", split="train", seed=seed)
    x_test, y_test = dg.data.load("digits", split="test", seed=seed)
    epochs = 5 if quick else 30
    xt, yt = common.tensors(x, y)
    xs, ys = common.tensors(x_test, y_test)
    result = {}
    for name, (make, lr) in OPTIMIZERS.items():
        common.seed_all(seed)  # the same initial weights and batches for every optimizer
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        opt = make(model.parameters(), lr)
        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=seed)
        losses = [common.loss_of(model, common.cross_entropy, xt, yt)]
        with common.Stopwatch() as watch:
            for _ in range(epochs):
                for xb, yb in loader:
                    train_step(model, common.cross_entropy, opt, xb, yb)
                losses.append(common.loss_of(model, common.cross_entropy, xt, yt))
        result[name] = {"lr": lr, "loss": common.floats(losses),
                        "test_accuracy": common.accuracy_of(model, xs, ys),
                        "seconds": watch.seconds}
    return {"epochs": epochs, "optimizers": result}


def run(quick=True, seed=0, out_dir=None):
    steps, grid = (300, QUICK_LR_GRID) if quick else (3000, LR_GRID)
    common.seed_all(seed)
    return {"rosenbrock": _surface("rosenbrock", steps, grid),
            "beale": _surface("beale", steps, grid),
            "mlp": _mlp(quick, seed)}


def _scores(numbers):
    """problem -> {optimizer: final value (None = diverged everywhere)}."""
    return {"rosenbrock": {k: v["final"] for k, v in
                           numbers["rosenbrock"]["optimizers"].items()},
            "beale": {k: v["final"] for k, v in numbers["beale"]["optimizers"].items()},
            "mlp": {k: v["loss"][-1] for k, v in numbers["mlp"]["optimizers"].items()}}


def _ranks(scores):
    order = sorted(scores, key=lambda k: (scores[k] is None, scores[k] or 0.0))
    return {k: i + 1 for i, k in enumerate(order)}


def table(numbers):
    """Rows of the ranking table (first row: the header)."""
    scores = _scores(numbers)
    ranks = {p: _ranks(s) for p, s in scores.items()}
    rows = [["optimizer", "Rosenbrock f (lr)", "Beale f (lr)", "MLP train loss (lr)",
             "MLP test acc.", "mean rank"]]
    order = sorted(OPTIMIZERS, key=lambda k: sum(ranks[p][k] for p in ranks))
    for k in order:
        cells = [k]
        for p, source in (("rosenbrock", numbers["rosenbrock"]["optimizers"]),
                          ("beale", numbers["beale"]["optimizers"]),
                          ("mlp", numbers["mlp"]["optimizers"])):
            value = scores[p][k]
            text = "diverged" if value is None else f"{value:.3g}"
            cells.append(f"{text} ({source[k]['lr']:g}) #{ranks[p][k]}"
                         if source[k]["lr"] is not None else text)
        cells.append(f"{numbers['mlp']['optimizers'][k]['test_accuracy']:.3f}")
        cells.append(f"{sum(ranks[p][k] for p in ranks) / len(ranks):.1f}")
        rows.append(cells)
    return rows


def _stuck_and_winners(numbers):
    scores = _scores(numbers)
    starts = {"rosenbrock": numbers["rosenbrock"]["start_value"],
              "beale": numbers["beale"]["start_value"],
              "mlp": {k: v["loss"][0] for k, v in numbers["mlp"]["optimizers"].items()}}
    stuck = []
    for p, s in scores.items():
        for k, value in s.items():
            start = starts[p][k] if p == "mlp" else starts[p]
            if value is None or not value < start:
                stuck.append(f"{k} on {p}")
    winners = {p: min((k for k in s if s[k] is not None), key=lambda k: s[k], default=None)
               for p, s in scores.items()}
    return stuck, winners


def checks(numbers):
    stuck, winners = _stuck_and_winners(numbers)
    return [Check("optimizer-problem pairs without progress", len(stuck), "<=", 0,
                  over="every"),
            Check("different winners over the three problems", len(set(winners.values())),
                  ">=", 2, over="every")]


def verdict(numbers):
    stuck, winners = _stuck_and_winners(numbers)
    one_best = len(set(winners.values())) == 1
    text = ("Best: " + ", ".join(f"{p}: {w}" for p, w in winners.items()) + ". "
            + ("One optimizer won everywhere." if one_best else
               "No optimizer won on all three problems."))
    if stuck:
        text += f" No progress: {', '.join(stuck)}."
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 3, size=(4.6, 4.2))
    colors = {k: f"C{i}" for i, k in enumerate(OPTIMIZERS)}
    for ax, name in zip(axes[:2], ("rosenbrock", "beale")):
        fn, _, start, minimum, (xr, yr) = FUNCTIONS[name]
        u, v = np.meshgrid(np.linspace(*xr, 250), np.linspace(*yr, 250))
        z = fn((u, v))
        ax.contour(u, v, np.log10(z + 1e-3), levels=20, colors="0.8", linewidths=0.6)
        for k, r in numbers[name]["optimizers"].items():
            if r["path"]:
                p = np.array(r["path"])
                ax.plot(p[:, 0], p[:, 1], "-", color=colors[k], lw=1.1)
        ax.plot(*start, "ko", ms=5)
        ax.plot(*minimum, "k*", ms=11)
        ax.set_xlim(*xr)
        ax.set_ylim(*yr)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title(f"{name.capitalize()}: {numbers[name]['steps']} steps at each one's best "
                     f"lr\n(o start, * minimum; colours as on the right)", fontsize=9)
    ax = axes[2]
    for k, r in numbers["mlp"]["optimizers"].items():
        ax.semilogy([np.nan if v is None else v for v in r["loss"]], "-o", ms=3,
                    color=colors[k], label=f"{k} (lr {r['lr']:g})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title("MLP 64-64-10 on 8x8 digits", fontsize=9)
    ax.legend(fontsize=7)
    return common.save(fig, path, TITLE)
