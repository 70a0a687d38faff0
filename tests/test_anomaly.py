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
