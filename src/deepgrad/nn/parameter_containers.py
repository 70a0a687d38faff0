"""Parameter containers: ``ParameterList`` (registered under "0", "1", ...) and
``ParameterDict`` (under their string keys), which wrap a Tensor they are given in a
Parameter sharing its memory and store anything else as a plain attribute, and print
their entries in PyTorch's words. ``container.py`` re-exports them.
"""
from collections.abc import Iterable, Mapping

from ..autograd import Tensor
from ..dtypes import type_name
from .container_index import _index
from .module import Module
from .parameter import Parameter


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
