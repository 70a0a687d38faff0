"""Apple's Metal backend: deepgrad runs on NumPy (CPU) and CuPy (NVIDIA GPUs) only."""


def is_available():
    return False


def is_built():
    return False
