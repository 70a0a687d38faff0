"""``summary(model, input_size)``: what each layer of a model makes of one batch.

The model runs once on a batch of zeros (in evaluation mode, without a graph; its mode
is restored), and a forward hook on each layer records its output shape. Per layer the
table gives the parameters it owns (trainable and not) and its multiply-adds for the
batch; the totals add the memory of the parameters and of the activations (every
layer's output, which training keeps for backward). A terminal gets a text table
(``print(summary)``), a notebook an HTML one (``_repr_html_``).

Multiply-adds are counted for the layers that do products, as the course counts a
layer's cost: a fully connected layer ``in * out`` per sample, a convolution
``C_in / groups * kh * kw`` per output element, a locally connected layer the same
without sharing; other layers (activations, pooling, normalisation) count 0.
"""
import html
import math

import numpy as np

from ..autograd import Tensor, no_grad
from ..tensor import zeros
from .conv import Conv2d
from .linear import Linear
from .locally_connected import LocallyConnected2d


def _multiply_adds(layer, output_shape):
    if isinstance(layer, Linear):
        return math.prod(output_shape[:-1]) * layer.in_features * layer.out_features
    if isinstance(layer, Conv2d):
        kh, kw = layer.kernel_size
        return math.prod(output_shape) * layer.in_channels // layer.groups * kh * kw
    if isinstance(layer, LocallyConnected2d):
        kh, kw = layer.kernel_size
        return math.prod(output_shape) * layer.in_channels * kh * kw
    return 0


class LayerRow:
    """One layer's line: its dotted name, class, output shape, parameters, mult-adds."""

    def __init__(self, name, layer, output):
        self.name, self.kind = name, type(layer).__name__
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        tensors = [t for t in outputs if isinstance(t, Tensor)]
        self.output_shape = tuple(tensors[0].shape) if tensors else ()
        self.output_bytes = sum(t._data.nbytes for t in tensors)
        own = [p for p in layer.parameters(recurse=False)]
        self.trainable = sum(p._data.size for p in own if p.requires_grad)
        self.frozen = sum(p._data.size for p in own if not p.requires_grad)
        self.multiply_adds = _multiply_adds(layer, self.output_shape)


class ModelSummary:
    """The rows and totals of :func:`summary`; printed as a table, shown in a notebook
    as HTML."""

    def __init__(self, model, input_size, rows):
        self.model_name, self.input_size, self.rows = type(model).__name__, input_size, rows
        params = list(model.parameters())
        self.trainable = sum(p._data.size for p in params if p.requires_grad)
        self.frozen = sum(p._data.size for p in params if not p.requires_grad)
        self.parameter_bytes = sum(p._data.nbytes for p in params)
        self.activation_bytes = sum(r.output_bytes for r in rows)
        self.multiply_adds = sum(r.multiply_adds for r in rows)

    def _table(self):
        head = ["layer", "type", "output shape", "parameters", "mult-adds"]
        body = [[r.name, r.kind, str(list(r.output_shape)),
                 f"{r.trainable + r.frozen:,}" + (f" ({r.frozen:,} frozen)" if r.frozen
                                                  else ""),
                 f"{r.multiply_adds:,}"] for r in self.rows]
        return head, body

    def _totals(self):
        return [("trainable parameters", f"{self.trainable:,}"),
                ("non-trainable parameters", f"{self.frozen:,}"),
                ("mult-adds per batch", f"{self.multiply_adds:,}"),
                ("parameter memory", _megabytes(self.parameter_bytes)),
                ("activation memory (forward)", _megabytes(self.activation_bytes))]

    def __str__(self):
        head, body = self._table()
        widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

        def line(cells):
            return "  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths)))

        lines = [f"{self.model_name}, input {list(self.input_size)}", rule, line(head),
                 rule, *[line(r) for r in body], rule]
        lines += [f"{k}: {v}" for k, v in self._totals()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        head, body = self._table()
        esc = html.escape
        rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>"
                       for r in body)
        totals = "".join(f"<tr><th colspan='4' style='text-align:left'>{esc(k)}</th>"
                         f"<td>{esc(v)}</td></tr>" for k, v in self._totals())
        return (f"<table><caption>{esc(self.model_name)}, input "
                f"{esc(str(list(self.input_size)))}</caption><thead><tr>"
                + "".join(f"<th>{esc(h)}</th>" for h in head)
                + f"</tr></thead><tbody>{rows}</tbody><tfoot>{totals}</tfoot></table>")


def _megabytes(n):
    return f"{n / 2 ** 20:.2f} MB"


def summary(model, input_size, dtype=np.float32):
    """Each layer's output shape, parameters and multiply-adds for one batch of shape
    ``input_size`` (batch axis included, e.g. ``(64, 1, 28, 28)``), and the totals.

    The layers listed are those without children, and any module that owns parameters
    itself, under their state-dict names.
    """
    if not isinstance(input_size, (tuple, list)) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in input_size):
        raise ValueError(f"summary: input_size must be a tuple of positive ints, batch "
                         f"axis first, got {input_size!r}")
    rows, handles = [], []
    for name, layer in model.named_modules():
        if not list(layer.children()) or list(layer.parameters(recurse=False)):
            def record(module, inputs, output, name=name):
                rows.append(LayerRow(name or type(module).__name__, module, output))
            handles.append(layer.register_forward_hook(record))
    first = next(iter(model.parameters()), None)  # the batch goes where the model is
    batch = zeros(*input_size, dtype=dtype, device=first.device if first is not None else None)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(batch)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return ModelSummary(model, tuple(input_size), rows)
