"""Dim and size arguments of the shape and indexing ops, read as PyTorch takes them:
``_sizes`` accepts sizes given either way (``f(2, 3)`` or ``f((2, 3))``), ``_dim`` one
dim index, negatives counting from the end, checked against the tensor's rank; their
errors name the op. They live apart from the ops so that ``shape.py`` and
``indexing.py`` can share them without importing each other.
"""
import operator


def _sizes(sizes, who):
    """``f(2, 3)`` or ``f((2, 3))``: the sizes as one tuple of ints."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    try:
        return tuple(operator.index(s) for s in sizes)
    except TypeError:
        raise TypeError(f"{who}: sizes must be ints, got {sizes!r}") from None


def _dim(d, ndim, who):
    """One dim index (negatives count from the end) checked against ``ndim``."""
    if isinstance(d, bool) or not hasattr(d, "__index__"):
        raise TypeError(f"{who}: dim must be an int, got {d!r}")
    d = operator.index(d)
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(f"{who}: dim {d} is out of range for a tensor with {ndim} "
                         f"dimensions (expected -{max(ndim, 1)} to {max(ndim, 1) - 1})")
    return d % max(ndim, 1)
