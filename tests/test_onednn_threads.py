"""How oneDNN's primitives are called (ops/_onednn.py): the address of an array handed
to them, and the threads they run on (one for a small op, OpenMP's setting for a large
one, the caller's setting left as it was).

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra): without it these
tests skip.
"""
import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops import _onednn
from deepgrad.ops._conv_onednn import OneDNNConv2d
from helpers_onednn import channels_last, onednn  # noqa: F401


@pytest.mark.parametrize("make", [
    lambda a: a,                       # C-contiguous, writable: the buffer's address
    lambda a: a[1:],                   # an offset view
    lambda a: a.T,                     # transposed: not C-contiguous
    lambda a: a[:, ::2],               # strided
    lambda a: np.broadcast_to(a[0], a.shape),  # read-only
    lambda a: channels_last(a.reshape(1, 3, 4, 5)),
    lambda a: a[:0],                   # empty
], ids=["contiguous", "offset", "transposed", "strided", "read-only", "channels-last",
        "empty"])
def test_address_is_the_first_elements(make):
    a = make(np.arange(60, dtype=np.float32).reshape(12, 5))
    assert _onednn.address(a) == a.ctypes.data


def test_a_plan_reads_the_buffers_of_each_call(onednn):
    """run() gives a memory object a new address only when it changed (a weight's stays):
    each call still reads its own input, and a weight changed in place."""
    w = dg.randn(16, 6, 5, 5, requires_grad=True)
    x1, x2 = dg.randn(1, 6, 14, 14), dg.randn(1, 6, 14, 14)
    assert isinstance(F.conv2d(x1, w).creator, OneDNNConv2d)
    for x in (x1, x2, x1):
        assert np.allclose(F.conv2d(x, w).detach().numpy(), _reference_conv(x, w),
                           atol=1e-4)
    with dg.no_grad():
        w.mul_(-2)  # same buffer, new values
    assert np.allclose(F.conv2d(x1, w).detach().numpy(), _reference_conv(x1, w), atol=1e-4)


def _reference_conv(x, w):
    from deepgrad.ops.conv import _conv2d_reference
    return _conv2d_reference(x.double(), w.detach().double()).numpy()


def _conv_plan(batch):
    x = dg.randn(batch, 6, 14, 14, requires_grad=True)
    w = dg.randn(16, 6, 5, 5, requires_grad=True)
    y = F.conv2d(x, w)
    assert isinstance(y.creator, OneDNNConv2d)
    plan = y.creator.plan
    y.sum().backward()  # makes the backward primitives and the reorders
    primitives = [plan.forward, plan.backward_data, plan.backward_weights,
                  *[r for r in plan._conversions.values() if r is not None]]
    return plan, primitives, batch * 16 * 10 * 10 * 6 * 5 * 5


def test_a_small_op_runs_on_one_thread_and_a_large_one_on_all(onednn):
    lib = onednn.library()
    caller = lib.get_threads()
    small, primitives, work = _conv_plan(1)
    assert work < onednn.ONE_THREAD_BELOW
    assert small.threads == 1 and {p.threads for p in primitives} == {1}
    large, primitives, work = _conv_plan(64)
    assert work >= onednn.ONE_THREAD_BELOW
    assert large.threads == caller and {p.threads for p in primitives} == {caller}
    assert lib.get_threads() == caller  # the caller's setting, after making and running


def test_the_callers_setting_is_restored_after_each_call(onednn):
    onednn.reset()  # the plans are made afresh, under the setting below
    lib = onednn.library()
    before = lib.get_threads()
    with lib.threads(3):
        _conv_plan(1)  # one-thread primitives, made and run under a setting of 3
        assert lib.get_threads() == 3
    assert lib.get_threads() == before


def test_a_one_thread_op_gives_the_same_numbers(onednn, monkeypatch):
    """The work split changes with the threads; the sums of a convolution do not (to
    float32 round-off) and neither does a training step's gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 14, 14)).astype(np.float32)
    w = rng.standard_normal((16, 6, 5, 5)).astype(np.float32)
    results = []
    for below in (1, 1 << 40):  # everything on all threads, then everything on one
        monkeypatch.setattr(onednn, "ONE_THREAD_BELOW", below)
        onednn.reset()
        xt, wt = dg.tensor(x, requires_grad=True), dg.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt)
        y.square().sum().backward()
        assert y.creator.plan.threads == (1 if below > 1 else
                                          onednn.library().get_threads())
        results.append((y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()))
    onednn.reset()
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_the_wheels_runtime_finishes_a_primitive_within_execute(onednn):
    """run() skips the stream's wait on the sequential and OpenMP runtimes, where a CPU
    primitive has finished when execute returns; the wheel's is OpenMP."""
    lib = onednn.library()
    assert lib.version_info.cpu_runtime == onednn.RUNTIME_OPENMP
    assert not lib.waits
