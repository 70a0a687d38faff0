"""Course code example: "Multi-layer perceptron classification".

An MLP (2 -> 64 -> 64 -> 3, ReLU) learns to separate three interleaved spirals, which no
linear classifier can; the figure shows the learned decision regions over the data and
the training loss.

Run: ``deepgrad example mlp [--out DIR]`` or ``python -m deepgrad.examples.mlp_classification``.
"""
import os

import numpy as np

import deepgrad as dg
from deepgrad import nn, plotting
from deepgrad.examples import parse_args
from deepgrad.nn.models import mlp
from deepgrad.data import DataLoader, TensorDataset, spirals, train_test_split
from deepgrad.train import evaluate, fit


def run(out=".", epochs=300, lr=0.1, hidden=64, seed=0, verbose=False):
    """Train on the spirals; write ``mlp_classification.png``; return accuracies."""
    dg.manual_seed(seed)
    x, y = spirals(600, n_classes=3, noise=0.2, seed=seed)
    x_train, y_train, x_test, y_test = train_test_split(x, y, 0.2, seed=seed)
    model = mlp(2, 3, hidden=hidden, depth=2)
    loss_fn = nn.CrossEntropyLoss()
    opt = dg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True, seed=seed)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=256)
    history = fit(model, loss_fn, opt, train, epochs=epochs, verbose=verbose)
    result = {"train_accuracy": history.last("accuracy"),
              "test_accuracy": evaluate(model, loss_fn, test)["accuracy"]}
    result["figure"] = plot(model, x, y, history, os.path.join(out, "mlp_classification.png"))
    return result


def plot(model, x, y, history, path):
    lo, hi = x.min(0) - 0.2, x.max(0) + 0.2
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    model.eval()
    with dg.no_grad():
        regions = model(dg.tensor(grid))._data.argmax(1).reshape(gx.shape)
    fig, (ax1, ax2) = plotting.subplots(1, 2, figsize=(10, 4.5))
    from matplotlib.colors import ListedColormap
    light = ListedColormap(["#f6c9c9", "#c9d9f6", "#cdeecd"])  # the points' colours, paler
    ax1.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap=light)
    for k, colour in zip(range(3), ("tab:red", "tab:blue", "tab:green")):
        ax1.scatter(*x[y == k].T, s=8, c=colour, label=f"class {k}")
    ax1.set_xlabel("x1")
    ax1.set_ylabel("x2")
    ax1.set_title("decision regions of the trained MLP")
    ax1.legend(loc="upper right")
    ax2.plot(history.epochs, history["loss"], label="training loss")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("cross-entropy")
    ax2.set_yscale("log")
    ax2.grid(alpha=0.3)
    ax2.legend()
    return plotting.save(fig, path)


def main(argv=None):
    args = parse_args("mlp", __doc__, run, argv)
    result = run(args.out, args.epochs, args.lr, seed=args.seed)
    print(f"train accuracy {result['train_accuracy']:.4f}  test accuracy "
          f"{result['test_accuracy']:.4f}")
    print(f"wrote {result['figure']}")


if __name__ == "__main__":
    main()
