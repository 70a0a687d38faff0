"""Containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict) and
Flatten, which every image-to-vector net needs.

Their behaviour is PyTorch's: children are registered under ``"0"``, ``"1"``, ... (or the
given names), so state-dict keys match; deleting renumbers; a slice of a Sequential keeps
its children's names.
"""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .. import ops
from ..autograd import Tensor
from ..dtypes import type_name
from ..ops.checks import check_dim, check_int_arg, check_tensor
from .module import Module, _indent
from .parameter import Parameter


def _index(container, idx):
    """``idx`` as a non-negative position in ``container``, or IndexError."""
    idx = operator.index(idx)
    n = len(container)
    if not -n <= idx < n:
        raise IndexError(f"{type(container).__name__}: index {idx} is out of range for "
                         f"{n} items")
    return idx % n


def _renumber(modules):
    """Re-key an OrderedDict of children as "0", "1", ... in place (after a deletion)."""
    items = list(modules.values())
    modules.clear()
    for i, m in enumerate(items):
        modules[str(i)] = m


def _check_module(who, i, m):
    if not isinstance(m, Module):
        raise TypeError(f"{who}: item {i} is a {type(m).__name__}, not a Module")
    return m


class Sequential(Module):
    """Apply modules in order; submodules are named "0", "1", ... (or by an OrderedDict)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, _check_module("Sequential", name, m))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _check_module("Sequential", i, m))

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx):
        if isinstance(idx, slice):  # the children keep their names, as in PyTorch
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(self, idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(self, idx)]
        setattr(self, key, _check_module("Sequential", idx, module))

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in keys[idx] if isinstance(idx, slice) else [keys[_index(self, idx)]]:
            del self._modules[key]
        _renumber(self._modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential + {type(other).__name__}: only a Sequential can "
                             f"be added")
        return Sequential(*self, *other)

    def __iadd__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential += {type(other).__name__}: only a Sequential can "
                             f"be added")
        return self.extend(other)

    def append(self, module):
        self.add_module(str(len(self._modules)), _check_module("Sequential", len(self), module))
        return self

    def extend(self, modules):
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (children are renumbered)."""
        _check_module("Sequential", index, module)
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} "
                             f"items")
        items = list(self._modules.values())
        items.insert(index % (n + 1) if index < 0 else index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m
        return self

    def pop(self, idx):
        module = self[idx]
        del self[idx]
        return module


class ModuleList(Module):
    """A list of modules, registered so that parameters() and the state dict see them.

    It has no forward: a model iterates it (``for block in self.blocks: x = block(x)``).
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(self, idx))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(self, idx)), _check_module("ModuleList", idx, module))

    def __delitem__(self, idx):
        if isinstance(idx, slice):
            for i in range(len(self))[idx]:
                del self._modules[str(i)]
        else:
            del self._modules[str(_index(self, idx))]
        _renumber(self._modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def append(self, module):
        self.add_module(str(len(self)), _check_module("ModuleList", len(self), module))
        return self

    def extend(self, modules):
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend: expected an iterable of Modules, got "
                            f"{type(modules).__name__}")
        for m in list(modules):
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``, as ``list.insert``."""
        _check_module("ModuleList", index, module)
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self._modules[str(i)] = m

    def pop(self, idx=-1):
        module = self[idx]
        del self[idx]
        return module

    def __repr__(self):
        # PyTorch compresses runs of identical children: "(0-2): 3 x Linear(...)".
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [first, last, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_indent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2)
                 for a, b, r in runs]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of named modules, registered as children under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _check_module("ModuleDict", key, module))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add ``modules``: a mapping, or an iterable of ``(key, module)`` pairs."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for j, pair in enumerate(pairs):
            if isinstance(pair, (str, Module)) or len(pair) != 2:
                raise ValueError(f"ModuleDict.update: element {j} must be a (key, module) "
                                 f"pair, got {pair!r:.60}")
            self[pair[0]] = pair[1]


def _as_parameter(value):
    """PyTorch's rule for ParameterList/Dict: a Tensor is wrapped in a Parameter (sharing
    its memory); anything else is stored as a plain attribute."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(value, dtype_name):
    """One entry of a ParameterList/Dict repr, PyTorch's words."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        device = f" ({value.device})" if str(value.device) != "cpu" else ""
        return f"{kind} containing: [{dtype_name(value)} of size {size}{device}]"
    return f"Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters registered under "0", "1", ... (Tensors are wrapped)."""

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_index(self, idx)))

    def __setitem__(self, idx, value):
        setattr(self, str(_index(self, idx)), _as_parameter(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        object.__setattr__(self, "_size", self._size + 1)
        self[self._size - 1] = value
        return self

    def extend(self, values):
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(f"ParameterList.extend: expected an iterable of Tensors, got "
                            f"{type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        # PyTorch names the dtype here ("torch.float32") and the legacy type in a dict
        return "\n".join(f"  ({i}): {_describe(p, lambda t: f'deepgrad.{t.dtype}')}"
                         for i, p in enumerate(self))

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """An ordered dict of parameters registered under their (string) keys."""

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        return getattr(self, key)

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got "
                            f"{type(key).__name__}")
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key):
        del self._keys[key]
        delattr(self, key)

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __contains__(self, key):
        return key in self._keys

    def keys(self):
        return self._keys.keys()

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def values(self):
        return [self[k] for k in self._keys]

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def clear(self):
        for key in list(self._keys):
            del self[key]

    def update(self, parameters):
        pairs = (parameters.items() if isinstance(parameters, (Mapping, ParameterDict))
                 else parameters)
        for j, pair in enumerate(pairs):
            if isinstance(pair, (str, Tensor)) or len(pair) != 2:
                raise ValueError(f"ParameterDict.update: element {j} must be a (key, "
                                 f"value) pair, got {pair!r:.60}")
            self[pair[0]] = pair[1]

    def extra_repr(self):
        return "\n".join(f"  ({k}): {_describe(p, lambda t: type_name(t.dtype))}"
                         for k, p in self.items())

    def __call__(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")


class Flatten(Module):
    """Flatten dims start_dim..end_dim (default: all but the batch axis).

    As in PyTorch, the dims must exist in the input (a 0-d input counts as 1-D) and
    ``start_dim`` must not come after ``end_dim``.
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = check_int_arg("Flatten", "start_dim", start_dim)
        self.end_dim = check_int_arg("Flatten", "end_dim", end_dim)

    def forward(self, x):
        check_tensor("Flatten", x)
        shape = x.shape
        if not shape:  # PyTorch flattens a 0-d tensor to shape (1,)
            check_dim("Flatten", self.start_dim, 0, "start_dim")
            check_dim("Flatten", self.end_dim, 0, "end_dim")
            return ops.reshape(x, (1,))
        start = check_dim("Flatten", self.start_dim, len(shape), "start_dim")
        end = check_dim("Flatten", self.end_dim, len(shape), "end_dim")
        if start > end:
            raise ValueError(f"Flatten: start_dim ({self.start_dim}) comes after end_dim "
                             f"({self.end_dim}) for an input of shape {tuple(shape)}")
        size = 1
        for n in shape[start:end + 1]:
            size *= n
        return ops.reshape(x, shape[:start] + (size,) + shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
