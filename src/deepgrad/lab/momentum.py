"""Momentum on an ill-conditioned quadratic.

f(w) = 0.5 * (w_1^2 + kappa * w_2^2): the shallow axis w_1 has curvature 1, the steep
axis w_2 has curvature kappa. Every run starts at (-10, 1) and uses ``dg.optim.SGD``
with the same learning rate 2 / (kappa + 1), the best constant step of plain gradient
descent on this function, with momentum beta in {0, 0.5, 0.9}.

Plain GD then zigzags along w_2 (each step multiplies w_2 by 1 - 2 kappa / (kappa + 1),
about -0.98) and crawls along w_1 (factor 1 - 2 / (kappa + 1)). Momentum averages the
updates: the steady trend along w_1 adds up (steps up to 1 / (1 - beta) times larger)
while the alternating steps along w_2 cancel.

Measured: steps until f < tol * f(w_0), and the zigzag: the distance travelled along the
steep axis, sum |dw_2|, over the distance that was needed, |w_2(0) - 0| = 1.
"""
import numpy as np

import deepgrad as dg
from deepgrad.nn import Parameter

from . import _common as common
from .verdicts import Check, ratio, verdict as judged

NAME = "momentum"
TITLE = "Momentum: keep the trend, drop the oscillations"
CLAIM = ("(S)GD with momentum. Main idea: retain long-term trend of updates, drop "
         "oscillations.")
CRITERION = ("On the quadratic 0.5 (w1^2 + kappa w2^2), with the same learning rate "
             "2/(kappa+1) (plain gradient descent's best), SGD with momentum 0.5 and 0.9 "
             "each reach f < tol f(w0) in at most half the steps plain SGD needs, and each "
             "travels at most half plain SGD's distance along the steep axis (sum |dw2|).")

BETAS = (0.0, 0.5, 0.9)
START = (-10.0, 1.0)


def _descend(kappa, lr, beta, tol, max_steps):
    """Run SGD(lr, momentum=beta) in float64; return the path and f along it."""
    w = Parameter(np.array(START))
    curvature = dg.tensor(np.array([1.0, kappa]))
    opt = dg.optim.SGD([w], lr=lr, momentum=beta)
    path, values = [w._data.copy()], []
    for _ in range(max_steps):
        f = 0.5 * (curvature * w * w).sum()
        values.append(float(f.item()))
        if values[-1] < tol * values[0]:
            break
        opt.zero_grad()
        f.backward()
        opt.step()
        path.append(w._data.copy())
    else:
        values.append(0.5 * float((np.array([1.0, kappa]) * w._data ** 2).sum()))
    return np.array(path), values


def run(quick=True, seed=0, out_dir=None):
    # The problem is deterministic; the seed is accepted for a uniform interface.
    common.seed_all(seed)
    kappa, tol = (100.0, 1e-8) if quick else (1000.0, 1e-12)
    lr = 2.0 / (kappa + 1.0)
    max_steps = 20000 if quick else 100000
    runs = {}
    for beta in BETAS:
        with common.Stopwatch() as watch:
            path, values = _descend(kappa, lr, beta, tol, max_steps)
        d = np.abs(np.diff(path, axis=0))
        reached = values[-1] < tol * values[0]
        runs[str(beta)] = {
            "momentum": beta,
            "steps_to_tol": len(values) - 1 if reached else None,
            "zigzag": float(d[:, 1].sum() / abs(START[1])),
            "loss": common.floats(values),
            "path": path[:200].tolist(),  # enough to draw; the whole curve is in "loss"
            "seconds": watch.seconds,
        }
    return {"kappa": kappa, "lr": lr, "tol": tol, "start": list(START), "runs": runs}


def checks(numbers):
    runs = numbers["runs"]
    plain = runs["0.0"]
    out = []
    for key, r in runs.items():
        if key != "0.0":
            out += [Check(f"steps to the tolerance with momentum {float(key):g} / without",
                          ratio(r["steps_to_tol"], plain["steps_to_tol"]), "<=", 0.5,
                          scale="log"),
                    Check(f"zigzag with momentum {float(key):g} / without",
                          ratio(r["zigzag"], plain["zigzag"]), "<=", 0.5, scale="log")]
    return out


def verdict(numbers):
    runs = numbers["runs"]
    plain = runs["0.0"]
    s0, z0 = plain["steps_to_tol"], plain["zigzag"]

    def steps(s):
        return "never" if s is None else s

    parts = [f"momentum {float(key):g}: {steps(r['steps_to_tol'])} steps, zigzag "
             f"{r['zigzag']:.1f}" for key, r in runs.items() if key != "0.0"]
    text = (f"plain SGD: {steps(s0)} steps to the tolerance, zigzag "
            f"{z0:.1f}; " + "; ".join(parts) + f" (kappa = {numbers['kappa']:g}).")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, (ax1, ax2) = common.figure(1, 2, size=(5.4, 4.2))
    kappa = numbers["kappa"]
    u = np.linspace(-11, 3, 300)
    v = np.linspace(-1.6, 1.6, 200)
    U, V = np.meshgrid(u, v)
    levels = np.geomspace(0.05, 0.5 * (100 + kappa * 2.5), 14)
    ax1.contour(U, V, 0.5 * (U ** 2 + kappa * V ** 2), levels=levels, colors="0.8",
                linewidths=0.7)
    for key, style in (("0.0", "C0.-"), ("0.5", "C1.-"), ("0.9", "C2.-")):
        p = np.array(numbers["runs"][key]["path"])[:150]
        ax1.plot(p[:, 0], p[:, 1], style, ms=2.5, lw=0.8,
                 label=f"momentum {float(key):g}")
    ax1.plot([0], [0], "k*", ms=10, label="minimum")
    ax1.set_xlabel("w1 (shallow axis, curvature 1)")
    ax1.set_ylabel(f"w2 (steep axis, curvature {kappa:g})")
    ax1.set_title("first 150 steps")
    ax1.legend(loc="lower right")
    for key, r in numbers["runs"].items():
        steps = r["steps_to_tol"]
        label = f"momentum {float(key):g}: " + (f"{steps} steps" if steps else "not reached")
        label += f", zigzag {r['zigzag']:.0f}"
        ax2.semilogy([np.nan if v is None else v for v in r["loss"]], label=label)
    ax2.axhline(numbers["tol"] * numbers["runs"]["0.0"]["loss"][0], color="k", ls=":",
                lw=0.8, label=f"tolerance ({numbers['tol']:g} f(w0))")
    ax2.set_xlabel("step")
    ax2.set_ylabel("f(w)")
    ax2.set_title(f"loss, lr = {numbers['lr']:.3g} for all")
    ax2.legend(fontsize=8)
    return common.save(fig, path, TITLE)
