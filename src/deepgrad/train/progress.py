"""Progress display: a bar redrawn in place on a terminal, one line per epoch elsewhere.

On a terminal the bar shows the batch count, rate, ETA and running loss, and is
redrawn at most every ``interval`` seconds (0.1 s: ten times a second), so printing
never slows training. Piped to a file, only the finished epoch's line is written.
"""
import sys
import time

from .callbacks import Callback


def format_logs(logs):
    return "  ".join(f"{k} {v:.2f}s" if k == "time" else
                     (f"{k} {v:.3g}" if k == "lr" else f"{k} {v:.4f}")
                     for k, v in logs.items())


class ProgressBar(Callback):
    def __init__(self, epochs=None, stream=None, interval=0.1, width=24):
        self.epochs, self.stream, self.interval, self.width = epochs, stream, interval, width
        self._last_draw, self._start, self._first_batch = 0.0, 0.0, 0

    @property
    def out(self):
        return self.stream or sys.stdout

    def is_terminal(self):
        isatty = getattr(self.out, "isatty", None)
        return bool(isatty and isatty())

    def _label(self, epoch):
        return f"epoch {epoch}/{self.epochs}" if self.epochs else f"epoch {epoch}"

    def on_epoch_begin(self, trainer, epoch):
        self._start = time.perf_counter()
        self._first_batch = trainer.batch
        self._last_draw = 0.0
        self._epoch = epoch

    def on_batch_end(self, trainer, logs):
        if not self.is_terminal():
            return
        now = time.perf_counter()
        if now - self._last_draw < self.interval:
            return
        self._last_draw = now
        total = trainer.batches_per_epoch
        done = trainer.batch
        rate = (done - self._first_batch) / max(now - self._start, 1e-9)
        bar = ""
        eta = ""
        if total:
            filled = int(self.width * done / total)
            bar = "[" + "=" * filled + " " * (self.width - filled) + "] "
            eta = f"  ETA {max(total - done, 0) / max(rate, 1e-9):.0f}s"
        count = f"{done}/{total}" if total else f"{done}"
        line = (f"{self._label(self._epoch)} {bar}{count}  {rate:.1f} it/s{eta}  "
                f"loss {logs['loss']:.4f}")
        self.out.write("\r" + line + "\x1b[K")
        self.out.flush()

    def on_epoch_end(self, trainer, epoch, logs):
        prefix = "\r\x1b[K" if self.is_terminal() else ""
        self.out.write(f"{prefix}{self._label(epoch)}  {format_logs(logs)}\n")
        self.out.flush()
