"""Containers: Sequential, and Flatten which every image-to-vector net needs."""
from collections import OrderedDict

from .. import ops
from ..ops.checks import check_dim, check_int_arg, check_tensor
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
