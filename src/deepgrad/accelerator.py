"""``dg.accelerator``: the device-selection lines current PyTorch tutorials open with.

    device = dg.accelerator.current_accelerator().type if dg.accelerator.is_available() else "cpu"
"""
from . import backend, cuda


def is_available():
    """True when a GPU backend (CuPy with a GPU) is usable."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """``device('cuda')`` when a GPU is usable, else None."""
    return backend.device("cuda") if is_available() else None


def device_count():
    return cuda.device_count()
