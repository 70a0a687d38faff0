"""Drive a deepgrad optimizer and a torch.optim one on the same gradients.

The problem is element-wise and non-convex: ``grad(x, t) = a*x - c + sin(3x) +
0.2*cos(x + t)`` with per-element ``a``, ``c``, so sign changes (Rprop), stochastic-looking
gradients and every coordinate moving at its own speed are all exercised. Gradients are
computed from each side's own parameters, so the comparison is a real trajectory check.
"""
import copy

import numpy as np
import torch

import deepgrad as dg
from deepgrad.nn import Parameter

SHAPES = [(6, 4), (4,), (3, 2, 2)]


def make_problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    scales = [rng.uniform(0.5, 2.0, s).astype(dtype) for s in SHAPES]
    shifts = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    return starts, scales, shifts


def grad_of(x, scale, shift, t, sign=1.0):
    return sign * (scale * x - shift + np.sin(3 * x) + 0.2 * np.cos(x + t))


def build_groups(params, groups):
    """``groups``: None (one plain list) or a list of (indices, options) pairs."""
    if groups is None:
        return list(params)
    return [dict(opts, params=[params[i] for i in idx]) for idx, opts in groups]


class Run:
    """One optimizer (deepgrad or torch) on the shared problem; ``step(t)`` takes a step."""

    def __init__(self, lib, name, options, groups=None, seed=0, dtype=np.float64):
        starts, self.scales, self.shifts = make_problem(seed, dtype)
        self.lib = lib
        # maximize ascends -f: the trajectory is the same as minimizing f
        self.sign = -1.0 if options.get("maximize") else 1.0
        if lib == "dg":
            self.params = [Parameter(x.copy()) for x in starts]
            self.opt = getattr(dg.optim, name)(build_groups(self.params, groups), **options)
        else:
            self.params = [torch.tensor(x.copy(), requires_grad=True) for x in starts]
            self.opt = getattr(torch.optim, name)(build_groups(self.params, groups),
                                                  **options)

    def arrays(self):
        if self.lib == "dg":
            return [p.data for p in self.params]
        return [p.detach().numpy() for p in self.params]

    def step(self, t):
        for p, x, a, c in zip(self.params, self.arrays(), self.scales, self.shifts):
            g = grad_of(x, a, c, t, self.sign)
            p.grad = dg.as_tensor(g) if self.lib == "dg" else torch.from_numpy(g)
        self.opt.step()


def snapshot(run):
    return copy.deepcopy(run.opt.state_dict()), [np.array(x).copy() for x in run.arrays()]
