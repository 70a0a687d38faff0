"""A model's state dict: its parameters and persistent buffers under PyTorch's dotted
keys (``0.weight``, ``bn.running_mean``), in PyTorch's order, and loading one back
(``Module.state_dict`` and ``Module.load_state_dict`` call these).

Loading checks everything before it changes anything: a missing or unexpected key (with
``strict``) or a shape that does not fit raises :class:`StateDictError` and the model is
left as it was.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..autograd import Tensor


class StateDictError(ValueError, RuntimeError):
    """A state dict that does not fit the model (missing or unexpected keys, shapes).

    A ValueError like deepgrad's other argument errors and a RuntimeError like PyTorch's,
    so code written for either catches it."""


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: unpacks as ``missing, unexpected``."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def state_slots(model):
    """``{key: (module, name, "param" | "buffer")}`` in PyTorch's state-dict order: a
    module's own parameters, its buffers, then its children; shared modules under
    every name."""
    slots = OrderedDict()
    for prefix, module in model.named_modules(remove_duplicate=False):
        dot = f"{prefix}." if prefix else ""
        for name, p in module._parameters.items():
            if p is not None:
                slots[dot + name] = (module, name, "param")
        for name, b in module._buffers.items():
            if b is not None and name not in module._non_persistent:
                slots[dot + name] = (module, name, "buffer")
    return slots


def model_state(model, destination=None, prefix="", keep_vars=False):
    """Parameters and persistent buffers as Tensors outside the graph that share the
    model's memory (as PyTorch's), under PyTorch's dotted keys.

    With ``keep_vars`` the parameters themselves are given instead; ``prefix`` is put
    before every key (``"fc."``); ``destination`` is filled and returned instead of a
    new OrderedDict. A lazy layer that has not seen an input yet has no arrays to give:
    that is an error naming the layer.
    """
    model._check_materialized("state_dict()")
    state = OrderedDict() if destination is None else destination
    for key, (module, name, kind) in state_slots(model).items():
        if kind == "param":
            p = module._parameters[name]
            state[prefix + key] = p if keep_vars else Tensor(p._data)
        else:
            buffer = module._buffers[name]
            state[prefix + key] = buffer if buffer is None else Tensor(buffer)
    return state


def load_model_state(model, state_dict, strict=True, assign=False):
    """Copy values (deepgrad Tensors, NumPy or CuPy arrays, anything NumPy can read)
    into the model's parameters and buffers.

    Values are copied in place and cast to the model's dtype, so optimizers keep
    pointing at the same parameters; with ``assign=True`` the arrays are taken as they
    are (their dtype kept) instead. With ``strict`` a missing or unexpected key is an
    error; a shape mismatch always is, and nothing is loaded then. A lazy layer that
    has not run yet takes its shapes from the state dict first (should the load then
    fail, it keeps them, filled with zeros). Returns ``(missing_keys,
    unexpected_keys)``, with those attribute names too.
    """
    for prefix, module in model.named_modules(remove_duplicate=False):
        if getattr(module, "_lazy_uninitialized", False):
            module._materialize_from_state(state_dict, f"{prefix}." if prefix else "")
    own = state_slots(model)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    problems = []
    if strict and missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    values = {}
    for key, (module, name, kind) in own.items():
        if key not in state_dict:
            continue
        value = _as_array(state_dict[key], key)
        target = _slot_array(module, name, kind)
        if tuple(value.shape) != tuple(target.shape):
            problems.append(f"{key}: the checkpoint has shape {tuple(value.shape)}, the "
                            f"model has {tuple(target.shape)}")
        values[key] = value
    if problems:
        raise StateDictError(f"load_state_dict into {type(model).__name__}: "
                             + "; ".join(problems))
    for key, value in values.items():
        module, name, kind = own[key]
        target = _slot_array(module, name, kind)
        device = backend.device_of(target)
        if not assign:
            target[...] = backend.to_device(value, device, target.dtype)
        elif kind == "param":
            module._parameters[name]._data = backend.to_device(value, device)
        else:
            module._buffers[name] = backend.to_device(value, device)
    return _IncompatibleKeys(missing, unexpected)


def _slot_array(module, name, kind):
    return module._parameters[name]._data if kind == "param" else module._buffers[name]


def _as_array(value, key):
    """The array of a state-dict value: a Tensor's, a NumPy/CuPy array itself, else what
    ``numpy.asarray`` makes of it (a CPU torch tensor, a number)."""
    if isinstance(value, Tensor):
        return value._data
    if backend.is_array(value):
        return value
    try:
        array = np.asarray(value)
    except Exception as err:  # a torch tensor that requires grad, say
        raise TypeError(f"load_state_dict: the value of {key!r} ({type(value).__name__}) "
                        f"cannot be read as an array: {err}") from None
    if array.dtype.kind not in "biufc":
        raise TypeError(f"load_state_dict: the value of {key!r} is a "
                        f"{type(value).__name__}, not an array or Tensor")
    return array
