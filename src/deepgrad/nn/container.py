"""Module containers: Sequential, ModuleList and ModuleDict.

Their behaviour is PyTorch's: children are registered under ``"0"``, ``"1"``, ... (or the
given names), so state-dict keys match; deleting renumbers; a slice of a Sequential keeps
its children's names. The parameter containers (ParameterList, ParameterDict) live in
``parameter_containers.py`` and Flatten in ``flatten.py``; both are re-exported here.
"""
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .container_index import _index
from .flatten import Flatten  # noqa: F401 - re-exported (models.py, nn)
from .module import Module, _indent
from .parameter_containers import ParameterDict, ParameterList  # noqa: F401 - re-exported


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
