"""The gradient-flow monitor (the course's vanishing gradients, measured).

``GradientFlowMonitor(model, every=k)`` watches the weight layers of a model (every
module with a weight of 2 or more dimensions: Linear, Conv2d, LocallyConnected2d), in
depth order. Every k-th step it records per layer the gradient norm ``||dL/dW||``, and,
from forward hooks, the mean and std of the layer's activation (the output of the
activation module that follows it, or of the layer itself if none does), the fraction of
saturated sigmoid/tanh units and the fraction of dead ReLU units. It reports vanishing
gradients when the first layer's gradient norm is below ``vanishing_ratio`` times the
last layer's, and plots gradient norm against depth.

Usage::

    monitor = GradientFlowMonitor(model, every=10)
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(); loss.backward()
        monitor.step()            # after backward, before the gradients are cleared
        optimizer.step()
    print(monitor.report()); monitor.plot("gradient_flow.png")
"""
import math

import numpy as np

from .. import backend

__all__ = ["GradientFlowMonitor"]


# LeakyReLU is not listed: its units cannot die (the negative side keeps a slope).
_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu"}


def _is_weight_layer(module):
    weight = module._parameters.get("weight")
    return weight is not None and weight.ndim >= 2


class GradientFlowMonitor:
    """Record per-layer gradient norms and activation statistics every ``every`` steps.

    Parameters: ``model`` (a Module), ``every`` (record on steps 0, k, 2k, ...),
    ``vanishing_ratio`` (report vanishing gradients when ``||dL/dW_first|| <
    vanishing_ratio * ||dL/dW_last||``, default 0.01), ``saturation`` (a sigmoid unit is
    saturated when its output is within this distance of 0 or 1, a tanh unit when
    within it of -1 or 1; default 0.01, where sigmoid's slope is below 0.0099).

    A ReLU unit (one feature, or one channel position of a feature map) is dead on a batch
    when it outputs 0 for every sample. ``records`` holds one dict per layer and recorded
    step: step, layer, depth, grad_norm (``||dL/dW||``), output_grad_norm (``||dL/dy||``
    for the layer's output y, observed by a tensor hook during backward), act_mean,
    act_std, saturated, dead (the last two are None when the layer is not followed by
    that kind of activation).
    """

    def __init__(self, model, every=1, vanishing_ratio=0.01, saturation=0.01):
        from ..nn.module import Module
        if not isinstance(model, Module):
            raise TypeError(f"GradientFlowMonitor: model must be a Module, got "
                            f"{type(model).__name__}")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"GradientFlowMonitor: every must be a positive integer, got "
                             f"{every!r}")
        if not 0 < vanishing_ratio < 1:
            raise ValueError(f"GradientFlowMonitor: vanishing_ratio must be in (0, 1), got "
                             f"{vanishing_ratio!r}")
        if not 0 < saturation < 0.5:
            raise ValueError(f"GradientFlowMonitor: saturation must be in (0, 0.5), got "
                             f"{saturation!r}")
        self.every, self.vanishing_ratio, self.saturation = every, vanishing_ratio, saturation
        self.layers = [(name, m) for name, m in model.named_modules() if _is_weight_layer(m)]
        if not self.layers:
            raise ValueError(f"GradientFlowMonitor: {type(model).__name__} has no layer with "
                             f"a weight matrix or kernel to monitor")
        self.steps = 0
        self.records = []
        self._pending = {}
        self._output_grads = {}
        self._current = None  # the weight layer whose activation comes next
        self._handles = []
        for name, m in self.layers:
            self._handles.append(m.register_forward_hook(self._layer_hook(name)))
        for _, m in model.named_modules():
            kind = _ACTIVATIONS.get(type(m).__name__)
            if kind is not None:
                self._handles.append(m.register_forward_hook(self._activation_hook(kind)))

    # -- hooks --------------------------------------------------------------------------
    @property
    def _capturing(self):
        return self.steps % self.every == 0

    def _layer_hook(self, name):
        def hook(module, inputs, output):
            self._current = name
            if self._capturing:
                self._pending[name] = self._stats(output._data, None)
                if output.requires_grad:  # observe dL/d(output) during backward
                    output.register_hook(self._output_grad_hook(name))
        return hook

    def _output_grad_hook(self, name):
        def hook(grad):
            self._output_grads[name] = _norm(grad)
        return hook

    def _activation_hook(self, kind):
        def hook(module, inputs, output):
            if self._capturing and self._current is not None:
                self._pending[self._current] = self._stats(output._data, kind)
        return hook

    def _stats(self, y, kind):
        xp = backend.get_array_module(y)
        y64 = y.astype(xp.float64, copy=False)
        stats = {"act_mean": float(y64.mean()), "act_std": float(y64.std()),
                 "saturated": None, "dead": None}
        if kind == "sigmoid":
            s = self.saturation
            stats["saturated"] = float(((y < s) | (y > 1 - s)).mean())
        elif kind == "tanh":
            stats["saturated"] = float((xp.abs(y) > 1 - self.saturation).mean())
        elif kind == "relu" and y.ndim >= 1:
            alive = (y != 0).any(axis=0)  # per unit: fired for some sample of the batch
            stats["dead"] = float(1.0 - alive.mean())
        return stats

    # -- recording ------------------------------------------------------------------------
    def step(self):
        """Call once per training step, after ``loss.backward()``; records every k-th."""
        if self._capturing:
            for depth, (name, m) in enumerate(self.layers, start=1):
                grad = m.weight._grad
                row = {"step": self.steps, "layer": name, "depth": depth,
                       "grad_norm": float("nan") if grad is None else _norm(grad),
                       "output_grad_norm": self._output_grads.get(name),
                       "act_mean": None, "act_std": None, "saturated": None, "dead": None}
                row.update(self._pending.get(name, {}))
                self.records.append(row)
        self._pending = {}
        self._output_grads = {}
        self._current = None
        self.steps += 1

    def latest(self):
        """The rows of the last recorded step (an empty list before any)."""
        if not self.records:
            return []
        last = self.records[-1]["step"]
        return [r for r in self.records if r["step"] == last]

    def gradient_ratio(self):
        """``||dL/dW_first|| / ||dL/dW_last||`` at the last recorded step."""
        rows = self.latest()
        if not rows:
            raise RuntimeError("GradientFlowMonitor: nothing recorded yet; call step() after "
                               "backward()")
        first, last = rows[0]["grad_norm"], rows[-1]["grad_norm"]
        return first / last if last > 0 else math.inf if first > 0 else float("nan")

    @property
    def vanishing(self):
        """True when the last recorded step shows vanishing gradients."""
        return bool(self.gradient_ratio() < self.vanishing_ratio)

    def issues(self):
        """Human-readable problems seen at the last recorded step."""
        rows = self.latest()
        if not rows:
            return []
        found = []
        ratio = self.gradient_ratio()
        if ratio < self.vanishing_ratio:
            found.append(
                f"vanishing gradients: the first layer's gradient norm "
                f"({rows[0]['grad_norm']:.3g}, {rows[0]['layer']}) is {ratio:.3g} times the "
                f"last layer's ({rows[-1]['grad_norm']:.3g}, {rows[-1]['layer']}), below "
                f"the threshold {self.vanishing_ratio:g}")
        for r in rows:
            if r["saturated"] is not None and r["saturated"] > 0.5:
                found.append(f"saturation: {r['saturated']:.0%} of the units after layer "
                             f"{r['layer']} are saturated")
            if r["dead"] is not None and r["dead"] > 0.5:
                found.append(f"dead ReLUs: {r['dead']:.0%} of the units after layer "
                             f"{r['layer']} never fire on the batch")
        return found

    def report(self):
        """A table of the last recorded step, followed by any issues."""
        rows = self.latest()
        if not rows:
            return "GradientFlowMonitor: nothing recorded yet"

        def fmt(value, spec):
            return "-" if value is None else format(value, spec)

        lines = [f"gradient flow at step {rows[0]['step']}:",
                 f"{'depth':>5}  {'layer':<16} {'|dL/dW|':>10} {'|dL/dy|':>10} "
                 f"{'act mean':>9} {'act std':>8} {'saturated':>9} {'dead':>6}"]
        for r in rows:
            lines.append(f"{r['depth']:>5}  {r['layer']:<16} {r['grad_norm']:>10.3e} "
                         f"{fmt(r['output_grad_norm'], '10.3e'):>10} "
                         f"{fmt(r['act_mean'], '9.3f'):>9} {fmt(r['act_std'], '8.3f'):>8} "
                         f"{fmt(r['saturated'], '9.1%'):>9} {fmt(r['dead'], '6.1%'):>6}")
        found = self.issues()
        lines.extend(found if found else ["no gradient-flow problem found"])
        return "\n".join(lines)

    def plot(self, path, max_lines=6):
        """Write a PNG of gradient norm (log scale) against depth, one line per recorded
        step (at most ``max_lines``, evenly spread, the first and last included)."""
        from .. import plotting

        steps = sorted({r["step"] for r in self.records})
        if not steps:
            raise RuntimeError("GradientFlowMonitor.plot: nothing recorded yet")
        if len(steps) > max_lines:
            picks = np.linspace(0, len(steps) - 1, max_lines).round().astype(int)
            steps = [steps[i] for i in sorted(set(picks))]
        fig, ax = plotting.subplots(figsize=(6.4, 4.2))
        for s in steps:
            rows = [r for r in self.records if r["step"] == s]
            ax.plot([r["depth"] for r in rows], [r["grad_norm"] for r in rows],
                    marker="o", label=f"step {s}")
        ax.set_yscale("log")
        ax.set_xlabel("layer depth (1 = input side)")
        ax.set_ylabel("gradient norm ||dL/dW||")
        ax.set_title("Gradient norm by depth")
        ax.set_xticks(range(1, len(self.layers) + 1))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        return plotting.save(fig, path, dpi=100)

    def remove(self):
        """Detach the forward hooks from the model."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _norm(array):
    """The 2-norm of an array, accumulated in float64."""
    flat = array.reshape(-1).astype(np.float64)
    return math.sqrt(float(flat @ flat))
