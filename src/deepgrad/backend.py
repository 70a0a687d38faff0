"""The array backend: which array module holds the numbers, the default dtype, the RNG.

Every op is written once against an array module ``xp`` (NumPy on the CPU, CuPy on a
GPU). ``get_array_module`` picks the module an array belongs to, so the code path is the
same on both devices. Randomness comes from one seeded ``numpy.random.Generator`` per
device, reset together by :func:`manual_seed`.
"""
import numpy as np

default_dtype = np.float32
"""dtype of floating-point tensors made from Python numbers or lists, and of parameters."""

try:  # CuPy is optional: the ``gpu`` extra installs it.
    import cupy as _cupy
except ImportError:  # pragma: no cover - depends on the machine
    _cupy = None


def get_array_module(array):
    """Return ``numpy`` or ``cupy``, whichever owns ``array``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
"""The dtypes the compiled (Numba) loops exist for; other dtypes take the NumPy path."""


def load_compiled(module):
    """Import the compiled loops of ``module`` (``"deepgrad.ops._numba_kernels"``), or
    False without Numba or with ``DEEPGRAD_COMPILED=0``. The one switch for every
    accelerated layer; each caches the answer."""
    import importlib
    import os
    if os.environ.get("DEEPGRAD_COMPILED", "1") == "0":
        return False
    try:
        return importlib.import_module(module)
    except ImportError:  # Numba is optional (the fast extra)
        return False


def is_array(obj):
    """True for a NumPy or CuPy ndarray (what a Tensor wraps)."""
    return type(obj) is np.ndarray or (_cupy is not None and isinstance(obj, _cupy.ndarray))


class device:  # noqa: N801 - PyTorch's name
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda")``,
    ``device("cuda", 0)`` or ``device("cuda:0")``; equal to its name as a string."""

    def __init__(self, type, index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if ":" in name:
            name, _, number = name.partition(":")
            index = int(number)
        if name not in ("cpu", "cuda"):
            raise RuntimeError(f"device: expected 'cpu' or 'cuda', got {type!r} ('mps', "
                               f"'xpu' and the others are not deepgrad backends)")
        self.type, self.index = name, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))


def device_of(array):
    """The device name of an array: ``"cpu"`` or ``"cuda"``."""
    return "cuda" if get_array_module(array) is not np else "cpu"


_cuda_status = (None, None)  # (the CuPy module asked about, its unavailable-reason)


def cuda_unavailable_reason():
    """Why device 'cuda' cannot be used here, or None when it can (asked once)."""
    global _cuda_status
    if _cupy is None:
        return "CuPy is not installed (pip install 'deepgrad[gpu]')"
    if _cuda_status[0] is not _cupy:
        try:
            count = _cupy.cuda.runtime.getDeviceCount()
            reason = None if count > 0 else "CuPy is installed but found no GPU"
        except Exception as err:  # CUDARuntimeError without a driver or GPU
            reason = f"CuPy is installed but found no usable GPU ({err})"
        _cuda_status = (_cupy, reason)
    return _cuda_status[1]


class DeviceUnavailableError(RuntimeError):
    """Device 'cuda' was asked for where CuPy or a GPU is missing; says which."""


def array_module_for(device):
    """The array module for a device name; a clear error for an unknown or absent one."""
    device = normalize_device(device)
    if device == "cpu":
        return np
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise DeviceUnavailableError(f"device 'cuda' is not available: {reason}")
    return _cupy


def normalize_device(device):
    """Map ``None``, ``"cpu"``, ``"cuda"``, ``"cuda:0"`` to ``"cpu"`` or ``"cuda"``."""
    if device is None:
        return "cpu"
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")


def to_device(array, device, dtype=None):
    """``array`` on ``device`` (and of ``dtype`` if given): the same array when nothing
    changes, else a copy. The one place data crosses between host and GPU."""
    xp = array_module_for(device)
    if xp is np and get_array_module(array) is not np:
        array = array.get()
    return xp.asarray(array, dtype=dtype)


def check_same_device(name, arrays):
    """Refuse an op whose array operands live on different devices, naming them.

    Only called when CuPy is loaded: without it every array is a NumPy array. NumPy
    scalars are numbers, allowed with any device (as CuPy does)."""
    first = None
    for i, a in enumerate(arrays):
        if not hasattr(a, "shape") or isinstance(a, np.generic):
            continue
        device = device_of(a)
        if first is None:
            first = (i, device, a.shape)
        elif device != first[1]:
            raise RuntimeError(
                f"{name}: expected all tensors on one device, got input {first[0]} on "
                f"{first[1]} (shape {first[2]}) and input {i} on {device} (shape "
                f"{tuple(a.shape)}); move them with .to(device)")


def synchronize():
    """Wait for the GPU to finish queued work (for timing); nothing to do on the CPU."""
    if _cupy is not None and cuda_unavailable_reason() is None:
        _cupy.cuda.get_current_stream().synchronize()


_seed = None
_device_seeds = {}
_generators = {}


def manual_seed(seed):
    """Seed every random generator deepgrad uses (parameter init, dropout, data order)."""
    global _seed
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _device_seeds.clear()
    _generators.clear()


def manual_seed_device(device, seed):
    """Seed one device's generator (``dg.cuda.manual_seed``)."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
    device = normalize_device(device)
    _device_seeds[device] = int(seed)
    _generators.pop(device, None)


def generator(device="cpu"):
    """The shared random generator of a device, created on first use from the seed."""
    device = normalize_device(device)
    gen = _generators.get(device)
    if gen is None:
        seed = _device_seeds.get(device, _seed)
        if device == "cpu":
            gen = np.random.default_rng(seed)
        else:
            gen = array_module_for("cuda").random.default_rng(seed)
        _generators[device] = gen
    return gen


def get_rng_state():
    """The CPU generator's state as a JSON-friendly dict (for checkpoints)."""
    return generator("cpu").bit_generator.state


def set_rng_state(state):
    """Restore the CPU generator from :func:`get_rng_state`'s dict."""
    generator("cpu").bit_generator.state = state


_compute_threads = None


def compute_threads():
    """Threads deepgrad's own parallel loops use (optimizer updates): the machine's
    cores unless :func:`set_num_threads` said otherwise."""
    import os
    return _compute_threads or os.cpu_count() or 1


def set_num_threads(n):
    """Use ``n`` threads: for the BLAS library (with threadpoolctl, if installed) and
    for deepgrad's own parallel loops.

    Processes that share a machine (MPI ranks, sweep workers) should split its cores:
    OpenBLAS threads spin while they wait, so two processes with a thread per core each
    can run many times slower than with one thread each. Returns True if applied.
    """
    global _compute_threads
    _compute_threads = max(1, int(n))
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return False
    blas_threads(_compute_threads)  # kept: the limit holds from now on
    return True


def blas_threads(n):
    """A ``with`` block in which the BLAS library runs ``n`` threads (threadpoolctl's
    limit; nothing changes where it is not installed)."""
    import contextlib
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def share_cores(processes):
    """Give this process its share of the machine's cores among ``processes``."""
    import os
    if processes > 1:
        set_num_threads(max(1, (os.cpu_count() or 1) // processes))
