"""Optimizer base: parameter groups, per-parameter state, state_dict.

As in PyTorch, hyperparameters live in ``param_groups`` (a list of dicts, each with its
``params`` and its options, missing options taken from ``defaults``), and per-parameter
state is created lazily. ``state_dict()`` indexes state by the parameter's position across
all groups, so a checkpoint restores into a freshly built optimizer.
"""
import copy

from .. import backend
from ..autograd import Tensor, no_grad


class Optimizer:
    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # id(param) -> dict of arrays; ids are for lookup only, never saved
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
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
        unknown = set(group) - set(self.defaults) - {"params"}
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
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def step(self, closure=None):
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        state = self.state.setdefault(id(p), {})
                        self._update(p.data, p.grad, state, group)
        return loss

    def _update(self, param, grad, state, group):
        """Update the array ``param`` in place from ``grad``; subclasses implement."""
        raise NotImplementedError

    # -- checkpoints --------------------------------------------------------------------
    def _all_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self):
        """``{'state': {index: {name: array or number}}, 'param_groups': [...]}``."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        state = {index[pid]: dict(s) for pid, s in self.state.items() if pid in index}
        groups = []
        for g in self.param_groups:
            saved = {k: v for k, v in g.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in g["params"]]
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by :meth:`state_dict` (arrays are copied)."""
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
            xp = backend.get_array_module(p.data)
            self.state[id(p)] = {
                k: (xp.array(v.data if isinstance(v, Tensor) else v, copy=True)
                    if hasattr(v, "shape") else copy.deepcopy(v))
                for k, v in s.items()
            }
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


def check_non_negative(optimizer, name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{optimizer}: {name} must be a non-negative number, got {value!r}")
