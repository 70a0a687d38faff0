"""MNIST-1D (Greydanus, 2020): the paper's table of test accuracies, reproduced.

MNIST-1D is a procedurally generated dataset of 1-D signals of length 40, made from ten
digit-like templates padded, translated, sheared, scaled and noised; the ``mnist1d``
package (the ``data`` extra) generates it offline, here with the paper's settings (its
``get_dataset_args()``: 4,000 training and 1,000 test signals, seed 42). The models and
the training of the paper: logistic regression, an MLP (40-100-100-10, ReLU) and a CNN
(three convolutions of 25 channels, kernels 5, 3, 3 with stride 2 and padding 1, ReLU,
then a linear layer), each trained with Adam (lr 0.01) on minibatches of 100, 6,000
steps (1,500 in quick mode). The CNN's convolutions are ``Conv2d`` over a 1 x 40 image
(deepgrad has no Conv1d; the numbers are the same).

The paper's point is the spatial inductive bias: shuffle the 40 positions of every
signal with one fixed permutation and the CNN loses most of its advantage (logistic
regression and the MLP see no order, so shuffling cannot change them).
"""
import functools

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset

from . import _common as common
from .verdicts import Check, verdict as judged

NAME = "mnist1d"
TITLE = "MNIST-1D: the paper's table of test accuracies (Greydanus, 2020)"
SOURCE = "Greydanus, \"Scaling down deep learning\", 2020 (MNIST-1D), its table of results"
CLAIM = ("On MNIST-1D, logistic regression reaches 32% test accuracy, an MLP 68% and a CNN "
         "94%; with the signals' positions shuffled the CNN drops to 56%.")
CRITERION = ("Each measured test accuracy within 4 points of the paper's (6 for the "
             "shuffled CNN, whose value depends most on training), and the CNN's drop "
             "when shuffled at least 20 points.")

PUBLISHED = {"logistic": 0.32, "mlp": 0.68, "cnn": 0.94, "cnn_shuffled": 0.56}
TOLERANCE = {"logistic": 0.04, "mlp": 0.04, "cnn": 0.04, "cnn_shuffled": 0.06}
LABELS = {"logistic": "logistic regression", "mlp": "MLP", "cnn": "CNN",
          "cnn_shuffled": "CNN, positions shuffled"}


class Signal(nn.Module):
    """(N, 40) signals as (N, 1, 1, 40) one-channel images for Conv2d."""

    def forward(self, x):
        return x.view(-1, 1, 1, x.shape[-1])


def _model(kind):
    if kind == "logistic":
        return nn.Linear(40, 10)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                             nn.Linear(100, 10))
    conv = functools.partial(nn.Conv2d, stride=(1, 2), padding=(0, 1))
    return nn.Sequential(Signal(), conv(1, 25, (1, 5)), nn.ReLU(), conv(25, 25, (1, 3)),
                         nn.ReLU(), conv(25, 25, (1, 3)), nn.ReLU(), nn.Flatten(),
                         nn.Linear(25 * 5, 10))


@functools.lru_cache(maxsize=1)
def dataset():
    """The paper's MNIST-1D as float32 arrays (x, y, x_test, y_test); generated once per
    process (a few seconds)."""
    from mnist1d.data import get_dataset_args, make_dataset
    data = make_dataset(get_dataset_args())
    return (np.asarray(data["x"], np.float32), np.asarray(data["y"], np.int64),
            np.asarray(data["x_test"], np.float32), np.asarray(data["y_test"], np.int64))


def _train(kind, x, y, x_test, y_test, steps, seed):
    common.seed_all(seed)
    model = _model(kind)
    opt = dg.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True, seed=seed)
    curve, step = [], 0
    xt, yt = common.tensors(x_test, y_test)
    while step < steps:
        for xb, yb in loader:
            opt.zero_grad()
            common.cross_entropy(model(xb), yb).backward()
            opt.step()
            step += 1
            if step % (steps // 10) == 0:
                curve.append((step, common.accuracy_of(model, xt, yt)))
            if step == steps:
                break
    return {"test_accuracy": common.accuracy_of(model, xt, yt), "curve": curve}


def run(quick=True, seed=0, out_dir=None):
    steps = 1500 if quick else 6000
    x, y, x_test, y_test = dataset()
    order = np.random.default_rng(seed).permutation(x.shape[1])  # one shuffle for all
    models = {}
    for kind in ("logistic", "mlp", "cnn", "cnn_shuffled"):
        a, b = (x[:, order], x_test[:, order]) if kind == "cnn_shuffled" else (x, x_test)
        models[kind] = _train(kind.split("_")[0], a, y, b, y_test, steps, seed)
    return {"steps": steps, "n_train": len(x), "n_test": len(x_test), "models": models}


def checks(numbers):
    m = numbers["models"]
    out = [Check(f"{LABELS[k]} test accuracy", m[k]["test_accuracy"], "~=", PUBLISHED[k],
                 tolerance=TOLERANCE[k], published=f"{PUBLISHED[k]:.0%}") for k in PUBLISHED]
    drop = m["cnn"]["test_accuracy"] - m["cnn_shuffled"]["test_accuracy"]
    return out + [Check("CNN's drop when the positions are shuffled", drop, ">=", 0.2,
                        published=f"{PUBLISHED['cnn'] - PUBLISHED['cnn_shuffled']:.0%}")]


def verdict(numbers):
    m = numbers["models"]
    text = (f"After {numbers['steps']} Adam steps on {numbers['n_train']} signals, test "
            "accuracy on " + f"{numbers['n_test']}: " + "; ".join(
                f"{LABELS[k]} {m[k]['test_accuracy']:.1%} (paper {PUBLISHED[k]:.0%})"
                for k in PUBLISHED) + ".")
    return judged(checks(numbers), text)


def table(numbers):
    rows = [["model", "test accuracy (this run)", "test accuracy (paper)"]]
    for k in PUBLISHED:
        rows.append([LABELS[k], f"{numbers['models'][k]['test_accuracy']:.1%}",
                     f"{PUBLISHED[k]:.0%}"])
    return rows


def figure(numbers, path):
    fig, axes = common.figure(1, 2, size=(5.0, 4.0))
    ax = axes[0]
    for i, k in enumerate(PUBLISHED):
        curve = np.array(numbers["models"][k]["curve"])
        ax.plot(curve[:, 0], curve[:, 1], "o-", color=f"C{i}", label=LABELS[k])
        ax.axhline(PUBLISHED[k], color=f"C{i}", ls=":", lw=1)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("test accuracy")
    ax.set_title("training (dotted: the paper's final accuracy)")
    ax.legend(fontsize=7)
    ax = axes[1]
    kinds = list(PUBLISHED)
    pos = np.arange(len(kinds))
    ax.bar(pos - 0.2, [numbers["models"][k]["test_accuracy"] for k in kinds], 0.4,
           color="C0", label="measured")
    ax.bar(pos + 0.2, [PUBLISHED[k] for k in kinds], 0.4, color="0.6", label="paper")
    ax.set_xticks(pos, ["logistic", "MLP", "CNN", "CNN\nshuffled"])
    ax.set_xlabel("model")
    ax.set_ylabel("test accuracy")
    ax.set_title("measured against the paper's table")
    ax.legend(fontsize=8)
    return common.save(fig, path, TITLE)
