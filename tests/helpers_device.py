"""Devices for the backend-parametrised tests: real CuPy where a GPU is, an emulation here.

``emulated_cupy()`` builds a stand-in for the ``cupy`` module out of NumPy, so that
deepgrad's device handling (moving models, data, optimizer state and checkpoints between
devices, keeping every intermediate on the device, refusing mixed devices) is tested on
every machine, CI included. It follows the CuPy rules that this code depends on:

* device arrays are their own type (:class:`DeviceArray`), with ``.get()`` copying to a
  NumPy array, and ``isinstance(a, cupy.ndarray)`` telling them apart;
* arrays made by the module's functions, and every result computed from device arrays,
  are device arrays; host data enters only through ``asarray``/``array`` (a copy, like a
  host-to-device transfer);
* an operation that mixes a device array with a NumPy array raises TypeError, as CuPy
  does; reductions give 0-d device arrays, not NumPy scalars;
* ``random.default_rng``, ``cuda.runtime.getDeviceCount`` and
  ``cuda.get_current_stream().synchronize``.

What only a GPU can show (CuPy's own API gaps, kernels, float32 round-off of GPU
libraries, speed) is left to the real CuPy cases, which run on a GPU machine and skip
elsewhere.
"""
import types

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import backend


class DeviceArray(np.ndarray):
    """A NumPy array posing as a CuPy array."""

    def get(self):
        return np.array(self.view(np.ndarray), copy=True)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        _refuse_host(f"{ufunc.__name__}.{method}", inputs + (out or ()))
        if out is not None:
            kwargs["out"] = tuple(_host_view(o) for o in out)
        result = getattr(ufunc, method)(*[_host_view(x) for x in inputs], **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device_result(result)

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_host(func.__name__, _flatten(args) + _flatten(tuple(kwargs.values())))
        return _to_device_result(func(*_unwrap(args), **_unwrap(kwargs)))


def _host_view(x):
    return x.view(np.ndarray) if isinstance(x, DeviceArray) else x


def _flatten(items):
    flat = []
    for item in items:
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten(tuple(item)))
        else:
            flat.append(item)
    return tuple(flat)


def _unwrap(value):
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return _host_view(value)


def _refuse_host(what, operands):
    for x in operands:
        if isinstance(x, np.ndarray) and not isinstance(x, DeviceArray):
            raise TypeError(f"emulated CuPy: {what} got a NumPy array (shape {x.shape}) "
                            f"with device arrays; CuPy refuses to mix them")


def _to_device_result(result):
    if isinstance(result, tuple):
        return tuple(_to_device_result(r) for r in result)
    if isinstance(result, list):
        return [_to_device_result(r) for r in result]
    if isinstance(result, np.generic):
        return np.asarray(result).view(DeviceArray)
    if isinstance(result, np.ndarray) and not isinstance(result, DeviceArray):
        return result.view(DeviceArray)
    return result


def _device_function(fn):
    def call(*args, **kwargs):
        return _to_device_result(fn(*args, **kwargs))
    call.__name__ = getattr(fn, "__name__", "function")
    return call


class _Namespace(types.ModuleType):
    """A NumPy (sub)module whose functions return device arrays."""

    def __init__(self, name, numpy_module):
        super().__init__(name)
        self._numpy = numpy_module

    def __getattr__(self, name):
        value = getattr(self._numpy, name)
        if isinstance(value, types.ModuleType):
            return _Namespace(f"{self.__name__}.{name}", value)
        if isinstance(value, (np.ufunc, type)) or not callable(value):
            return value
        return _device_function(value)


class _Generator:
    """CuPy's Generator API over NumPy's, giving device arrays."""

    def __init__(self, seed):
        self._gen = np.random.default_rng(seed)

    def __getattr__(self, name):
        if name not in ("random", "standard_normal", "integers", "uniform"):
            raise AttributeError(name)
        return _device_function(getattr(self._gen, name))


def emulated_cupy():
    module = _Namespace("emulated_cupy", np)
    module.ndarray = DeviceArray

    def array(obj, dtype=None, copy=True, **kwargs):
        host = obj.get() if isinstance(obj, DeviceArray) else obj
        return np.array(host, dtype=dtype, copy=True, **kwargs).view(DeviceArray)

    def asarray(obj, dtype=None):
        if isinstance(obj, DeviceArray) and (dtype is None or obj.dtype == dtype):
            return obj
        return array(obj, dtype=dtype)

    module.array, module.asarray = array, asarray
    module.random = types.SimpleNamespace(default_rng=_Generator)
    stream = types.SimpleNamespace(synchronize=lambda: None)
    module.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, getDeviceProperties=lambda i:
                                      {"name": b"emulated GPU (NumPy)"}),
        get_current_stream=lambda: stream)
    return module


DEVICES = ["emulated", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device(request, monkeypatch):
    """'cuda' backed by the emulation (every machine) or by CuPy on a GPU (skips without)."""
    if request.param == "emulated":
        monkeypatch.setattr(backend, "_cupy", emulated_cupy())
    elif not dg.cuda.is_available():
        pytest.skip(f"no GPU: {backend.cuda_unavailable_reason()}")
    monkeypatch.setattr(backend, "_generators", {})  # fresh seeded generators per device
    dg.manual_seed(0)
    return "cuda"


def emulated():
    """True while the emulated device stands in for the GPU."""
    return getattr(backend._cupy, "__name__", "") == "emulated_cupy"


def on_device(array):
    """True when ``array`` (or a Tensor's data) lives on the GPU (or the emulation)."""
    data = array._data if isinstance(array, dg.Tensor) else array
    return backend.device_of(data) == "cuda"
