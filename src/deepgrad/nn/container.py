"""Containers: Sequential, and Flatten which every image-to-vector net needs."""
from collections import OrderedDict

from .. import ops
from .module import Module


class Sequential(Module):
    """Apply modules in order; submodules are named "0", "1", ... (or by an OrderedDict)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a "
                                    f"Module")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        items = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*items[i])
        return items[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self


class Flatten(Module):
    """Flatten dims start_dim..end_dim (default: all but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        shape = x.shape
        start = self.start_dim % len(shape)
        end = self.end_dim % len(shape)
        size = 1
        for n in shape[start:end + 1]:
            size *= n
        return ops.reshape(x, shape[:start] + (size,) + shape[end + 1:])
