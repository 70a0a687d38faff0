"""Shared pieces of the oneDNN tests: the fixture that skips without the library, a
channels-last copy of an array, and a block with oneDNN switched off."""
import contextlib

import numpy as np
import pytest

from deepgrad.ops import _onednn


@pytest.fixture
def onednn():
    """The bindings module; skips where the optional ``onednn`` extra is not installed
    or does not load."""
    if _onednn.library() is None:
        pytest.skip(f"oneDNN is not available: {_onednn.unavailable_reason()}")
    return _onednn


def channels_last(x):
    """``x`` (N, C, H, W) with the same values, stored channels-last."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@contextlib.contextmanager
def onednn_switched_off(monkeypatch):
    """A block run with ``DEEPGRAD_ONEDNN=0`` (the library unloaded), and oneDNN back
    after it."""
    monkeypatch.setenv("DEEPGRAD_ONEDNN", "0")
    _onednn.reset()
    try:
        yield
    finally:
        monkeypatch.delenv("DEEPGRAD_ONEDNN")
        _onednn.reset()


def assert_backward_refuses_a_changed_output(y, kind):
    """``y`` (made by an op of class ``kind``) changed in place after another op used
    it: backward must refuse, as PyTorch does."""
    assert isinstance(y.creator, kind)
    z = y * 1.0
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()
