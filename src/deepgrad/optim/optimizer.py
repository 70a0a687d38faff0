"""Optimizer base: parameter groups, per-parameter state, state_dict, and the step.

As in PyTorch, hyperparameters live in ``param_groups`` (a list of dicts, each with its
``params`` and its options, missing options taken from ``defaults``), and per-parameter
state is created lazily. ``state_dict()`` indexes state by the parameter's position across
all groups, so a checkpoint restores into a freshly built optimizer.

An update rule is written once, as its reference step: a function of arrays
``rule(p, g, **state_arrays, h=hyper)`` that updates ``p`` and the state in place, line
for line its docstring's formula, ``h`` the step's hyper-parameters as one named
record. :meth:`Optimizer.step` is the one place that chooses how it runs: the compiled
loop of the same rule when there is one (``_compiled.py``), else the reference, either
way in cache-sized blocks and threads for large arrays (``_blocked.py``).
"""
import copy
import functools

from .. import backend
from ..autograd import Tensor, no_grad
from . import _compiled
from ._blocked import BLOCK_BYTES, run_blocked


class Optimizer:
    """The base of the optimizers, as ``torch.optim.Optimizer``.

    ``params`` is an iterable of parameters or of dicts (parameter groups, each with its
    own options over ``defaults``). ``step()`` applies the rule of each subclass to every
    parameter with a gradient, ``zero_grad()`` clears the gradients, ``state_dict()`` and
    ``load_state_dict()`` save and restore the state by parameter position (PyTorch's
    layout), and ``add_param_group`` adds a group."""
    block_bytes = BLOCK_BYTES
    """Bytes per array per block of the element-wise update; None runs whole arrays (the
    reference, bit for bit the same result)."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # id(param) -> dict of arrays; ids are for lookup only, never saved
        name = type(self).__name__
        if isinstance(params, Tensor):  # iterating would give its rows (as PyTorch)
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts "
                            f"(parameter groups), got one Tensor; wrap it in a list")
        if isinstance(params, dict):
            params = [params]  # one parameter group
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts "
                            f"(parameter groups), got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def add_param_group(self, group):
        if not isinstance(group, dict) or "params" not in group:
            raise ValueError(f"{type(self).__name__}: a parameter group must be a dict with "
                             f"a 'params' entry, got {group!r:.80}")
        group = dict(group)
        params = group["params"]
        try:
            params = [params] if isinstance(params, Tensor) else list(params)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: a group's 'params' must be a Tensor "
                            f"or an iterable of Tensors, got {type(params).__name__}") \
                from None
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf tensor")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in params):
            raise ValueError(f"{type(self).__name__}: a parameter appears in more than one "
                             f"parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        # initial_lr is the key lr schedulers add (and checkpoints carry)
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}; "
                             f"valid: {sorted(self.defaults)}")
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group):
        """Check a group's hyperparameters; subclasses raise ValueError naming the option."""

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p._grad is None:
                    p._grad = None
                else:
                    p._grad[...] = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p._grad is not None:
                        state = self.state.setdefault(id(p), {})
                        self._step_parameter(p._data, p._grad, state, group)
        return loss

    def _step_parameter(self, p, g, state, group):
        """One update of the array ``p``: the rule's reference step or its compiled loop,
        whole or in blocks."""
        hyper = self._prepare(p, state, group)
        rule = self._rule(hyper)
        arrays = {"p": p, "g": g, **{k: v for k, v in state.items() if k != "step"}}
        update = (_compiled.update(rule, arrays, hyper)
                  or functools.partial(rule, h=hyper))
        self._run(update, arrays)

    def _prepare(self, p, state, group):
        """Create ``state`` on the first step (its arrays like ``p``), advance its
        counter, and return this step's hyper-parameters; subclasses implement."""
        raise NotImplementedError

    def _rule(self, hyper):
        """The reference step function of this optimizer (subclasses set ``rule``)."""
        return type(self).rule

    def _run(self, update, arrays):
        run_blocked(update, arrays, self.block_bytes)

    # -- checkpoints --------------------------------------------------------------------
    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self):
        """``{'state': {index: {name: array or number}}, 'param_groups': [...]}``.

        As in PyTorch the state arrays are the live ones (no copy is made); deep-copy the
        result to keep a snapshot while training goes on. Step counters are ints.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        state = {index[pid]: dict(s) for pid, s in self.state.items() if pid in index}
        groups = []
        for g in self.param_groups:
            saved = {k: v for k, v in g.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in g["params"]]
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by :meth:`state_dict` (arrays are copied).

        Floating-point state arrays take their parameter's dtype and device, as in
        PyTorch; step counters and other numbers are restored as they were saved.
        """
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has "
                             f"{len(groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a saved group "
                                 f"has {len(saved['params'])} parameters, the matching "
                                 f"group has {len(group['params'])}")
        params = self._all_params()
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            self.state[id(p)] = {k: _restore(v, p._data) for k, v in s.items()}
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = copy.deepcopy(v)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            opts = ", ".join(f"{k}={v}" for k, v in g.items() if k != "params")
            lines.append(f"  group {i}: {len(g['params'])} params, {opts}")
        return "\n".join(lines + [")"])


def lerp_(start, end, weight):
    """``start = start + weight * (end - start)`` in place, rounded as ``torch.lerp_``.

    PyTorch computes ``end - (end - start) * (1 - weight)`` for ``weight >= 0.5``, which
    is exact at ``weight = 1``; the two forms differ in the last bit, so we follow it.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (1 - weight) * (end - start)


def _restore(value, param):
    """A saved state value as this optimizer holds it: a fresh array on the parameter's
    device (floating point in its dtype), or a number."""
    if isinstance(value, Tensor):
        value = value._data
    if not hasattr(value, "shape"):
        return copy.deepcopy(value)
    if value.ndim == 0:  # a counter saved as a 0-d array or a NumPy scalar
        return value.item()
    dtype = param.dtype if value.dtype.kind == "f" else None
    moved = backend.to_device(value, backend.device_of(param), dtype)
    return moved.copy() if moved is value else moved
