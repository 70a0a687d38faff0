"""The training loop: a Trainer runs epochs of minibatch steps, validation and callbacks.

    history = fit(model, nn.CrossEntropyLoss(), optimizer, train_loader,
                  val_data=val_loader, epochs=10, metrics=["accuracy"])

Each epoch: ``model.train()``, for every batch forward, loss, backward, step; then, with
``val_data``, ``model.eval()`` under ``no_grad`` for the ``val_`` numbers. Losses and
metrics are averaged over samples, not batches.

The Trainer's position (epoch, batch within the epoch, step, the epoch's running sums,
the history) is its ``state_dict()``; with a DataLoader, whose batch order is a pure
function of its seed and the epoch, a run restored from a checkpoint taken in the middle
of an epoch continues with exactly the batches it would have seen.
"""
import math
import time

from .. import distributed as dist
from ..autograd import Tensor, no_grad
from . import metrics as metrics_mod
from .callbacks import Callback, LRSchedule
from .history import History
from .progress import ProgressBar


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message says at which epoch and step."""


def train_step(model, loss_fn, optimizer, x, y):
    """One step of minibatch training, the body of the course's loop: forward, loss,
    backward, update. Returns the minibatch loss as a float, unchecked (a diverging run
    shows as inf or NaN; the Trainer's step adds the check and the data-parallel sync)."""
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(loss.item())


def evaluate(model, loss_fn, data, metrics=("accuracy",)):
    """Average loss and metrics over ``data`` in eval mode; the model's mode is restored.
    With ``loss_fn=None`` only the metrics are computed."""
    named = [metrics_mod.get(m) for m in metrics]
    was_training = model.training
    model.eval()
    sums, count = _zero(named), 0
    try:
        with no_grad():
            device = _model_device(model)
            for x, y in data:
                x, y = _to(x, device), _to(y, device)
                out = model(x)
                loss = float(loss_fn(out, y).item()) if loss_fn is not None else 0.0
                count += _accumulate(sums, named, out, y, loss)
    finally:
        model.train(was_training)
    if loss_fn is None:
        del sums["loss"]
    return {k: v / count for k, v in sums.items()}


def _model_device(model):
    """Where the model's parameters live: batches are moved there ('cpu' if none)."""
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else "cpu"


def _to(batch, device):
    return batch.to(device) if isinstance(batch, Tensor) else batch


def _zero(named):
    return {"loss": 0.0, **{name: 0.0 for name, _ in named}}


def _accumulate(sums, named, out, y, loss):
    n = y.shape[0]
    sums["loss"] += loss * n
    for name, fn in named:
        sums[name] += fn(out, y)[0]
    return n


class Trainer:
    """The training loop behind :func:`fit`: one optimizer step per minibatch of
    ``train_data``, the ``metrics`` (and their ``val_`` forms on ``val_data``) per epoch,
    the ``scheduler`` stepped per epoch, the ``callbacks`` called around each batch and
    epoch; ``distributed=True`` averages the gradients over MPI ranks. ``fit(epochs)``
    runs it and returns the :class:`History`."""
    def __init__(self, model, loss_fn, optimizer, train_data, val_data=None,
                 metrics=("accuracy",), callbacks=(), scheduler=None, distributed=False):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_data, self.val_data = train_data, val_data
        self.metrics = [metrics_mod.get(m) for m in metrics]
        self.scheduler = scheduler
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
        if scheduler is not None and not any(isinstance(c, LRSchedule) for c in self.callbacks):
            self.callbacks.insert(0, LRSchedule(scheduler))
        self.epoch = 0   # epochs completed
        self.batch = 0   # batches completed in the current epoch
        self.step = 0    # optimizer steps completed
        self.sums, self.count = _zero(self.metrics), 0
        self.history = History()
        self.stop_training = False
        # Data parallel under mpiexec: every rank holds the whole model, sees its shard of
        # each global batch, and applies the same averaged gradient.
        self.sync = None
        if distributed:
            dist.init()
        if distributed and dist.is_distributed():
            if not hasattr(train_data, "shard"):
                raise TypeError("Trainer: distributed training needs a DataLoader (it shards "
                                "each global batch across ranks)")
            train_data.shard(dist.rank(), dist.world_size())
            self.sync = dist.GradientSync(model.parameters())

    @property
    def batches_per_epoch(self):
        try:
            return len(self.train_data)
        except TypeError:
            return None

    def _batches(self):
        if hasattr(self.train_data, "iterate"):
            return self.train_data.iterate(self.epoch, self.batch)
        batches = iter(self.train_data)  # any iterable: restart the epoch, skip done ones
        for _ in range(self.batch):
            next(batches, None)
        return batches

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def fit(self, epochs):
        """Train until ``epochs`` epochs are complete (counting restored ones)."""
        self.stop_training = False
        if self.sync is not None:
            dist.broadcast_model(self.model)
        self._call("on_train_begin")
        while self.epoch < epochs and not self.stop_training:
            number = self.epoch + 1
            start = time.perf_counter()
            self._call("on_epoch_begin", number)
            self.model.train()
            device = _model_device(self.model)  # batches go where the model is
            for x, y in self._batches():
                self._train_step(_to(x, device), _to(y, device), number)
            sums, count = self.sums, self.count
            if self.sync is not None:  # every rank logs the numbers of the whole epoch
                totals = dist.allreduce_sum({**sums, "__count": count})
                count = totals.pop("__count")
                sums = {k: totals[k] for k in sums}  # keep the column order
            logs = {k: v / max(count, 1) for k, v in sums.items()}
            if self.val_data is not None:
                val = evaluate(self.model, self.loss_fn, self.val_data,
                               [name for name, _ in self.metrics])
                logs.update({f"val_{k}": v for k, v in val.items()})
            logs["lr"] = self.optimizer.param_groups[0]["lr"]  # the lr this epoch used
            logs["time"] = time.perf_counter() - start
            self.epoch, self.batch = number, 0
            self.sums, self.count = _zero(self.metrics), 0
            self._call("on_epoch_logs", number, logs)
            self.history.append(number, logs)
            self._call("on_epoch_end", number, logs)
        self._call("on_train_end")
        return self.history

    def _train_step(self, x, y, epoch):
        self.optimizer.zero_grad()
        n = y.shape[0]
        if n:  # a rank's shard of a small last batch may be empty
            out = self.model(x)
            loss = self.loss_fn(out, y)
            value = float(loss.item())
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"the loss became {value} at epoch {epoch}, step {self.step + 1} (batch "
                    f"{self.batch + 1}); nothing was updated from it and saved checkpoints "
                    f"are intact. Try a smaller learning rate.")
            # distributed: backpropagate the shard's loss sum; the sync divides by the
            # global batch size, giving the gradient of the global mean loss
            (loss * n if self.sync is not None else loss).backward()
            self.count += _accumulate(self.sums, self.metrics, out, y, value)
        else:
            value = float("nan")
        if self.sync is not None:
            self.sync(n)
        self.optimizer.step()
        self.batch += 1
        self.step += 1
        self._call("on_batch_end", {"loss": value})

    def state_dict(self):
        state = {"epoch": self.epoch, "batch": self.batch, "step": self.step,
                 "sums": dict(self.sums), "count": self.count,
                 "history": self.history.to_dict()}
        if hasattr(self.train_data, "state_dict"):
            state["train_data"] = self.train_data.state_dict()
        return state

    def load_state_dict(self, state):
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        self.sums, self.count = dict(state["sums"]), state["count"]
        self.history = History.from_dict(state["history"])
        if "train_data" in state and hasattr(self.train_data, "load_state_dict"):
            self.train_data.load_state_dict(state["train_data"])


def fit(model, loss_fn, optimizer, train_data, val_data=None, epochs=1,
        metrics=("accuracy",), callbacks=None, scheduler=None, verbose=True,
        distributed=False):
    """Train ``model`` for ``epochs`` epochs and return the :class:`History`.

    ``callbacks`` defaults to a progress display (a bar on a terminal, one line per
    epoch elsewhere; on rank 0 only) when ``verbose``; ``scheduler`` is stepped once per
    epoch. With ``distributed=True`` under ``mpiexec -n K``, each global batch of the
    DataLoader is split across the K ranks and their gradients averaged: the same steps
    as one process (see :mod:`deepgrad.distributed`).
    """
    if distributed:
        dist.init()
    if callbacks is None:
        callbacks = [ProgressBar(epochs)] if verbose and dist.is_main() else []
    trainer = Trainer(model, loss_fn, optimizer, train_data, val_data, metrics, callbacks,
                      scheduler, distributed)
    return trainer.fit(epochs)
