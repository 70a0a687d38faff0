"""Moving a model between devices and casting it (``Module.to``, ``.cuda()``,
``.double()``): the parameters' arrays are replaced, the Parameter objects stay, so
optimizers built on them keep working."""
import numpy as np

from .. import backend
from ..autograd import Tensor


def move_to(model, device, dtype):
    """Move (``device``) and/or cast (``dtype``, floating-point arrays only: a counter such
    as ``num_batches_tracked`` stays int64) every parameter, gradient and buffer of
    ``model``, in place."""
    if device is not None:
        backend.array_module_for(device)  # refuse an unknown or absent device first

    def convert(array):
        cast = dtype if dtype is not None and array.dtype.kind in "fc" else None
        return backend.to_device(array, device or backend.device_of(array), cast)

    for module in model.modules():
        for p in module._parameters.values():
            if p is not None:
                p._data = convert(p._data)
                if p._grad is not None:
                    p._grad = convert(p._grad)
        for name, b in module._buffers.items():
            if b is not None:
                module._buffers[name] = convert(b)


def parse_to(who, args, kwargs):
    """``(device or None, numpy dtype or None)`` from ``Module.to``'s arguments."""
    device, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{who}.to: unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, (str, backend.device)):
            device = arg
        elif isinstance(arg, bool):  # to(device, dtype, non_blocking)
            continue
        elif arg is not None:
            dtype = arg
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{who}.to: expected a device ('cpu', 'cuda'), a dtype "
                            f"(deepgrad.float32, ...) or a Tensor, got {dtype!r}") from None
        if dtype.kind not in "fc":
            raise TypeError(f"{who}.to only accepts floating point or complex dtypes, got "
                            f"{dtype}")
    if device is not None:
        try:
            backend.normalize_device(device)
        except ValueError as err:
            raise ValueError(f"{who}.to: {err}") from None
    return device, dtype
