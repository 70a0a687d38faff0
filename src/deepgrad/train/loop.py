"""The training loop: ``fit`` runs epochs of minibatch steps and validation.

    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader,
                  val_data=val_loader, epochs=10, metrics=["accuracy"])

Each epoch: ``model.train()``, for every batch forward, loss, backward, step; then, with
``val_data``, ``model.eval()`` under ``no_grad`` for the ``val_`` numbers. Losses and
metrics are averaged over samples, not batches.
"""
import math
import sys
import time

from ..autograd import no_grad
from . import metrics as metrics_mod
from .history import History


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message says at which epoch and step."""


def evaluate(model, loss_fn, data, metrics=("accuracy",)):
    """Average loss and metrics over ``data`` in eval mode; the model's mode is restored."""
    named = [metrics_mod.get(m) for m in metrics]
    was_training = model.training
    model.eval()
    totals = {"loss": 0.0, **{name: 0.0 for name, _ in named}}
    count = 0
    try:
        with no_grad():
            for x, y in data:
                out = model(x)
                n = y.shape[0]
                totals["loss"] += float(loss_fn(out, y).item()) * n
                for name, fn in named:
                    totals[name] += fn(out, y)[0]
                count += n
    finally:
        model.train(was_training)
    return {k: v / count for k, v in totals.items()}


def fit(model, loss_fn, optimizer, train_data, val_data=None, epochs=1,
        metrics=("accuracy",), scheduler=None, log=None):
    """Train ``model`` and return a :class:`History` of per-epoch numbers.

    ``log(epoch, logs)`` is called after each epoch (default: one line to stderr);
    ``scheduler.step()`` is called once per epoch.
    """
    named = [metrics_mod.get(m) for m in metrics]
    log = print_epoch if log is None else log
    history = History()
    step = 0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        totals = {"loss": 0.0, **{name: 0.0 for name, _ in named}}
        count = 0
        for x, y in train_data:
            out = model(x)
            loss = loss_fn(out, y)
            value = float(loss.item())
            step += 1
            if not math.isfinite(value):
                raise NonFiniteLossError(f"the loss became {value} at epoch {epoch}, step "
                                         f"{step}; try a smaller learning rate")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n = y.shape[0]
            totals["loss"] += value * n
            for name, fn in named:
                totals[name] += fn(out, y)[0]
            count += n
        logs = {k: v / count for k, v in totals.items()}
        if val_data is not None:
            logs.update({f"val_{k}": v for k, v in
                         evaluate(model, loss_fn, val_data, metrics).items()})
        if scheduler is not None:
            scheduler.step()
        logs["time"] = time.perf_counter() - start
        history.append(epoch, logs)
        log(epoch, logs)
    return history


def format_logs(logs):
    return "  ".join(f"{k} {v:.2f}s" if k == "time" else f"{k} {v:.4f}"
                     for k, v in logs.items())


def print_epoch(epoch, logs, stream=None, epochs=None):
    total = f"/{epochs}" if epochs else ""
    print(f"epoch {epoch}{total}  {format_logs(logs)}", file=stream or sys.stderr, flush=True)
