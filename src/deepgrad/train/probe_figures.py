"""The files and figures of the training probes (``probes.py``): ``probes.json``
written atomically, and per layer the histograms of activations and gradients over
steps, the saturated and dead units, the update-to-weight ratios and the batch-norm
statistics, each figure with its labels and legend."""
import json
import math
import os
import numpy as np
from .. import serialization

UPDATE_RATIO_GUIDE = 1e-3  # the usual rule of thumb, drawn as a reference line


def write(records, out_dir):
    """Write ``probes.json`` and the figures of ``records`` to ``out_dir`` (atomically,
    each); returns the paths written."""
    from .. import plotting
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "probes.json")
    serialization.atomic_write(path, json.dumps(records, indent=1).encode())
    paths = [path]
    if records["steps"]:
        for name, fig in figures(records).items():
            paths.append(plotting.save(fig, os.path.join(out_dir, name), dpi=90))
    return paths


def _label(name, layer):
    return f"{name} ({layer['type']})"


def figures(records, only=None):
    """``{file name: matplotlib Figure}`` for the records (Probes.records, or a loaded
    probes.json); the batch-norm figure only when the model has BatchNorm layers.
    ``only``: the file names to draw (default all of them)."""
    steps = records["steps"]
    layers = records["layers"]
    draw = {
        "probes_activations.png": lambda: _distributions_figure(
            steps, layers, "activation", "activation value",
            "Activations per layer over training (each layer's output)"),
        "probes_gradients.png": lambda: _distributions_figure(
            steps, layers, "gradient", "gradient dL/dy",
            "Gradients of each layer's output over training"),
        "probes_saturation.png": lambda: _saturation_figure(steps, layers),
        "probes_update_ratio.png": lambda: _update_figure(steps, records["parameters"]),
    }
    if records["batchnorm"]:
        draw["probes_batchnorm.png"] = lambda: _batchnorm_figure(steps, records["batchnorm"])
    unknown = set(only or ()) - set(draw)
    if unknown:
        raise ValueError(f"probe figures: no figure named {sorted(unknown)} for these "
                         f"records; they have {sorted(draw)}")
    return {name: make() for name, make in draw.items() if only is None or name in only}


def _grid(count, width=4.4, height=3.1):
    from .. import plotting
    cols = min(3, max(count, 1))
    rows = max(1, math.ceil(count / cols))
    fig, axes = plotting.subplots(rows, cols, squeeze=False,
                                  figsize=(width * cols, height * rows))
    fig.set_layout_engine("constrained")  # room for labels, the colorbar, the suptitle
    axes = axes.reshape(-1)
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes


def _step_edges(xs):
    xs = np.asarray(xs, dtype=float)
    if len(xs) == 1:
        return np.array([xs[0] - 0.5, xs[0] + 0.5])
    mids = (xs[1:] + xs[:-1]) / 2
    return np.concatenate([[2 * xs[0] - mids[0]], mids, [2 * xs[-1] - mids[-1]]])


def _histogram_image(entries, rows=64):
    """The records' histograms re-binned onto common bins (fractions of each record's
    values, by the overlap of the bins): (image rows x records, edges)."""
    lo = min(e["hist"]["lo"] for e in entries)
    hi = max(e["hist"]["hi"] for e in entries)
    edges = np.linspace(lo, hi, rows + 1)
    image = np.zeros((rows, len(entries)))
    for j, e in enumerate(entries):
        counts = np.asarray(e["hist"]["counts"], dtype=float)
        own = np.linspace(e["hist"]["lo"], e["hist"]["hi"], len(counts) + 1)
        cumulative = np.concatenate([[0.0], np.cumsum(counts)])
        image[:, j] = np.diff(np.interp(edges, own, cumulative)) / max(counts.sum(), 1)
    return image, edges


def _distributions_figure(steps, layers, key, ylabel, title):
    from matplotlib.colors import LogNorm
    fig, axes = _grid(len(layers))
    mesh = None
    for ax, (name, layer) in zip(axes, layers.items()):
        picked = [(s, e) for s, e in zip(steps, layer[key])
                  if e is not None and e.get("hist") is not None]
        ax.set_title(f"{key}s of {_label(name, layer)}", fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        if not picked:
            ax.text(0.5, 0.5, f"no {key} recorded", ha="center", va="center",
                    transform=ax.transAxes)
            continue
        xs = [s for s, _ in picked]
        entries = [e for _, e in picked]
        image, edges = _histogram_image(entries)
        mesh = ax.pcolormesh(_step_edges(xs), edges, np.ma.masked_less_equal(image, 0),
                             norm=LogNorm(vmin=1e-4, vmax=1), cmap="viridis", shading="flat")
        mean = np.array([e["mean"] for e in entries], dtype=float)
        std = np.array([e["std"] for e in entries], dtype=float)
        ax.plot(xs, mean, color="tab:red", lw=1.3, label="mean")
        ax.plot(xs, mean + std, color="tab:red", lw=0.8, ls="--", label="mean ± std")
        ax.plot(xs, mean - std, color="tab:red", lw=0.8, ls="--")
        ax.set_ylim(edges[0], edges[-1])
        ax.legend(loc="upper right", fontsize=7)
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes[:len(layers)]), label="fraction of the values",
                     shrink=0.9)
    fig.suptitle(title)
    return fig


def _series(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _saturation_figure(steps, layers):
    from .. import plotting
    fig, ax = plotting.subplots(figsize=(6.4, 4.0))
    drawn = 0
    for name, layer in layers.items():
        for key, what in (("saturated", "saturated"), ("dead", "dead")):
            values = _series(layer[key])
            if np.isfinite(values).any():
                ax.plot(steps, values, marker=".", label=f"{what}: {_label(name, layer)}")
                drawn += 1
    ax.set_xlabel("step")
    ax.set_ylabel("fraction of units")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Saturated sigmoid/tanh units and dead ReLUs")
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no Sigmoid, Tanh or ReLU layer", ha="center", va="center",
                transform=ax.transAxes)
    return fig


def _positive(values):
    values = _series(values)
    values[~(values > 0)] = np.nan  # a log axis shows positive numbers only
    return values


def _update_figure(steps, parameters):
    from .. import plotting
    fig, (ratio_ax, grad_ax) = plotting.subplots(1, 2, figsize=(12, 4.2))
    for name, series in parameters.items():
        ratio_ax.plot(steps, _positive(series["update_ratio"]), marker=".", label=name)
        grad_ax.plot(steps, _positive(series["grad_norm"]), marker=".", label=name)
    ratio_ax.axhline(UPDATE_RATIO_GUIDE, color="gray", ls=":", label="1e-3 (the usual guide)")
    ratio_ax.set_ylabel("update / weight  ||Δw|| / ||w||")
    ratio_ax.set_title("Update-to-weight ratio per parameter")
    grad_ax.set_ylabel("gradient norm ||dL/dw||")
    grad_ax.set_title("Gradient norm per parameter")
    for ax in (ratio_ax, grad_ax):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    return fig


def _band(ax, steps, summaries, label, color):
    mean = _series([None if s is None else s["mean"] for s in summaries])
    low = _series([None if s is None else s["min"] for s in summaries])
    high = _series([None if s is None else s["max"] for s in summaries])
    ax.plot(steps, mean, color=color, label=f"{label} (mean over channels)")
    ax.fill_between(steps, low, high, color=color, alpha=0.2, label=f"{label} (min to max)")


def _batchnorm_figure(steps, layers):
    from .. import plotting
    fig, axes = plotting.subplots(len(layers), 2, squeeze=False,
                                  figsize=(11, 3.4 * len(layers)))
    for (mean_ax, var_ax), (name, series) in zip(axes, layers.items()):
        label = f"{name} ({series['type']})"
        _band(mean_ax, steps, series["running_mean"], "running mean", "tab:blue")
        _band(mean_ax, steps, series["batch_mean"], "batch mean", "tab:orange")
        _band(var_ax, steps, series["running_var"], "running var", "tab:blue")
        _band(var_ax, steps, series["batch_var"], "batch var", "tab:orange")
        mean_ax.set_title(f"{label}: per-channel mean of the input")
        mean_ax.set_ylabel("mean")
        var_ax.set_title(f"{label}: per-channel variance of the input")
        var_ax.set_ylabel("variance")
        for ax in (mean_ax, var_ax):
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
