"""Callbacks: code that runs at fixed points of ``Trainer.fit``.

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_begin(trainer,
epoch)``, ``on_batch_end(trainer, logs)``, ``on_epoch_logs(trainer, epoch, logs)`` (add
numbers to the epoch's record before it is stored), ``on_epoch_end(trainer, epoch,
logs)`` (the record is in ``trainer.history``) and ``on_train_end(trainer)``. ``trainer`` gives the model, optimizer, epoch, step, history;
setting ``trainer.stop_training = True`` ends the run after the current epoch.
"""
import csv
import io
import json
import math
import os

from .. import checkpoint, serialization


class Callback:
    """The hooks of a training run, as Keras' callbacks: override any of
    ``on_train_begin``, ``on_epoch_begin``, ``on_batch_end``, ``on_epoch_logs``,
    ``on_epoch_end``, ``on_train_end``; each is given the :class:`Trainer` (and the epoch
    and logs)."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, logs):
        pass

    def on_epoch_logs(self, trainer, epoch, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass


class LRSchedule(Callback):
    """Step a learning-rate scheduler after every epoch (or every optimizer step).

    ``ReduceLROnPlateau`` is given the monitored number (``val_loss`` if there is
    validation data, else ``loss``).
    """

    def __init__(self, scheduler, interval="epoch", monitor=None):
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRSchedule: interval must be 'epoch' or 'step', got {interval!r}")
        self.scheduler, self.interval, self.monitor = scheduler, interval, monitor

    def _wants_metric(self):
        return type(self.scheduler).__name__ == "ReduceLROnPlateau"

    def on_batch_end(self, trainer, logs):
        if self.interval == "step":
            self.scheduler.step(logs["loss"]) if self._wants_metric() else self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.interval != "epoch":
            return
        if self._wants_metric():
            key = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError(f"EarlyStopping: patience and min_delta must be >= 0, got "
                             f"{patience}, {min_delta}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.restore_best_weights = restore_best_weights
        self.best, self.wait, self.best_weights, self.stopped_epoch = None, 0, None, None

    def _better(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: no {self.monitor!r} in the epoch's numbers "
                             f"{sorted(logs)}; pass val_data or monitor another key")
        value = logs[self.monitor]
        if self._better(value):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True
                self.stopped_epoch = epoch

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the full training state to ``directory/last.safetensors`` every
    ``every_steps`` optimizer steps and at the end of every epoch; with ``monitor``, also
    the best model so far to ``directory/best.safetensors``.

    Each write is atomic: a crash during a save leaves the previous file intact.
    """

    def __init__(self, directory, every_steps=None, monitor=None, mode="auto", config=None):
        if every_steps is not None and every_steps <= 0:
            raise ValueError(f"ModelCheckpoint: every_steps must be positive, got {every_steps}")
        self.directory, self.every_steps, self.config = os.fspath(directory), every_steps, config
        self.monitor = monitor
        self.mode = ("max" if monitor and "acc" in monitor else "min") if mode == "auto" else mode
        self.best = None

    @property
    def last_path(self):
        return os.path.join(self.directory, "last.safetensors")

    def save(self, trainer, path=None):
        checkpoint.save_checkpoint(path or self.last_path, trainer.model, trainer.optimizer,
                                   trainer.scheduler, trainer.state_dict(), self.config)

    def on_batch_end(self, trainer, logs):
        if self.every_steps and trainer.step % self.every_steps == 0:
            self.save(trainer)

    def on_epoch_end(self, trainer, epoch, logs):
        self.save(trainer)
        if self.monitor is not None and self.monitor in logs:
            value = logs[self.monitor]
            if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
                self.best = value
                checkpoint.save_model(trainer.model, os.path.join(self.directory, "best.safetensors"))


class MetricsLogger(Callback):
    """Rewrite ``metrics.csv`` and ``metrics.json`` (every epoch so far) after each epoch."""

    def __init__(self, directory):
        self.directory = os.fspath(directory)

    def on_epoch_end(self, trainer, epoch, logs):
        table = trainer.history.to_dict()
        serialization.atomic_write(os.path.join(self.directory, "metrics.json"),
                                   json.dumps(table, indent=1).encode())
        columns = list(table)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        for row in zip(*(table[c] for c in columns)):
            writer.writerow([_fmt(v) for v in row])
        serialization.atomic_write(os.path.join(self.directory, "metrics.csv"),
                                   text.getvalue().encode())


def _fmt(value):
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return str(value)


class GradientFlow(Callback):
    """Watch the gradient flow with :class:`deepgrad.diagnostics.GradientFlowMonitor`.

    Records every ``every`` steps, adds ``grad_ratio`` (first layer's gradient norm over
    the last's) to each epoch's numbers, prints the monitor's warnings (such as vanishing
    gradients) after each epoch, and at the end writes the gradient-norm-by-depth plot
    to ``path``.
    """

    def __init__(self, every=10, path=None, vanishing_ratio=0.01, stream=None):
        self.every, self.path, self.vanishing_ratio = every, path, vanishing_ratio
        self.stream, self.monitor = stream, None

    def on_train_begin(self, trainer):
        from ..diagnostics import GradientFlowMonitor
        if self.monitor is None:
            self.monitor = GradientFlowMonitor(trainer.model, every=self.every,
                                               vanishing_ratio=self.vanishing_ratio)

    def on_batch_end(self, trainer, logs):
        self.monitor.step()

    def on_epoch_logs(self, trainer, epoch, logs):
        if not self.monitor.records:
            return
        logs["grad_ratio"] = self.monitor.gradient_ratio()
        import sys
        for issue in self.monitor.issues():
            print(f"gradient flow: {issue}", file=self.stream or sys.stderr, flush=True)

    def on_train_end(self, trainer):
        if self.path is not None and self.monitor.records:
            self.monitor.plot(self.path)
        self.monitor.remove()
        self.monitor = None


class LiveCurves(Callback):
    """The training curves (:meth:`History.plot`), redrawn after every epoch: in a
    notebook as one figure updated in place, elsewhere written to ``path`` (a PNG,
    replaced atomically) if one is given."""

    def __init__(self, path=None):
        from . import notebook
        self.path, self.notebook = path, notebook.in_notebook()
        self._output = notebook.LiveOutput() if self.notebook else None

    def on_epoch_end(self, trainer, epoch, logs):
        if not (self.notebook or self.path):
            return
        fig = trainer.history.plot(self.path)
        if self.notebook:
            from IPython.display import Image
            from .. import plotting
            self._output.show(Image(data=plotting.png_bytes(fig), format="png"))
