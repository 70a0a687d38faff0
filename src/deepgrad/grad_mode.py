"""Grad mode and anomaly mode: whether ops record the graph, and whether every result
is checked for NaN and Inf (``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``, ``detect_anomaly``)."""
import contextlib
import os
import threading
import traceback

from . import backend


class _Modes(threading.local):
    """Grad mode and anomaly mode, one pair per thread as in PyTorch: a ``no_grad()`` in
    one thread (a server evaluating, a data thread) leaves the others recording. A new
    thread starts with recording on and anomaly mode off."""
    grad = True
    anomaly = False


_modes = _Modes()


def is_grad_enabled():
    """True unless inside :func:`no_grad` (or ``set_grad_enabled(False)``,
    ``inference_mode``)."""
    return _modes.grad


@contextlib.contextmanager
def _grad(mode):
    previous, _modes.grad = _modes.grad, mode
    try:
        yield
    finally:
        _modes.grad = previous


def no_grad():
    """Run a block without recording the graph (evaluation, parameter updates)."""
    return _grad(False)


def enable_grad():
    """Record the graph inside a block, even within ``no_grad``."""
    return _grad(True)


class set_grad_enabled:  # noqa: N801 - PyTorch's name
    """Turn recording on or off: as a call (``set_grad_enabled(False)``) until changed
    again, or for a ``with`` block, after which the previous mode returns."""

    def __init__(self, mode):
        self.previous, _modes.grad = _modes.grad, bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _modes.grad = self.previous


def inference_mode(mode=True):
    """PyTorch's faster ``no_grad`` for evaluation; here the same as ``no_grad()``."""
    return set_grad_enabled(not mode)


class AnomalyError(FloatingPointError):
    """An op produced NaN or Inf while ``detect_anomaly()`` was on."""


@contextlib.contextmanager
def detect_anomaly():
    """Raise at the first op whose forward or backward produces NaN or Inf, naming the
    op and the line of user code that created it. Slower: every result is checked."""
    previous, _modes.anomaly = _modes.anomaly, True
    try:
        yield
    finally:
        _modes.anomaly = previous


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
    return _modes.anomaly
