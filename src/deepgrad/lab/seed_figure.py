"""The spread of an experiment over its seeds: one panel per check, each seed's value as
a dot, the mean with its 95% interval as an error bar, the rule's bound as a line, the
check's verdict in the panel's title."""
import math

import numpy as np

from . import _common as common
from .verdicts import SUPPORTED, NOT_SUPPORTED

_COLORS = {SUPPORTED: "C2", NOT_SUPPORTED: "C3"}


def _finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def draw(rows, seeds, title, path):
    """Write the figure of ``rows`` (``verdicts.over_seeds``) for ``seeds`` to ``path``."""
    cols = min(3, len(rows))
    fig, axes = common.figure(math.ceil(len(rows) / cols), cols, size=(4.2, 2.9))
    for ax, row in zip(axes, rows):
        values = np.array(row["values"], dtype=np.float64)
        shown = _finite(list(values) + [row["bound"]])
        color = _COLORS.get(row["verdict"], "C1")
        x = np.arange(len(values))
        finite = np.isfinite(values)
        ax.plot(x[finite], values[finite], "o", color="0.45", label="one seed")
        for i in x[~finite]:  # never reached, or no measurement: marked at the top
            ax.annotate("never" if values[i] > 0 else "n/a", (i, 1), xycoords=("data",
                        "axes fraction"), ha="center", va="top", fontsize=7, color="C3")
        if math.isfinite(row["mean"]):
            low = row["low"] if math.isfinite(row["low"]) else row["mean"]
            high = row["high"] if math.isfinite(row["high"]) else row["mean"]
            ax.errorbar([len(values)], [row["mean"]], yerr=[[row["mean"] - low],
                        [high - row["mean"]]], fmt="s", color=color, capsize=4,
                        label="mean, 95% interval")
        ax.axhline(row["bound"], color="k", ls="--", lw=1, label=f"bound ({row['rule']})")
        positive = [v for v in shown if v > 0]
        if len(positive) == len(shown) and positive and max(positive) / min(positive) > 100:
            ax.set_yscale("log")
        ax.set_xticks(list(x) + [len(values)], [str(s) for s in seeds] + ["mean"],
                      fontsize=7)
        ax.set_xlabel("seed")
        ax.set_ylabel("measured", fontsize=8)
        name = row["name"] if len(row["name"]) <= 48 else row["name"][:46] + "..."
        ax.set_title(f"{name}\n{row['verdict']}", fontsize=8, color=color)
        ax.legend(fontsize=6)
    for ax in axes[len(rows):]:
        ax.set_axis_off()
        ax.set_xlabel("-")
        ax.set_ylabel("-")
        ax.set_title("-")
    return common.save(fig, path, f"{title}: the checks over {len(seeds)} seeds")
