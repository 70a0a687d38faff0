"""Progress display: a bar redrawn in place on a terminal and in a notebook, one line
per epoch elsewhere.

The bar shows the batch count, rate, ETA and running loss, and is redrawn at most every
``interval`` seconds (a terminal ten times a second, a notebook four: each redraw there
is a message to the front end), so printing never slows training. In a notebook the
whole run is one HTML output, updated in place (``notebook.py``; no widget extension):
the last few epochs' lines and the running bar, so a long run does not flood the page.
Piped to a file, only each finished epoch's line is written.
"""
import html
import sys
import time

from . import notebook
from .callbacks import Callback

NOTEBOOK_INTERVAL = 0.25
NOTEBOOK_LINES = 8  # finished epochs kept in view above the bar


def format_logs(logs):
    return "  ".join(f"{k} {v:.2f}s" if k == "time" else
                     (f"{k} {v:.3g}" if k == "lr" else f"{k} {v:.4f}")
                     for k, v in logs.items())


class ProgressBar(Callback):
    """The progress of a run: on a terminal one line redrawn at most every ``interval``
    seconds, in a notebook one output redrawn in place, elsewhere one line per epoch."""
    def __init__(self, epochs=None, stream=None, interval=0.1, width=24):
        self.epochs, self.stream, self.interval, self.width = epochs, stream, interval, width
        self._last_draw, self._start, self._first_batch = 0.0, 0.0, 0
        # a notebook, unless output goes to a stream of the caller's
        self.notebook = stream is None and notebook.in_notebook()
        self._output, self._lines = None, []

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

    def on_train_begin(self, trainer):
        if self.notebook:
            self._output, self._lines = notebook.LiveOutput(), []  # one output per run

    def _show(self, running=""):
        earlier = len(self._lines) - NOTEBOOK_LINES
        lines = ([f"({earlier} earlier epochs)"] if earlier > 0 else []) + \
            self._lines[-NOTEBOOK_LINES:]
        self._output.show(notebook.html(
            "".join(f"<code>{html.escape(line)}</code><br>" for line in lines) + running))

    def on_batch_end(self, trainer, logs):
        if not (self.notebook or self.is_terminal()):
            return
        now = time.perf_counter()
        interval = max(self.interval, NOTEBOOK_INTERVAL) if self.notebook else self.interval
        if now - self._last_draw < interval:
            return
        self._last_draw = now
        total = trainer.batches_per_epoch
        done = trainer.batch
        rate = (done - self._first_batch) / max(now - self._start, 1e-9)
        eta = f"  ETA {max(total - done, 0) / max(rate, 1e-9):.0f}s" if total else ""
        count = f"{done}/{total}" if total else f"{done}"
        status = f"{count}  {rate:.1f} it/s{eta}  loss {logs['loss']:.4f}"
        if self.notebook:
            self._show(f"<code>{html.escape(self._label(self._epoch))}</code> "
                       f"<progress value='{done}' max='{total or done}'></progress> "
                       f"<code>{html.escape(status)}</code>")
            return
        bar = ""
        if total:
            filled = int(self.width * done / total)
            bar = "[" + "=" * filled + " " * (self.width - filled) + "] "
        self.out.write(f"\r{self._label(self._epoch)} {bar}{status}\x1b[K")
        self.out.flush()

    def on_epoch_end(self, trainer, epoch, logs):
        line = f"{self._label(epoch)}  {format_logs(logs)}"
        if self.notebook:
            self._lines.append(line)
            self._show()
            return
        prefix = "\r\x1b[K" if self.is_terminal() else ""
        self.out.write(f"{prefix}{line}\n")
        self.out.flush()
