"""Dropout as the network grows (Srivastava et al., 2014, Figure 4), at this machine's scale.

The paper's Figure 4: on MNIST, every architecture it tried (2 to 4 hidden layers of
1,024 to 2,048 units) has a lower test error with dropout than without. Here, on the
bundled 5,000-image MNIST subset (4,000 to train, 1,000 to test), MLPs of two hidden
ReLU layers of growing width, each trained twice from the same weights and batches:
without dropout, and with the paper's rates (0.2 on the input, 0.5 on the hidden
units); SGD with momentum 0.9, lr 0.05, minibatches of 100; 10 epochs and widths 64 and
512 in quick mode, 30 epochs and widths 64, 256 and 1,024 in full (the paper: 60,000
images, up to 8,192 units, thousands of epochs; the report says so).

The direction of the figure, not its numbers, is what reproduces at this scale: the
larger the network (the more it can overfit 4,000 images), the more dropout lowers its
test error; the smallest one has too little capacity to gain from it.
"""
import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.train import train_step

from . import _common as common
from .verdicts import Check, verdict as judged

NAME = "dropout-size"
TITLE = "Dropout as the network grows (Srivastava et al., 2014, Figure 4)"
SOURCE = "Srivastava et al., \"Dropout\", JMLR 2014, Figure 4"
CLAIM = ("Dropout lowers the test error of MNIST networks, the large ones most: every "
         "architecture of the paper's Figure 4 has a lower test error with dropout.")
CRITERION = ("At the largest width the test error with dropout is below the error without; "
             "the gain from dropout (error without minus with) is larger at the largest "
             "width than at the smallest.")

INPUT_RATE, HIDDEN_RATE = 0.2, 0.5


def _net(width, dropout):
    p_in, p = (INPUT_RATE, HIDDEN_RATE) if dropout else (0.0, 0.0)
    return nn.Sequential(nn.Dropout(p_in), nn.Linear(784, width), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(width, width), nn.ReLU(), nn.Dropout(p),
                         nn.Linear(width, 10))


def _test_error(width, dropout, data, epochs, seed):
    x, y, x_test, y_test = data
    common.seed_all(seed)
    model = _net(width, dropout)
    opt = dg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), batch_size=100, shuffle=True, seed=seed)
    for _ in range(epochs):
        for xb, yb in loader:
            train_step(model, common.cross_entropy, opt, xb, yb)
    return 1.0 - common.accuracy_of(model, *common.tensors(x_test, y_test))


def run(quick=True, seed=0, out_dir=None):
    widths, epochs = ((64, 512), 10) if quick else ((64, 256, 1024), 30)
    data = (*common.mnist_images("train", seed), *common.mnist_images("test", seed))
    errors = {str(w): {"without": _test_error(w, False, data, epochs, seed),
                       "with": _test_error(w, True, data, epochs, seed)} for w in widths}
    return {"widths": list(widths), "epochs": epochs, "n_train": len(data[0]),
            "test_error": errors}


def _gain(numbers, width):
    e = numbers["test_error"][str(width)]
    return e["without"] - e["with"]


def checks(numbers):
    small, large = numbers["widths"][0], numbers["widths"][-1]
    e = numbers["test_error"][str(large)]
    return [Check(f"test error at width {large}, with dropout - without",
                  e["with"] - e["without"], "<", 0, published="lower with dropout (Fig. 4)"),
            Check(f"dropout's gain at width {large} - at width {small}",
                  _gain(numbers, large) - _gain(numbers, small), ">", 0,
                  published="largest for the large nets")]


def verdict(numbers):
    parts = [f"width {w}: {e['without']:.3f} without dropout, {e['with']:.3f} with"
             for w, e in numbers["test_error"].items()]
    text = (f"Test error after {numbers['epochs']} epochs on {numbers['n_train']} MNIST "
            f"images (the paper: 60,000 images, far larger nets): " + "; ".join(parts) + ".")
    return judged(checks(numbers), text)


def figure(numbers, path):
    fig, axes = common.figure(1, 1, size=(5.6, 4.0))
    ax = axes[0]
    widths = numbers["widths"]
    for key, color, label in (("without", "C3", "without dropout"),
                              ("with", "C0", f"dropout {INPUT_RATE:g} input, "
                                             f"{HIDDEN_RATE:g} hidden")):
        ax.semilogx(widths, [numbers["test_error"][str(w)][key] for w in widths], "o-",
                    color=color, label=label, base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set_xlabel("hidden units per layer (two layers)")
    ax.set_ylabel("test error")
    ax.set_title("test error as the network grows")
    ax.legend(fontsize=8)
    return common.save(fig, path, TITLE + " (5,000-image MNIST subset)")
