"""Positions in the containers: ``_index`` turns an index (negatives counting from the
end) into a position in a Sequential, ModuleList or ParameterList, or raises the
IndexError that names the container. Both ``container.py`` and
``parameter_containers.py`` use it, so it lives apart from either and neither imports
the other's module back.
"""
import operator


def _index(container, idx):
    """``idx`` as a non-negative position in ``container``, or IndexError."""
    idx = operator.index(idx)
    n = len(container)
    if not -n <= idx < n:
        raise IndexError(f"{type(container).__name__}: index {idx} is out of range for "
                         f"{n} items")
    return idx % n
