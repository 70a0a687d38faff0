"""``save`` / ``load``: PyTorch's ``torch.save`` / ``torch.load``, on safetensors files.

What can be saved: Tensors (Parameters too), NumPy and CuPy arrays, NumPy scalars,
Python numbers, strings, None, and dicts, lists and tuples of these, nested: a model's
``state_dict()``, an optimizer's, a checkpoint ``{"model": ..., "optimizer": ...,
"epoch": 3}``, one Tensor, a list of Tensors. A whole Module is refused (PyTorch pickles
it): save its state dict and build the model in code.

The file is one safetensors file, written atomically. Every array is a tensor entry
named by its path in the object: a state dict's keys as they are (``0.weight``), nested
entries joined by dots (``state.0.exp_avg``). So a flat state dict saved here is read by
``safetensors.torch.load_file`` into a torch model, and back. The rest of the object
(containers, their key types, numbers, which arrays were Tensors or Parameters, the
devices) is JSON in the file's metadata under ``deepgrad.structure``; an object reached
twice is saved once and loaded as one object. A safetensors file without that entry
(written by safetensors, PyTorch, JAX) loads as a dict of Tensors.

Nothing is unpickled, ever: a pickled PyTorch file is refused with the lines that convert
it. ``weights_only`` is accepted and always holds: a file can only give back tensors and
plain data.
"""
import json
import os
from collections import OrderedDict

import numpy as np

from . import backend, serialization
from .autograd import Tensor
from .serialization import CheckpointError

STRUCTURE = "deepgrad.structure"
"""The metadata key of the JSON that describes the saved object."""

_SINGLE = "tensor"  # the entry name of an object that is one array


def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True):
    """Write ``obj`` (tensors, arrays, numbers, strings and containers of them) to ``f``,
    a path or a binary file object, as a safetensors file.

    The pickle arguments of ``torch.save`` are accepted and have no effect.
    """
    tensors, stored = {}, {}
    structure = _encode(obj, "", tensors, stored, [])
    metadata = {"format": "pt", STRUCTURE: json.dumps(structure, separators=(",", ":"))}
    data = serialization.dumps(tensors, metadata)
    if hasattr(f, "write"):
        f.write(data)
    else:
        serialization.atomic_write(f, data)


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Read what :func:`save` wrote (or any safetensors file) from ``f``, a path or a
    binary file object.

    ``map_location``: where the arrays go. None puts each where it was saved (an error
    names the missing device if that is not available here); ``'cpu'``, ``'cuda'`` or a
    ``device`` puts all there; a dict maps saved devices to others
    (``{'cuda:0': 'cpu'}``); a function ``fn(array, saved_device)`` may return the array
    to use (None keeps the default). ``weights_only``, ``mmap`` and the pickle
    arguments are accepted for PyTorch's programs; nothing here is ever unpickled.
    """
    if hasattr(f, "read"):
        data, source = f.read(), getattr(f, "name", "<file>")
    else:
        source = os.fspath(f)
        data = serialization.read_bytes(source, missing="deepgrad.load: no file at")
    tensors, metadata = serialization.loads(data, source=str(source))
    place = _placement(map_location)
    if STRUCTURE not in metadata:  # a plain safetensors file: its tensors by name
        return {name: Tensor(place(array, "cpu")) for name, array in tensors.items()}
    try:
        structure = json.loads(metadata[STRUCTURE])
        return _Decoder(tensors, place, source).decode(structure)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{source}: damaged {STRUCTURE} metadata ({err})") from None


# -- saving ---------------------------------------------------------------------------------

def _encode(obj, path, tensors, stored, trail):
    """The JSON description of ``obj``; its arrays go into ``tensors`` under their path.

    Numbers, strings, booleans and None are themselves; everything else is an object
    ``{"t": kind, ...}``, so the two never mix up."""
    if isinstance(obj, np.generic):  # before float: np.float64 is one, and keeps its type
        return {"t": "scalar", "key": _store(np.asarray(obj), path, tensors, stored)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Tensor):
        from .nn.parameter import Parameter, UninitializedParameter
        if isinstance(obj, UninitializedParameter):
            raise TypeError(f"save: {_where(path)} is a lazy layer's uninitialised "
                            f"parameter; call the model once on a batch before saving")
        kind = "parameter" if isinstance(obj, Parameter) else "tensor"
        entry = {"t": kind, "key": _store(obj._data, path, tensors, stored)}
        if obj.requires_grad:
            entry["requires_grad"] = True
        return _with_device(entry, obj._data)
    if backend.is_array(obj):
        return _with_device({"t": "array", "key": _store(obj, path, tensors, stored)}, obj)
    if isinstance(obj, (dict, list, tuple)):
        if any(obj is seen for seen in trail):
            raise ValueError(f"save: {_where(path)} contains itself")
        trail = trail + [obj]
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if key is not None and not isinstance(key, (bool, int, float, str)):
                raise TypeError(f"save: the keys of {_where(path)} must be strings, "
                                f"numbers, booleans or None, got a {type(key).__name__}")
            items.append([key, _encode(value, _join(path, key), tensors, stored, trail)])
        return {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"t": "list" if isinstance(obj, list) else "tuple",
                "items": [_encode(v, _join(path, i), tensors, stored, trail)
                          for i, v in enumerate(obj)]}
    hint = (" (save model.state_dict() and rebuild the model in code: deepgrad does "
            "not pickle objects)" if hasattr(obj, "state_dict") else "")
    raise TypeError(f"save: cannot store {_where(path)}, a {type(obj).__name__}; "
                    f"tensors, arrays, numbers, strings, None and dicts, lists or tuples "
                    f"of them can be saved{hint}")


def _store(array, path, tensors, stored):
    """Put ``array`` in the file under its path (once, however often it is reached)."""
    if id(array) in stored:
        return stored[id(array)]
    name = path or _SINGLE
    if name in tensors:  # two paths that join to the same text: {"a.b": x, "a": {"b": y}}
        n = 1
        while f"{name}#{n}" in tensors:
            n += 1
        name = f"{name}#{n}"
    tensors[name] = array
    stored[id(array)] = name
    return name


def _with_device(entry, array):
    device = backend.device_of(array)
    if device != "cpu":
        entry["device"] = device
    return entry


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _where(path):
    return f"the entry {path!r}" if path else "the object"


# -- loading --------------------------------------------------------------------------------

def _placement(map_location):
    """``place(array, saved_device) -> array`` for a ``map_location``."""
    def move(array, device):
        try:
            return backend.to_device(array, device)
        except backend.DeviceUnavailableError as err:
            raise backend.DeviceUnavailableError(
                f"deepgrad.load: the file holds tensors saved on {device!r}: {err}; load "
                f"them with map_location='cpu'") from None

    if map_location is None:
        return move
    if isinstance(map_location, (str, backend.device)):
        target = backend.normalize_device(map_location)
        return lambda array, device: move(array, target)
    if isinstance(map_location, dict):
        table = {backend.normalize_device(k): v for k, v in map_location.items()}
        return lambda array, device: move(array, backend.normalize_device(
            table.get(device, device)))
    if callable(map_location):
        def call(array, device):
            result = map_location(array, device)
            if result is None:
                return move(array, device)
            if isinstance(result, Tensor):
                return result._data
            if not backend.is_array(result):
                raise TypeError(f"deepgrad.load: map_location returned a "
                                f"{type(result).__name__}, not an array")
            return result
        return call
    raise TypeError(f"deepgrad.load: map_location must be None, a device, a dict or a "
                    f"function, got {type(map_location).__name__}")


class _Decoder:
    def __init__(self, tensors, place, source):
        self.tensors, self.place, self.source = tensors, place, source
        self.arrays = {}  # entry name -> placed array, so shared entries stay shared

    def decode(self, node):
        if not isinstance(node, dict):
            if isinstance(node, list):
                raise CheckpointError(f"{self.source}: malformed {STRUCTURE} (a bare list)")
            return node
        kind = node["t"]
        if kind in ("dict", "odict"):
            items = ((key, self.decode(value)) for key, value in node["items"])
            return OrderedDict(items) if kind == "odict" else dict(items)
        if kind == "list":
            return [self.decode(v) for v in node["items"]]
        if kind == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if kind == "scalar":
            return self._array(node["key"], "cpu")[()]
        if kind in ("array", "tensor", "parameter"):
            array = self._array(node["key"], node.get("device", "cpu"))
            if kind == "array":
                return array
            requires_grad = bool(node.get("requires_grad", False))
            if kind == "parameter":
                from .nn.parameter import Parameter
                return Parameter(array, requires_grad=requires_grad)
            return Tensor(array, requires_grad=requires_grad)
        raise CheckpointError(f"{self.source}: unknown entry kind {kind!r} in {STRUCTURE}")

    def _array(self, name, device):
        if name not in self.tensors:
            raise CheckpointError(f"{self.source}: {STRUCTURE} names a tensor {name!r} "
                                  f"that the file does not hold")
        if name not in self.arrays:
            self.arrays[name] = self.place(self.tensors[name], device)
        return self.arrays[name]
