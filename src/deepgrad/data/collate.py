"""From samples to batches, as ``torch.utils.data.default_collate`` / ``default_convert``.

``default_collate(samples)`` stacks a list of samples along a new first axis, keeping
their structure; by the type of the first sample:

* Tensor, NumPy array -> a Tensor of shape (B, ...) (same dtype; arrays of strings or
  objects are refused);
* NumPy scalar -> a 1-D Tensor of its dtype; Python ``float`` -> float64, ``int`` ->
  int64 (``bool`` -> bool; ints mixed with floats -> float32, as ``torch.tensor``);
* ``str``/``bytes`` -> the samples unchanged (a tuple or list of them);
* dict (any mapping) -> the same keys, each collated; namedtuple -> the same type;
* tuple or list -> a list with one collated entry per position (PyTorch returns a list
  for tuples too), every sample being as long as the first.

``default_convert(sample)`` is what a loader with ``batch_size=None`` applies to each
sample: NumPy arrays and scalars become Tensors, containers are walked, the rest is
left as it is.
"""
import collections.abc
import copy

import numpy as np

from .. import backend
from ..autograd import Tensor

_NOT_COLLATABLE = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                   "dicts or lists; found {}")


def _stack(arrays):
    """One array of shape (B, ...) from B arrays of one shape."""
    first = arrays[0]
    for i, a in enumerate(arrays):
        if a.shape != first.shape:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal "
                               f"size, but got {list(first.shape)} at entry 0 and "
                               f"{list(a.shape)} at entry {i}")
    return Tensor(backend.get_array_module(first).stack(arrays))


def _is_string_or_object(array):
    return array.dtype.kind in "SUOV"


def default_collate(batch):
    """Stack a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([t._data for t in batch])
    if isinstance(elem, np.ndarray) or backend.is_array(elem):
        if _is_string_or_object(elem):
            raise TypeError(_NOT_COLLATABLE.format(elem.dtype))
        return _stack([b if backend.is_array(b) else np.asarray(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        return Tensor(np.asarray(batch))
    if isinstance(elem, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        values = np.asarray(batch)
        if values.dtype.kind == "f":
            values = values.astype(backend.default_dtype)
        elif values.dtype.kind in "iu":
            values = values.astype(np.int64)
        return Tensor(values)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        return _same_mapping(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("default_collate: each element in list of batch should be "
                               "of equal size")
        collated = [default_collate(s) for s in zip(*batch)]
        return collated if isinstance(elem, tuple) else _same_sequence(elem, collated)
    raise TypeError(_NOT_COLLATABLE.format(type(elem)))


def default_convert(data):
    """Turn the NumPy arrays and scalars in one sample into Tensors."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.bool_, np.number)) or backend.is_array(data):
        if _is_string_or_object(data):
            return data
        return Tensor(data if backend.is_array(data) else np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _same_sequence(data, [default_convert(d) for d in data])
    return data


def _same_mapping(like, values):
    """``values`` (a dict) in the mapping type of ``like`` where that type allows it."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)  # keeps the extra state of a dict subclass
            clone.update(values)
            return clone
        return type(like)(values)
    except TypeError:
        return values


def _same_sequence(like, values):
    """``values`` (a list) in the sequence type of ``like`` where that type allows it."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(like)(values)
    except TypeError:
        return values
