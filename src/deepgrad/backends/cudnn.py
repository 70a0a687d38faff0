"""NVIDIA's cuDNN switches that tutorials set: deepgrad's GPU path is CuPy's, so the
flags are kept (a program may set and read them) and change nothing."""
enabled = True
deterministic = False
benchmark = False


def is_available():
    return False
