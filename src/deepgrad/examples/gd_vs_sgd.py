"""Course code example: "Gradient Descent vs Stochastic Gradient Descent".

The same small MLP is trained on the same two-moons problem with the same budget of
sample-gradient evaluations (``epochs`` x N):

* gradient descent: one step per epoch, on the gradient over all N samples [1..N];
* minibatch SGD: N/B steps per epoch, each on B samples b(1)..b(B) drawn from [1, N]
  with replacement, as on the slide.

The training loss over the whole set is recorded after every epoch. SGD makes N/B
updates for the price of one full-gradient update, so at an equal budget it is far
ahead; the figure shows the loss against epochs (= sample gradients / N) and against
the number of parameter updates.

Run: ``deepgrad example gd-vs-sgd [--out DIR]`` or ``python -m deepgrad.examples.gd_vs_sgd``.
"""
import os
import time

import deepgrad as dg
from deepgrad import nn, plotting
from deepgrad.examples import parse_args
from deepgrad.data import DataLoader, TensorDataset, two_moons


def make_model():
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2))


def full_loss(model, x, y):
    with dg.no_grad():
        return dg.nn.functional.cross_entropy(model(x), y).item()


def train(batch_size, x, y, epochs, lr, seed):
    """Train a fresh model; ``batch_size=None`` is full-batch gradient descent."""
    dg.manual_seed(seed)  # the same initial weights for every run
    model = make_model()
    opt = dg.optim.SGD(model.parameters(), lr=lr)
    xt, yt = dg.tensor(x), dg.tensor(y)
    if batch_size is None:
        loader = [(xt, yt)]  # one step per epoch on the full gradient
    else:
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size,
                            replacement=True, seed=seed)
    losses, updates, elapsed = [full_loss(model, xt, yt)], [0], [0.0]
    for _ in range(epochs):
        start = time.perf_counter()
        for xb, yb in loader:
            loss = dg.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        elapsed.append(elapsed[-1] + time.perf_counter() - start)  # training time only
        updates.append(updates[-1] + len(loader))
        losses.append(full_loss(model, xt, yt))
    return {"loss": losses, "updates": updates, "seconds": elapsed}


def run(out=".", epochs=40, lr=0.2, batch_sizes=(8, 32), n_samples=512, seed=0):
    """Run GD and SGD at each batch size; write ``gd_vs_sgd.png``; return the curves."""
    x, y = two_moons(n_samples, noise=0.15, seed=seed)
    runs = {"GD (B = N)": train(None, x, y, epochs, lr, seed)}
    for b in batch_sizes:
        runs[f"SGD (B = {b})"] = train(b, x, y, epochs, lr, seed)
    path = plot(runs, os.path.join(out, "gd_vs_sgd.png"), n_samples)
    return {"runs": runs, "figure": path}


def plot(runs, path, n):
    fig, (ax1, ax2) = plotting.subplots(1, 2, figsize=(10, 4))
    for label, r in runs.items():
        epochs = range(len(r["loss"]))
        ax1.plot(epochs, r["loss"], label=label)
        ax2.plot(r["updates"], r["loss"], label=label)
    ax1.set_xlabel(f"epochs (sample gradients / N, N = {n})")
    ax2.set_xlabel("parameter updates")
    ax2.set_xscale("symlog", linthresh=1)
    ax1.set_ylabel("training loss (cross-entropy, all N samples)")
    for ax in (ax1, ax2):
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Gradient descent vs stochastic gradient descent, same budget")
    return plotting.save(fig, path)


def main(argv=None):
    args = parse_args("gd-vs-sgd", __doc__, run, argv)
    result = run(args.out, args.epochs, args.lr, seed=args.seed)
    for label, r in result["runs"].items():
        print(f"{label:14s} final loss {r['loss'][-1]:.4f} after {r['updates'][-1]:5d} "
              f"updates, {r['seconds'][-1]:.2f}s")
    print(f"wrote {result['figure']}")


if __name__ == "__main__":
    main()
