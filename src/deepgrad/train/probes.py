"""Training probes: what the layers do while a network trains (issue 19).

    fit(model, loss_fn, optimizer, loader, epochs=5,
        callbacks=[ProgressBar(5), Probes(every=10, out_dir="run")])

or ``deepgrad train --probes [--probes-every N] --out DIR``. Every ``every`` optimizer
steps, :class:`Probes` records per layer:

* the **activations**: each layer's output (a forward hook), as a histogram of
  ``bins`` equal bins between the batch's smallest and largest value, with count, mean,
  std, min, max and 2-norm;
* the **gradients**: the gradient ``dL/dy`` of each layer's output y, observed during
  backward by a tensor hook (``Tensor.register_hook``) on the output the forward hook
  saw, in the same form; and per parameter the norm of ``.grad`` (read after the step:
  no optimizer changes ``.grad``);
* the fraction of **saturated** units after a Sigmoid (output < 0.01 or > 0.99) or Tanh
  (``|output| > 0.99``) layer, over the batch's outputs (sample x unit), and of **dead**
  units after a ReLU layer: units (features, or channel positions of a feature map)
  that output 0 for every sample of the batch;
* the **update-to-weight ratio** of each parameter, ``||w_after - w_before|| /
  ||w_before||`` for the step: the weights are copied by a forward hook on the model
  (after its forward, before backward and the step) and compared in ``on_batch_end``
  (after the step); ``1e-3`` is the usual guide;
* **batch norm**: the running mean and variance (mean, min and max over channels) of
  each BatchNorm layer after the step's update, and the batch mean and variance of its
  input per channel (unbiased: the variance that the running variance averages; the
  layer itself normalises with the biased one), summarised the same way.

Layers are the model's leaf modules (modules without children), but for the pure
reshapes (Flatten, Unflatten, Identity); activations computed by functions inside a
module's ``forward`` are part of that module's output, not layers of their own. A module
called several times in one forward is recorded at its first call.

The recorded steps are those with ``trainer.step`` (optimizer steps before this one)
``% every == 0``: steps 0, every, 2*every, ...; only training forwards (the model in
train mode, gradients enabled) are probed, so validation is not. The hooks only read:
training with probes gives bit for bit the weights it gives without (no random numbers
drawn, nothing changed in place). They are removed in ``on_train_end``.

``probes.records`` (also :meth:`Probes.to_dict`) holds plain numbers, one list entry per
recorded step (None where nothing was seen). With ``out_dir``, ``on_train_end`` writes
``probes.json`` (atomically) and the figures (:func:`figures`): ``probes_activations.png``
and ``probes_gradients.png`` (per layer the histograms over steps as an image, like
TensorBoard's distributions, with mean and mean +- std), ``probes_saturation.png``,
``probes_update_ratio.png`` (log scale, with the parameter gradient norms) and, with
BatchNorm layers, ``probes_batchnorm.png``; and, when ``tensorboardX`` or
``torch.utils.tensorboard`` is importable, TensorBoard event files (scalars and
histograms) under ``out_dir/tensorboard`` (without either, one line says they were
skipped).
"""
import json
import math
import os
import sys

from .. import backend, grad_mode
from .callbacks import Callback
from .probe_figures import figures, write  # the files and figures, apart

__all__ = ["Probes", "figures", "write"]

SATURATION = 0.01  # a sigmoid unit within this of 0 or 1 (a tanh unit of -1 or 1)
FIGURES = ("probes_activations.png", "probes_gradients.png", "probes_saturation.png",
           "probes_update_ratio.png", "probes_batchnorm.png")
_RESHAPES = ("Flatten", "Unflatten", "Identity")


def _kind(module):
    """'sigmoid', 'tanh', 'relu', 'batchnorm' or None."""
    from ..nn.activation import ReLU, Sigmoid, Tanh
    from ..nn.batchnorm import _BatchNorm
    for cls, kind in ((Sigmoid, "sigmoid"), (Tanh, "tanh"), (ReLU, "relu"),
                      (_BatchNorm, "batchnorm")):
        if isinstance(module, cls):
            return kind
    return None


def _float(value):
    """A Python float, or None when not finite (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _norm(array):
    """The 2-norm of an array, accumulated in float64."""
    xp = backend.get_array_module(array)
    flat = array.reshape(-1).astype(xp.float64)
    return _float(math.sqrt(float(flat @ flat)))


def distribution(array, bins):
    """Count, mean, std, min, max, 2-norm and a ``bins``-bin histogram of an array's
    finite values (``{"lo", "hi", "counts"}``: equal bins from lo to hi, the largest
    value in the last bin; a constant array gets the bins of [v - 0.5, v + 0.5])."""
    xp = backend.get_array_module(array)
    values = array.astype(xp.float64).reshape(-1)
    count = int(values.size)
    finite = xp.isfinite(values)
    if not bool(finite.all()):
        values = values[finite]
    stats = {"count": count, "nonfinite": count - int(values.size), "mean": None,
             "std": None, "min": None, "max": None, "norm": None, "hist": None}
    if not values.size:
        return stats
    lo, hi = float(values.min()), float(values.max())
    edges = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
    counts, _ = xp.histogram(values, bins=bins, range=edges)
    stats.update(mean=_float(values.mean()), std=_float(values.std()), min=lo, max=hi,
                 norm=_float(math.sqrt(float(values @ values))),
                 hist={"lo": edges[0], "hi": edges[1],
                       "counts": [int(c) for c in counts.tolist()]})
    return stats


def _summary(vector):
    """Mean, min and max of a per-channel vector."""
    if vector is None:
        return None
    return {"mean": _float(vector.mean()), "min": _float(vector.min()),
            "max": _float(vector.max())}


class Probes(Callback):
    """Record activation and gradient distributions, saturated and dead units,
    update-to-weight ratios and batch-norm statistics every ``every`` steps (see the
    module's docstring for what each number is and where it is observed).

    ``out_dir``: where ``on_train_end`` writes ``probes.json``, the figures and (when a
    SummaryWriter is importable and ``tensorboard``) ``tensorboard/``; None keeps the
    records in memory only. ``bins``: histogram bins per record. ``stream``: where the
    one-line notes go (default stdout).
    """

    def __init__(self, every=10, out_dir=None, bins=30, tensorboard=True, stream=None):
        for name, value in (("every", every), ("bins", bins)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Probes: {name} must be a positive integer, got {value!r}")
        self.every, self.bins, self.tensorboard = every, bins, bool(tensorboard)
        self.out_dir = None if out_dir is None else os.fspath(out_dir)
        self.stream = stream
        self.records = None
        self.written = []  # the files on_train_end wrote
        self._handles, self._model, self._trainer, self._events = [], None, None, None
        self._clear()

    def _clear(self):
        self._step = None      # the step whose forward was probed
        self._acts, self._grads, self._bn_inputs, self._weights = {}, {}, {}, {}

    def _say(self, text):
        print(f"probes: {text}", file=self.stream or sys.stdout, flush=True)

    # -- attaching ----------------------------------------------------------------------
    def on_train_begin(self, trainer):
        self.remove()
        self._trainer, self._model = trainer, trainer.model
        layers = [(name, m) for name, m in self._model.named_modules()
                  if not m._modules and type(m).__name__ not in _RESHAPES]
        if self.records is None:
            self.records = self._empty(layers)
        for name, module in layers:
            self._handles.append(module.register_forward_hook(self._layer_hook(name)))
        self._handles.append(self._model.register_forward_hook(self._model_hook))
        self._clear()
        if self.out_dir is not None and self.tensorboard and self._events is None:
            self._open_events()

    def _empty(self, layers):
        params = [(n, p) for n, p in self._model.named_parameters() if p.requires_grad]
        return {
            "every": self.every, "bins": self.bins, "steps": [], "loss": [], "lr": [],
            "layers": {name: {"type": type(m).__name__, "kind": _kind(m), "activation": [],
                              "gradient": [], "saturated": [], "dead": []}
                       for name, m in layers},
            "parameters": {name: {"shape": list(p.shape), "grad_norm": [], "weight_norm": [],
                                  "update_norm": [], "update_ratio": []}
                           for name, p in params},
            "batchnorm": {name: {"type": type(m).__name__, "running_mean": [],
                                 "running_var": [], "batch_mean": [], "batch_var": [],
                                 "batch_std": []}
                          for name, m in layers if _kind(m) == "batchnorm"},
        }

    def _open_events(self):
        from . import tensorboard
        writer_class, reason = tensorboard.find_writer()
        if writer_class is None:
            self._say(f"no TensorBoard event files ({reason})")
            return
        logdir = os.path.join(self.out_dir, "tensorboard")
        os.makedirs(logdir, exist_ok=True)
        self._events = tensorboard.EventWriter(writer_class, logdir)

    def remove(self):
        """Detach every hook from the model (``on_train_end`` does)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # -- hooks (read only) --------------------------------------------------------------
    def _probing(self):
        return (self._trainer is not None and self._trainer.step % self.every == 0
                and self._model.training and grad_mode.is_grad_enabled())

    def _layer_hook(self, name):
        def hook(module, inputs, output):
            if not self._probing() or name in self._acts:
                return None
            self._step = self._trainer.step
            y = getattr(output, "_data", None)
            if y is None:
                return None
            kind = self.records["layers"][name]["kind"]
            self._acts[name] = (distribution(y, self.bins), *_unit_fractions(y, kind))
            if output.requires_grad and output.creator is not None:
                output.register_hook(self._grad_hook(name))
            if kind == "batchnorm" and inputs and hasattr(inputs[0], "_data"):
                self._bn_inputs[name] = _channel_stats(inputs[0]._data)
            return None
        return hook

    def _grad_hook(self, name):
        def hook(grad):
            if name not in self._grads:
                self._grads[name] = distribution(grad, self.bins)
            return None
        return hook

    def _model_hook(self, module, inputs, output):
        if self._probing() and not self._weights:  # before backward and the step
            self._step = self._trainer.step
            self._weights = {name: p._data.copy() for name, p in module.named_parameters()
                             if name in self.records["parameters"]}
        return None

    # -- recording ------------------------------------------------------------------------
    def on_batch_end(self, trainer, logs):
        if self._step is None:
            return
        rec = self.records
        rec["steps"].append(self._step)
        rec["loss"].append(_float(logs.get("loss", float("nan"))))
        rec["lr"].append(_float(trainer.optimizer.param_groups[0]["lr"]))
        for name, layer in rec["layers"].items():
            act, saturated, dead = self._acts.get(name, (None, None, None))
            layer["activation"].append(act)
            layer["gradient"].append(self._grads.get(name))
            layer["saturated"].append(saturated)
            layer["dead"].append(dead)
        named = dict(self._model.named_parameters())
        for name, series in rec["parameters"].items():
            p, before = named.get(name), self._weights.get(name)
            grad_norm = None if p is None or p._grad is None else _norm(p._grad)
            weight_norm = update_norm = ratio = None
            if p is not None and before is not None:
                weight_norm, update_norm = _norm(before), _norm(p._data - before)
                if weight_norm and update_norm is not None:
                    ratio = update_norm / weight_norm
            series["grad_norm"].append(grad_norm)
            series["weight_norm"].append(weight_norm)
            series["update_norm"].append(update_norm)
            series["update_ratio"].append(ratio)
        modules = dict(self._model.named_modules())
        for name, series in rec["batchnorm"].items():
            buffers = modules[name]._buffers
            series["running_mean"].append(_summary(buffers.get("running_mean")))
            series["running_var"].append(_summary(buffers.get("running_var")))
            mean, var = self._bn_inputs.get(name, (None, None))
            series["batch_mean"].append(_summary(mean))
            series["batch_var"].append(_summary(var))
            series["batch_std"].append(_summary(None if var is None else var ** 0.5))
        if self._events is not None:
            _write_events(self._events, rec, len(rec["steps"]) - 1)
        self._clear()

    def on_train_end(self, trainer):
        self.remove()
        self._clear()
        self._trainer = None
        if self.out_dir is not None and self.records is not None:
            self.written = write(self.records, self.out_dir)
            self._say(f"wrote {', '.join(os.path.basename(p) for p in self.written)} to "
                      f"{self.out_dir}")
        if self._events is not None:
            self._events.close()
            self._events = None

    def to_dict(self):
        """The records as a new dict of plain lists and numbers (``json.dumps`` ready)."""
        return json.loads(json.dumps(self.records)) if self.records is not None else None

    def figures(self, only=None):
        """The figures :func:`figures` draws from these records (``only``: their file
        names, default all)."""
        return figures(self.records, only)


def _unit_fractions(y, kind):
    """(saturated fraction, dead fraction) for the layer's output, None where the layer
    is not that kind of activation."""
    xp = backend.get_array_module(y)
    if kind == "sigmoid":
        return _float(((y < SATURATION) | (y > 1 - SATURATION)).mean()), None
    if kind == "tanh":
        return _float((xp.abs(y) > 1 - SATURATION).mean()), None
    if kind == "relu" and y.ndim >= 2:
        alive = (y != 0).any(axis=0)  # per unit: fired for some sample of the batch
        return None, _float(1.0 - alive.mean())
    return None, None


def _channel_stats(x):
    """Per-channel (axis 1) mean and unbiased variance of a batch-norm input."""
    xp = backend.get_array_module(x)
    if x.ndim < 2:
        return None, None
    axes = (0,) + tuple(range(2, x.ndim))
    x64 = x.astype(xp.float64)
    n = x.size // x.shape[1]
    return x64.mean(axis=axes), x64.var(axis=axes, ddof=1 if n > 1 else 0)


def _write_events(events, rec, i):
    step = rec["steps"][i]
    events.scalar("loss", rec["loss"][i], step)
    for name, layer in rec["layers"].items():
        act, grad = layer["activation"][i], layer["gradient"][i]
        events.histogram(f"activations/{name}", act, step)
        events.histogram(f"gradients/{name}", grad, step)
        if act is not None:
            events.scalar(f"activation_mean/{name}", act["mean"], step)
            events.scalar(f"activation_std/{name}", act["std"], step)
        if grad is not None:
            events.scalar(f"output_grad_norm/{name}", grad["norm"], step)
        events.scalar(f"saturated/{name}", layer["saturated"][i], step)
        events.scalar(f"dead/{name}", layer["dead"][i], step)
    for name, series in rec["parameters"].items():
        events.scalar(f"update_ratio/{name}", series["update_ratio"][i], step)
        events.scalar(f"grad_norm/{name}", series["grad_norm"][i], step)
    for name, series in rec["batchnorm"].items():
        for key in ("running_mean", "running_var", "batch_mean", "batch_var"):
            summary = series[key][i]
            if summary is not None:
                events.scalar(f"batchnorm_{key}/{name}", summary["mean"], step)

