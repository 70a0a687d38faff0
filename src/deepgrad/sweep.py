"""Hyperparameter sweeps: a grid of independent training runs, spread over workers.

The course calls step-size selection a research problem; ``deepgrad sweep`` answers it by
measurement. The grid is optimizer x learning rate x batch size x seed (from flags or a
TOML file with lists under the same keys); every other option is the same for every
run. Under ``mpiexec -n K`` run i goes to rank i mod K; without MPI the runs go to
``jobs`` local processes. Rank 0 (or the parent) writes ``sweep.csv``, ``sweep.md`` and
``sweep.png`` (final loss and accuracy against learning rate, one line per optimizer
and batch size, mean over seeds with the range as error bars).
"""
import csv
import io
import itertools
import os
import tomllib
from concurrent.futures import ProcessPoolExecutor

from . import backend, config as config_mod, distributed
from .serialization import atomic_write

GRID_KEYS = ("optimizer", "lr", "batch_size", "seed")


def load_grid(path):
    """A TOML file: lists under the grid keys, single values for any train option."""
    with open(path, "rb") as f:
        table = tomllib.load(f)
    config_mod.check_keys(table, f"sweep file {path}")
    grid, fixed = {}, {}
    for key, value in table.items():
        name = config_mod.normalise_key(key)
        if name in GRID_KEYS:
            grid[name] = value if isinstance(value, list) else [value]
        else:
            fixed[name] = value
    return grid, fixed


def expand(grid, fixed):
    """Every combination of the grid as a full run configuration."""
    base = config_mod.defaults()
    base.update(fixed)
    values = [grid.get(k) or [base[k]] for k in GRID_KEYS]
    runs = []
    for combo in itertools.product(*values):
        cfg = dict(base)
        cfg.update(zip(GRID_KEYS, combo))
        cfg["distributed"] = False  # each run is one process; the sweep spreads them
        runs.append(cfg)
    return runs


def run_name(cfg):
    return f"{cfg['optimizer']}-lr{cfg['lr']:g}-b{cfg['batch_size']}-s{cfg['seed']}"


def run_one(cfg, out):
    """One quiet training run; returns its row of the results table."""
    from .train.run import run
    with open(os.devnull, "w") as quiet:
        try:
            result = run(cfg, out=os.path.join(out, "runs", run_name(cfg)), stream=quiet)
        except FloatingPointError as err:  # a diverging learning rate is a result too
            return {**_grid_part(cfg), "status": f"diverged: {err}".split(";")[0],
                    "loss": float("nan"), "val_loss": float("nan"),
                    "val_accuracy": float("nan"), "test_accuracy": float("nan"),
                    "seconds": float("nan")}
    history = result["history"]
    return {**_grid_part(cfg), "status": "ok", "loss": history.last("loss"),
            "val_loss": history.last("val_loss"), "val_accuracy": history.last("val_accuracy"),
            "test_accuracy": result["test"]["accuracy"], "seconds": result["seconds"]}


def _grid_part(cfg):
    return {k: cfg[k] for k in GRID_KEYS}


def sweep(runs, out, jobs=1):
    """Run every configuration; returns the rows (on rank 0 / the parent), else None."""
    from .train.run import validate
    for cfg in runs:
        validate(cfg)  # refuse a bad grid before any run starts
    distributed.init()
    if distributed.is_distributed():
        mine = [(i, cfg) for i, cfg in enumerate(runs)
                if i % distributed.world_size() == distributed.rank()]
        rows = [(i, run_one(cfg, out)) for i, cfg in mine]
        gathered = distributed.gather(rows)
        if not distributed.is_main():
            return None
        rows = [row for part in gathered for row in part]
    elif jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs, initializer=backend.share_cores,
                                 initargs=(jobs,)) as pool:
            rows = list(enumerate(pool.map(run_one, runs, itertools.repeat(out))))
    else:
        rows = [(i, run_one(cfg, out)) for i, cfg in enumerate(runs)]
    rows = [row for _, row in sorted(rows, key=lambda item: item[0])]
    write_table(rows, out)
    plot(rows, os.path.join(out, "sweep.png"))
    return rows


COLUMNS = list(GRID_KEYS) + ["status", "loss", "val_loss", "val_accuracy", "test_accuracy",
                             "seconds"]


def write_table(rows, out):
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(os.path.join(out, "sweep.csv"), text.getvalue().encode())
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in sorted(rows, key=lambda r: -_num(r["val_accuracy"])):
        lines.append("| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |")
    atomic_write(os.path.join(out, "sweep.md"), ("\n".join(lines) + "\n").encode())


def _num(value):
    return value if value == value else -1.0  # NaN sorts last


def _cell(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def plot(rows, path):
    import numpy as np
    from . import plotting
    fig, axes = plotting.subplots(1, 2, figsize=(11, 4.2))
    groups = {}
    for row in rows:
        groups.setdefault((row["optimizer"], row["batch_size"]), []).append(row)
    for (opt, batch), group in sorted(groups.items()):
        lrs = sorted({r["lr"] for r in group})
        label = opt if len({b for _, b in groups}) == 1 else f"{opt}, B={batch}"
        for ax, key in zip(axes, ("loss", "val_accuracy")):
            per_lr = [[r[key] for r in group if r["lr"] == lr] for lr in lrs]
            mean = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in per_lr])
            low = mean - np.array([np.nanmin(v) if np.isfinite(v).any() else np.nan for v in per_lr])
            high = np.array([np.nanmax(v) if np.isfinite(v).any() else np.nan for v in per_lr]) - mean
            ax.errorbar(lrs, mean, yerr=[low, high], marker="o", capsize=3, label=label)
    axes[0].set_ylabel("final training loss")
    if any(row["loss"] > 0 for row in rows):  # NaN compares False: diverged runs
        axes[0].set_yscale("log")
    axes[1].set_ylabel("final validation accuracy")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Sweep: final loss and accuracy against learning rate "
                 "(mean over seeds, bars: range; diverged runs left out)")
    return plotting.save(fig, path)
