"""Grad mode and anomaly mode: whether ops record the graph, and whether every result
is checked for NaN and Inf (``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``, ``detect_anomaly``)."""
import contextlib
import os
import traceback

from . import backend

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def no_grad():
    """Run a block without recording the graph (evaluation, parameter updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def enable_grad():
    """Record the graph inside a block, even within ``no_grad``."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Turn recording on or off: as a call (``set_grad_enabled(False)``) until changed
    again, or for a ``with`` block, after which the previous mode returns."""

    def __init__(self, mode):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous


def inference_mode(mode=True):
    """PyTorch's faster ``no_grad`` for evaluation; here the same as ``no_grad()``."""
    return set_grad_enabled(not mode)


_anomaly_mode = False


class AnomalyError(FloatingPointError):
    """An op produced NaN or Inf while ``detect_anomaly()`` was on."""


@contextlib.contextmanager
def detect_anomaly():
    """Raise at the first op whose forward or backward produces NaN or Inf, naming the
    op and the line of user code that created it. Slower: every result is checked."""
    global _anomaly_mode
    previous, _anomaly_mode = _anomaly_mode, True
    try:
        yield
    finally:
        _anomaly_mode = previous


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frame():
    """'file:line in function' of the innermost caller outside deepgrad itself."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "(inside deepgrad)"


def check_finite(array, what, origin):
    xp = backend.get_array_module(array)
    if array.dtype.kind in "fc" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise AnomalyError(f"{what} produced {kind}; the op was created at {origin}")


def is_anomaly_enabled():
    return _anomaly_mode
