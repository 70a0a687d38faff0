"""``dg.cuda``: is a GPU usable, and waiting for it.

    if dg.cuda.is_available():
        model.to("cuda")

The GPU backend is CuPy: every op runs on CuPy arrays through the same code as on
NumPy arrays (see :mod:`deepgrad.backend`).
"""
from . import backend


def is_available():
    """True when CuPy is installed and sees at least one GPU."""
    return backend.cuda_unavailable_reason() is None


def device_count():
    """The number of GPUs CuPy sees (0 without CuPy or a GPU)."""
    return backend._cupy.cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize():
    """Block until the GPU has finished all queued work (time GPU code after this)."""
    backend.synchronize()


def get_device_name():
    """The GPU's name, as the driver gives it (e.g. 'NVIDIA H100 80GB HBM3')."""
    backend.array_module_for("cuda")  # a clear error without a GPU
    name = backend._cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def manual_seed(seed):
    """Seed the GPU's generator alone (``dg.manual_seed`` seeds every device)."""
    backend.manual_seed_device("cuda", seed)


manual_seed_all = manual_seed  # one GPU: the same
