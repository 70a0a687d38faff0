"""Where a network's training step (or evaluation) spends its time, per layer kind, in
both frameworks.

    deepgrad bench --breakdown lenet-256 cifar-64
    deepgrad bench --breakdown lenet-eval-1    # forwards only, eval mode, under no_grad

Each layer is timed alone on the input it meets in the real step and with the gradient
that reaches its output there: the net is run once layer by layer, every layer on a
fresh leaf holding the previous layer's output (in that framework's own layout, e.g.
deepgrad's channels-last convolution outputs), then backward from the loss. A timed call
is the layer's forward on a fresh leaf of that input, then its backward from that
gradient; the first layer's input needs no gradient, as in training. The loss and the
optimizer's update are rows of their own, so the rows add up to about the whole step,
which is checked against PyTorch (``networks.build_training``) and timed as well, to
show how close. An evaluation case times each layer's forward alone, in eval mode under
no_grad, on the input it meets in the whole forward; it has no loss or update rows.

The layers are timed in alternating rounds (all of deepgrad's, then all of PyTorch's,
each after its framework has settled, as ``harness.compare`` does); a layer's forward
and backward times are each its median call in its fastest round, since on the shared
machine a slow phase can last a whole round and only ever slows a layer down; a kind's
time is the sum over its layers.
"""
import statistics
import sys
import time

import deepgrad as dg

from . import harness
from .cpuinfo import cpu_description
from .networks import NETS, NETWORKS, build_training, data, pair

COLUMNS = ["layer", "layers", "deepgrad fwd ms", "deepgrad bwd ms", "torch fwd ms",
           "torch bwd ms", "ratio", "share of deepgrad"]


class _Side:
    """One framework's layers, their real inputs and output gradients, and timing."""

    def __init__(self, model, lib, loss, optimizer, options, x, y):
        self.layers = list(model)
        self.loss = getattr(lib.nn, loss)()
        self.opt = getattr(lib.optim, optimizer)(model.parameters(), **options)
        self.y = y
        self.inputs, self.grads = self._trace(x)

    def _trace(self, x):
        leaves, outputs, h = [], [], x
        for i, layer in enumerate(self.layers):
            h = h.detach().requires_grad_(i > 0)
            leaves.append(h)
            h = layer(h)
            outputs.append(h)
        leaves.append(h.detach().requires_grad_())
        self.loss(leaves[-1], self.y).backward()
        for i in reversed(range(1, len(self.layers))):
            outputs[i].backward(leaves[i + 1].grad)
        return leaves, [leaf.grad for leaf in leaves[1:]]

    def time_layer(self, i):
        """Seconds of one forward and one backward of layer ``i`` (or the loss, i = -1)."""
        is_loss = i == -1
        x = self.inputs[i].detach().requires_grad_(is_loss or i > 0)
        if not is_loss:
            self.layers[i].zero_grad()
        start = time.perf_counter()
        out = self.loss(x, self.y) if is_loss else self.layers[i](x)
        middle = time.perf_counter()
        if is_loss:
            out.backward()
        elif out.requires_grad:  # not so for a first layer without parameters
            out.backward(self.grads[i])
        return middle - start, time.perf_counter() - middle

    def time_update(self):
        start = time.perf_counter()
        self.opt.step()
        return 0.0, time.perf_counter() - start

    def pass_all(self):
        for i in [*range(len(self.layers)), -1]:
            self.time_layer(i)
        self.time_update()

    def time_all(self, repeats):
        """Per layer, then the loss, then the update: median (forward, backward) seconds."""
        times = []
        for i in [*range(len(self.layers)), -1, None]:
            calls = [self.time_update() if i is None else self.time_layer(i)
                     for _ in range(repeats)]
            times.append(tuple(statistics.median(c[k] for c in calls) for k in (0, 1)))
        return times


class _EvalSide:
    """One framework's layers in eval mode and the inputs they meet under no_grad."""

    def __init__(self, model, lib, x):
        model.eval()
        self.layers, self.no_grad = list(model), lib.no_grad
        with self.no_grad():
            self.inputs = [x]
            for layer in self.layers[:-1]:
                self.inputs.append(layer(self.inputs[-1]))

    def time_layer(self, i):
        with self.no_grad():
            start = time.perf_counter()
            self.layers[i](self.inputs[i])
            return time.perf_counter() - start, 0.0

    def pass_all(self):
        for i in range(len(self.layers)):
            self.time_layer(i)

    def time_all(self, repeats):
        """Per layer: median (forward, 0.0) seconds."""
        return [tuple(statistics.median(c[k] for c in calls) for k in (0, 1))
                for calls in ([self.time_layer(i) for _ in range(repeats)]
                              for i in range(len(self.layers)))]


def layer_times(case, repeats=9, rounds=5, batch=None):
    """Rows per layer kind (in the order the kinds first appear), then (training cases)
    the loss and the optimizer's update, and a total row; times in ms."""
    torch = harness.setup_torch()
    _, build, kwargs = NETWORKS[case]
    net, batch = NETS[kwargs["net"]], batch or kwargs["batch"]
    model, tmodel = pair(net, torch)
    x, y = data(net, batch)
    kinds = [type(layer).__name__ for layer in model]
    if build is build_training:
        sides = [_Side(model, dg, net.loss, net.optimizer, net.options, dg.tensor(x),
                       dg.tensor(y)),
                 _Side(tmodel, torch, net.loss, net.optimizer, net.options,
                       torch.from_numpy(x), torch.from_numpy(y))]
        kinds += [net.loss, f"{net.optimizer} step"]
    else:
        sides = [_EvalSide(model, dg, dg.tensor(x)), _EvalSide(tmodel, torch,
                                                               torch.from_numpy(x))]
    per_round = [[], []]
    for _ in range(rounds):
        for side, store in zip(sides, per_round):
            harness.settle(side.pass_all)
            store.append(side.time_all(repeats))
    # (layer, forward or backward) -> the fastest round's, per framework
    fastest = [[[min(r[i][k] for r in store) for k in (0, 1)]
                for i in range(len(store[0]))] for store in per_round]
    rows = {}
    for i, kind in enumerate(kinds):
        row = rows.setdefault(kind, {"layer": kind, "layers": 0, "deepgrad fwd ms": 0.0,
                                     "deepgrad bwd ms": 0.0, "torch fwd ms": 0.0,
                                     "torch bwd ms": 0.0})
        row["layers"] += 1
        for name, times in (("deepgrad", fastest[0][i]), ("torch", fastest[1][i])):
            row[f"{name} fwd ms"] += times[0] * 1e3
            row[f"{name} bwd ms"] += times[1] * 1e3
    rows = list(rows.values())
    total = {"layer": "all (sum of the rows)", "layers": len(model)}
    for key in COLUMNS[2:6]:
        total[key] = sum(row[key] for row in rows)
    def both(row, name):
        return row[f"{name} fwd ms"] + row[f"{name} bwd ms"]

    for row in [*rows, total]:
        row["ratio"] = both(row, "deepgrad") / both(row, "torch")
        row["share of deepgrad"] = f"{both(row, 'deepgrad') / both(total, 'deepgrad'):.0%}"
    return [*rows, total]


def main(names, repeats=9, rounds=5, out=sys.stdout, as_json=False):
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        raise ValueError(f"--breakdown: unknown network case(s) {unknown}; network "
                         f"cases: {', '.join(NETWORKS)}")
    results = {}
    for name in names:
        _, build, kwargs = NETWORKS[name]
        dg_step, torch_step, _ = build(**kwargs)  # checks the net
        rows = layer_times(name, repeats, rounds)
        t_dg, t_torch, _ = harness.compare(dg_step, torch_step, repeats=27)
        results[name] = {"rows": rows, "step ms": {"deepgrad": t_dg * 1e3,
                                                   "torch": t_torch * 1e3},
                         "whole": "step" if build is build_training else "forward"}
    if as_json:
        out.write(harness.dumps(results) + "\n")
        return results
    out.write(f"machine: {cpu_description()}, {harness.blas_kernel()} with "
              f"{harness.blas_threads()} threads; per layer the median of {repeats} calls "
              f"in the fastest of {rounds} rounds\n\n")
    for name, result in results.items():
        step = result["step ms"]
        out.write(harness.table(f"{NETWORKS[name][0]}: per layer kind (ratio < 1: "
                                f"deepgrad faster)", result["rows"], COLUMNS))
        out.write(f"\nthe whole {result['whole']} "
                  f"timed as one: deepgrad {step['deepgrad']:.3g} ms, "
                  f"torch {step['torch']:.3g} ms\n\n")
    return results
