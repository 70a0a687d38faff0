"""Helpers shared by the lab's experiments: seeding, evaluation (``deepgrad.train``'s, as
the training step is), timing,
JSON-safe numbers and figures that are checked for labels, legends and a title.

Conventions of a result dict (what ``run`` returns): JSON-able numbers only; wall-clock
measurements sit under keys that end in ``seconds`` (they are the only numbers that may
differ between two runs with the same seed; everything else is reproduced bit for bit).
"""
import math
import os
import time

import numpy as np

import deepgrad as dg
from deepgrad import plotting
from deepgrad.nn import functional as F
from deepgrad.train import evaluate


def seed_all(seed):
    """Seed deepgrad's generator (init, dropout) and return a NumPy generator for data."""
    dg.manual_seed(seed)
    return np.random.default_rng(seed)


def finite(value):
    """A float for JSON: non-finite values (a diverged run) become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def floats(values):
    return [finite(v) for v in values]


def loss_of(model, loss_fn, x, y):
    """The loss over all of ``x, y`` in eval mode, without a graph."""
    return evaluate(model, loss_fn, [(x, y)], metrics=())["loss"]


def accuracy_of(model, x, y):
    """The fraction of rows whose arg-max logit is the label, in eval mode."""
    return evaluate(model, None, [(x, y)])["accuracy"]


def cross_entropy(out, y):
    return F.cross_entropy(out, y)


def mse(out, y):
    return F.mse_loss(out, y)


def mnist_images(split, seed):
    """The bundled 5,000-image MNIST subset's ``split`` as (flat float32 images, labels)."""
    x, y = dg.data.load("mnist5k", split=split, seed=seed)
    x = np.asarray(x, np.float32)
    return x.reshape(len(x), -1), np.asarray(y)


def tensors(*arrays):
    return tuple(dg.tensor(a) for a in arrays)


class Stopwatch:
    """``with Stopwatch() as w: ...`` then ``w.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start


# -- figures ---------------------------------------------------------------------------

def figure(rows=1, cols=1, size=(5.0, 4.0), **kwargs):
    """A new figure with a grid of axes (always a flat list)."""
    fig, axes = plotting.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows),
                                  squeeze=False, **kwargs)
    return fig, list(axes.ravel())


def save(fig, path, title):
    """Check every axes has both axis labels and a legend where it draws several labelled
    things, give the figure its title, and write it atomically. A figure that breaks these
    rules raises ValueError: the lab's figures are shown to students."""
    fig.suptitle(title)
    for i, ax in enumerate(fig.axes):
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            continue
        if getattr(ax, "name", "") == "3d":
            labels = (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel())
        else:
            labels = (ax.get_xlabel(), ax.get_ylabel())
        if not all(labels):
            raise ValueError(f"lab figure {title!r}: axes {i} lacks an axis label "
                             f"(got {labels})")
        if not ax.get_title():
            raise ValueError(f"lab figure {title!r}: axes {i} has no title")
        handles, names = ax.get_legend_handles_labels()
        if len(names) > 1 and ax.get_legend() is None:
            raise ValueError(f"lab figure {title!r}: axes {i} draws {len(names)} labelled "
                             f"series but has no legend")
    fig.tight_layout()
    return plotting.save(fig, path)


def probe_figures(name, probes, which, figures_dir):
    """The training probes' figures ``which`` (file names of
    :func:`deepgrad.train.probe_figures.figures`) for each labelled run of ``probes``
    (``{label: Probes.to_dict()}``), written to ``figures_dir``; returns the report's
    ``[{"title", "path"}]``."""
    from deepgrad.train.probe_figures import figures
    out = []
    for label, records in probes.items():
        for file_name, fig in figures(records, only=which).items():
            title = f"{label}: {fig.get_suptitle()}"
            fig.suptitle(title)
            path = os.path.join(figures_dir, f"{name}-{label}-{file_name}")
            out.append({"title": title, "path": plotting.save(fig, path, dpi=80)})
    return out
