"""detect_anomaly names the first op that makes NaN or Inf, and where user code made it."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn


def test_planted_log_of_zero_is_named_with_its_line():
    x = dg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with pytest.raises(dg.AnomalyError, match=r"forward of Log produced Inf.*test_anomaly.py:\d+"):
        with dg.detect_anomaly(), np.errstate(divide="ignore"):
            dg.log(x).sum()  # planted: log(0)


def test_planted_overflow_is_named():
    model = nn.Linear(2, 2)
    x = dg.tensor([[30.0, 30.0]])
    with pytest.raises(dg.AnomalyError, match=r"forward of Exp produced Inf.*planted"):
        with dg.detect_anomaly(), np.errstate(over="ignore"):
            h = model(x)
            dg.exp(h * h * 1000).sum()  # planted overflow


def test_a_non_finite_gradient_names_the_backward():
    x = dg.tensor([0.0, 1.0], requires_grad=True)
    y = dg.sqrt(x).sum()  # fine forward: sqrt(0) = 0
    with pytest.raises(dg.AnomalyError, match="backward of Sqrt produced Inf"):
        with dg.detect_anomaly(), np.errstate(divide="ignore"):
            y.backward()


def test_without_anomaly_mode_nothing_is_checked():
    x = dg.tensor([0.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        assert dg.log(x).item() == -np.inf


def test_mode_is_restored_after_the_block():
    from deepgrad import grad_mode
    with pytest.raises(ZeroDivisionError):
        with dg.detect_anomaly():
            raise ZeroDivisionError
    assert grad_mode.is_anomaly_enabled() is False


def test_grad_and_anomaly_modes_are_per_thread_as_in_pytorch():
    """A no_grad() or detect_anomaly() in one thread (a server, a data thread) leaves the
    others as they are; a new thread starts recording, anomaly mode off."""
    import threading
    torch = pytest.importorskip("torch")
    inside, other = threading.Event(), threading.Event()
    seen = {}

    def worker(lib, key):
        with lib.no_grad():
            inside.set()
            other.wait(5)
        seen[key] = lib.is_grad_enabled()

    for lib, key in ((dg, "dg"), (torch, "torch")):
        inside.clear(), other.clear()
        thread = threading.Thread(target=worker, args=(lib, key))
        thread.start()
        inside.wait(5)
        x = lib.ones(2, requires_grad=True)
        assert lib.is_grad_enabled() and (x * 2).requires_grad, key  # the main thread records
        other.set()
        thread.join()
        assert seen[key]
    fresh = {}
    with dg.no_grad(), dg.autograd.detect_anomaly():
        thread = threading.Thread(target=lambda: fresh.update(
            grad=dg.is_grad_enabled(), anomaly=dg.grad_mode.is_anomaly_enabled()))
        thread.start()
        thread.join()
    assert fresh == {"grad": True, "anomaly": False}
