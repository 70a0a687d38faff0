"""Property-based fuzzing of the public API (issue 11).

Every public layer, loss, optimizer, scheduler constructor and the DataLoader is driven
with random *valid* inputs (finite results equal to PyTorch's at float64, rtol 1e-10)
and random *invalid* ones (a ValueError/TypeError naming the layer or function, never
another exception or a silent NaN). The last test prints how many cases ran.

Budget: the whole module runs in well under 60 s on one core (examples per test are
capped below; no deadline, since the machine is shared).
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import deepgrad as dg
from deepgrad import nn, optim
from deepgrad.nn import functional as F
from deepgrad.optim import lr_scheduler as lrs
from helpers_fuzz import (CASES, compare_loss, compare_module, count, expect_clean_error,
                          to_torch_module)
from helpers_optim import Run

FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
FEW = settings(FUZZ, max_examples=15)

F64 = np.float64
small = st.integers(1, 4)


def randn(data, shape, scale=1.0):
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale)


# Bad constructor values for a positive int argument, and for a probability.
BAD_POSITIVE_INTS = [0, -1, -7, 2.0, "3", None, True, (1, 2, 3), float("nan")]
BAD_PROBABILITIES = [-0.1, 1.5, float("nan"), "0.5", None, float("inf")]


# -- Linear ------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_linear_valid(data):
    count("Linear")
    fin, fout = data.draw(small), data.draw(small)
    lead = data.draw(st.lists(st.integers(0, 3), max_size=2), label="leading dims")
    ours = nn.Linear(fin, fout, bias=data.draw(st.booleans()), dtype=F64)
    theirs = to_torch_module(ours, torch.nn.Linear(fin, fout, bias=ours.bias is not None))
    compare_module(ours, theirs, randn(data, tuple(lead) + (fin,)))


@FUZZ
@given(data=st.data())
def test_linear_invalid(data):
    count("Linear")
    layer = nn.Linear(3, 2)
    kind = data.draw(st.sampled_from(["features", "scalar", "int", "f64", "array", "ctor"]))
    if kind == "ctor":
        bad = data.draw(st.sampled_from(BAD_POSITIVE_INTS))
        expect_clean_error("Linear", lambda: nn.Linear(bad, 2))
        expect_clean_error("Linear", lambda: nn.Linear(2, bad))
        return
    x = {"features": np.zeros((2, data.draw(st.sampled_from([1, 2, 4, 5]))), np.float32),
         "scalar": np.float32(1.0), "int": np.zeros((2, 3), np.int64),
         "f64": np.zeros((2, 3)), "array": None}[kind]
    arg = np.zeros((2, 3), np.float32) if kind == "array" else dg.tensor(x)
    expect_clean_error("Linear", lambda: layer(arg))
    if kind in ("int", "f64", "features"):
        expect_clean_error("linear", lambda: F.linear(arg, layer.weight))


# -- Conv2d and LocallyConnected2d ---------------------------------------------------------

def conv_geometry(data, dilation=True):
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    s = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    p = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))) if dilation else (1, 1)
    # the input must hold the dilated kernel after padding
    hw = tuple(max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]) + data.draw(st.integers(0, 3))
               for a in range(2))
    return k, s, p, d, hw


@FUZZ
@given(data=st.data())
def test_conv2d_valid(data):
    count("Conv2d")
    k, s, p, d, hw = conv_geometry(data)
    groups = data.draw(st.sampled_from([1, 2]))
    cin, cout = groups * data.draw(small), groups * data.draw(st.integers(1, 3))
    n = data.draw(st.integers(0, 2))
    bias = data.draw(st.booleans())
    ours = nn.Conv2d(cin, cout, k, s, p, d, groups, bias=bias, dtype=F64)
    theirs = to_torch_module(ours, torch.nn.Conv2d(cin, cout, k, s, p, d, groups, bias=bias))
    compare_module(ours, theirs, randn(data, (n, cin) + hw), backward=n > 0)


@FUZZ
@given(data=st.data())
def test_locally_connected2d_valid(data):
    count("LocallyConnected2d")
    k, s, p, _, hw = conv_geometry(data, dilation=False)
    cin, cout, n = data.draw(small), data.draw(st.integers(1, 3)), data.draw(small)
    bias = data.draw(st.booleans())
    layer = nn.LocallyConnected2d(cin, cout, hw, k, s, p, bias=bias, dtype=F64)
    x = randn(data, (n, cin) + hw)
    xd = dg.tensor(x, requires_grad=True)
    out = layer(xd)
    # reference: unfold to patches (N, C*kh*kw, L), then one filter bank per position l
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(layer.weight.data.numpy().copy()).requires_grad_()
    oh, ow = layer.output_size
    patches = torch.nn.functional.unfold(xt, k, padding=p, stride=s)
    ref = torch.einsum("lok,nkl->nol", wt.reshape(oh * ow, cout, -1), patches)
    ref = ref.reshape(n, cout, oh, ow)
    if bias:
        bt = torch.from_numpy(layer.bias.data.numpy().copy()).requires_grad_()
        ref = ref + bt
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(xd.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@FUZZ
@given(data=st.data())
def test_conv_layers_invalid(data):
    count("Conv2d")
    conv = nn.Conv2d(2, 4, 3)
    local = nn.LocallyConnected2d(2, 4, (5, 5), 3)
    name = data.draw(st.sampled_from(["Conv2d", "LocallyConnected2d"]))
    layer = conv if name == "Conv2d" else local
    kind = data.draw(st.sampled_from(["ndim", "channels", "small", "int", "f64", "array",
                                      "size", "ctor", "padding"]))
    if kind == "ctor":
        bad = data.draw(st.sampled_from(BAD_POSITIVE_INTS))
        arg = data.draw(st.sampled_from(["in", "out", "kernel", "stride"]))
        args = {"in": (bad, 4, 3, 1), "out": (2, bad, 3, 1), "kernel": (2, 4, bad, 1),
                "stride": (2, 4, 3, bad)}[arg]
        if name == "Conv2d":
            expect_clean_error(name, lambda: nn.Conv2d(*args))
        else:
            expect_clean_error(name, lambda: nn.LocallyConnected2d(
                args[0], args[1], (5, 5), args[2], args[3]))
        return
    if kind == "padding":
        bad = data.draw(st.sampled_from([-1, "full", (1, 2, 3), 1.5, None]))
        if name == "Conv2d":
            expect_clean_error(name, lambda: nn.Conv2d(2, 4, 3, padding=bad))
        else:
            expect_clean_error(name, lambda: nn.LocallyConnected2d(2, 4, (5, 5), 3,
                                                                   padding=bad))
        return
    if kind == "size" and name == "Conv2d":
        kind = "small"  # any size that fits the kernel is valid for a convolution
    shape = {"ndim": (2, 5, 5)[:data.draw(st.integers(1, 3))] or (5,),
             "channels": (1, 3, 5, 5), "small": (1, 2, 2, 2), "size": (1, 2, 6, 4)}.get(
        kind, (1, 2, 5, 5))
    dtype = {"int": np.int32, "f64": np.float64}.get(kind, np.float32)
    x = np.zeros(shape, dtype)
    arg = x if kind == "array" else dg.tensor(x)
    expect_clean_error((name, "conv2d", "locally_connected2d"), lambda: layer(arg))


# -- pooling ------------------------------------------------------------------------------

def pool_geometry(data, dilation):
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    p = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))) if dilation else (1, 1)
    hw = tuple(max(1, d[a] * (k[a] - 1) + 1 - 2 * p[a]) + data.draw(st.integers(0, 4))
               for a in range(2))
    return k, s, p, d, hw


@FUZZ
@given(data=st.data())
def test_max_pool2d_valid(data):
    count("MaxPool2d")
    k, s, p, d, hw = pool_geometry(data, dilation=True)
    ceil = data.draw(st.booleans())
    ours = nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
    theirs = torch.nn.MaxPool2d(k, s, p, d, ceil_mode=ceil)
    n, c = data.draw(st.integers(1, 2)), data.draw(small)
    x = randn(data, (n, c) + hw)
    if not torch.isfinite(theirs(torch.from_numpy(x))).all():
        # a window holding padding only: PyTorch gives -inf, deepgrad refuses
        expect_clean_error("MaxPool2d", lambda: ours(dg.tensor(x)))
        return
    compare_module(ours, theirs, x)


@FUZZ
@given(data=st.data())
def test_avg_pool2d_valid(data):
    count("AvgPool2d")
    k, s, p, _, hw = pool_geometry(data, dilation=False)
    ceil, include = data.draw(st.booleans()), data.draw(st.booleans())
    divisor = data.draw(st.sampled_from([None, 1, 3]))
    ours = nn.AvgPool2d(k, s, p, ceil, include, divisor)
    theirs = torch.nn.AvgPool2d(k, s, p, ceil, include, divisor)
    compare_module(ours, theirs, randn(data, (data.draw(small), 2) + hw))


@FUZZ
@given(data=st.data())
def test_adaptive_avg_pool2d_valid(data):
    count("AdaptiveAvgPool2d")
    size = data.draw(st.one_of(st.integers(1, 5), st.tuples(
        st.one_of(st.none(), st.integers(1, 5)), st.one_of(st.none(), st.integers(1, 5)))))
    hw = (data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7)))
    compare_module(nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size),
                   randn(data, (2, 3) + hw))


@FUZZ
@given(data=st.data())
def test_pooling_invalid(data):
    count("pooling")
    name = data.draw(st.sampled_from(["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]))
    make = {"MaxPool2d": nn.MaxPool2d, "AvgPool2d": nn.AvgPool2d,
            "AdaptiveAvgPool2d": nn.AdaptiveAvgPool2d}[name]
    kind = data.draw(st.sampled_from(["ctor", "padding", "ndim", "int", "small", "empty",
                                      "array"]))
    if kind == "ctor":
        # (None is a valid adaptive output size: keep the input's)
        bad = data.draw(st.sampled_from([b for b in BAD_POSITIVE_INTS if b is not None]))
        expect_clean_error(name, lambda: make(bad))
        return
    if kind == "padding":
        if name == "AdaptiveAvgPool2d":
            expect_clean_error(name, lambda: make((2, 2, 2)))
        else:
            expect_clean_error(name, lambda: make(2, padding=data.draw(
                st.sampled_from([2, 3, -1, "same"]))))
        return
    layer = make(3)
    shape = {"ndim": (1, 4, 4), "small": (1, 1, 2, 2), "empty": (1, 1, 0, 4)}.get(
        kind, (1, 1, 4, 4))
    if name == "AdaptiveAvgPool2d" and kind == "small":
        shape = (1, 1, 0, 0)  # any non-empty plane is valid for adaptive pooling
    x = np.zeros(shape, np.int64 if kind == "int" else np.float32)
    arg = x if kind == "array" else dg.tensor(x)
    expect_clean_error(name, lambda: layer(arg))


# -- Flatten, Dropout, Dropout2d ----------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_flatten_valid_and_invalid(data):
    count("Flatten")
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=0, max_size=4)))
    ndim = max(len(shape), 1)
    start = data.draw(st.integers(-ndim - 1, ndim))
    end = data.draw(st.integers(-ndim - 1, ndim))
    x = randn(data, shape)
    try:
        want = torch.flatten(torch.from_numpy(np.asarray(x)), start, end).numpy()
    except (IndexError, RuntimeError):
        expect_clean_error("Flatten", lambda: nn.Flatten(start, end)(dg.tensor(x)))
        return
    got = nn.Flatten(start, end)(dg.tensor(x))
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@FUZZ
@given(data=st.data())
def test_dropout_valid(data):
    count("Dropout")
    two_d = data.draw(st.booleans())
    p = data.draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    shape = (data.draw(small), data.draw(small)) + ((3, 3) if two_d else ())
    x = randn(data, shape) + 5.0  # never 0, so a zero in the output is a dropped unit
    layer = (nn.Dropout2d if two_d else nn.Dropout)(p)
    out = layer(dg.tensor(x)).numpy()
    assert np.isfinite(out).all()
    kept = out != 0
    if p < 1:
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-12)
    else:
        assert not kept.any()
    if two_d:  # whole channels: every pixel of a channel is kept or dropped together
        per_channel = kept.reshape(shape[0], shape[1], -1)
        assert (per_channel.all(axis=2) | ~per_channel.any(axis=2)).all()
    layer.eval()
    np.testing.assert_array_equal(layer(dg.tensor(x)).numpy(), x)


@FUZZ
@given(data=st.data())
def test_dropout_invalid(data):
    count("Dropout")
    name = data.draw(st.sampled_from(["Dropout", "Dropout2d"]))
    make = getattr(nn, name)
    kind = data.draw(st.sampled_from(["p", "int", "array", "ndim"]))
    if kind == "p":
        bad = data.draw(st.sampled_from(BAD_PROBABILITIES))
        expect_clean_error(name, lambda: make(bad))
        return
    if kind == "ndim" and name == "Dropout":
        return  # Dropout takes any shape
    shape = (2, 3) if kind == "ndim" else (2, 3, 4, 4)
    x = np.zeros(shape, np.int64 if kind == "int" else np.float32)
    arg = x if kind == "array" else dg.tensor(x)
    expect_clean_error((name, name.lower()), lambda: make(0.5)(arg))


# -- BatchNorm ---------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_batchnorm_valid(data):
    count("BatchNorm")
    two_d = data.draw(st.booleans())
    c = data.draw(small)
    momentum = data.draw(st.sampled_from([0.1, 0.5, None, 0.0, 1.0]))
    affine, track = data.draw(st.booleans()), data.draw(st.booleans())
    eps = data.draw(st.sampled_from([1e-5, 1e-3, 0.5]))
    kind = nn.BatchNorm2d if two_d else nn.BatchNorm1d
    tkind = torch.nn.BatchNorm2d if two_d else torch.nn.BatchNorm1d
    ours = kind(c, eps, momentum, affine, track, dtype=F64)
    theirs = tkind(c, eps, momentum, affine, track).double()
    if affine:
        ours.weight.data[...] = randn(data, c)
        ours.bias.data[...] = randn(data, c)
    to_torch_module(ours, theirs)
    n = data.draw(st.integers(2, 4))
    extra = (data.draw(small), data.draw(small)) if two_d else \
        data.draw(st.sampled_from([(), (3,)]))
    shape = (n, c) + extra
    scale = data.draw(st.sampled_from([1e-3, 1.0, 1e3]))
    for step in range(2):  # two steps move the running statistics twice
        compare_module(ours, theirs, randn(data, shape, scale) + 2.0, rtol=1e-9, atol=1e-9)
        if track:
            np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(),
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(),
                                       rtol=1e-10, atol=1e-12)
    ours.eval(), theirs.eval()
    # without running statistics evaluation uses the batch's: it needs 2 values
    compare_module(ours, theirs, randn(data, (1 if track else 2, c) + extra), rtol=1e-9,
                   atol=1e-9)


@FUZZ
@given(data=st.data())
def test_batchnorm_invalid(data):
    count("BatchNorm")
    name = data.draw(st.sampled_from(["BatchNorm1d", "BatchNorm2d"]))
    make = getattr(nn, name)
    kind = data.draw(st.sampled_from(["features", "eps", "momentum", "ndim", "channels",
                                      "int", "one", "empty", "array"]))
    if kind in ("features", "eps", "momentum"):
        bad = data.draw(st.sampled_from({"features": BAD_POSITIVE_INTS,
                                         "eps": [-1e-5, "a", None, True],
                                         "momentum": [-0.1, 1.5, "0.1", True]}[kind]))
        args = {"features": (bad,), "eps": (3, bad), "momentum": (3, 1e-5, bad)}[kind]
        expect_clean_error(name, lambda: make(*args))
        return
    good = (4, 3, 2, 2) if name == "BatchNorm2d" else (4, 3)
    shape = {"ndim": (4, 3, 2, 2, 2), "channels": good[:1] + (5,) + good[2:],
             "one": (1,) + good[1:] if name == "BatchNorm1d" else (1, 3, 1, 1),
             "empty": (0,) + good[1:]}.get(kind, good)
    x = np.zeros(shape, np.int64 if kind == "int" else np.float32)
    arg = x if kind == "array" else dg.tensor(x)
    expect_clean_error((name, "batch_norm"), lambda: make(3)(arg))


# -- activations and Sequential -----------------------------------------------------------

ACTIVATIONS = {
    "ReLU": (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "Sigmoid": (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    "Tanh": (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    "Softmax": (lambda: nn.Softmax(-1), lambda: torch.nn.Softmax(-1)),
    "LogSoftmax": (lambda: nn.LogSoftmax(1), lambda: torch.nn.LogSoftmax(1)),
}


@FUZZ
@given(data=st.data())
def test_activations_valid(data):
    count("activations")
    name = data.draw(st.sampled_from(sorted(ACTIVATIONS)))
    ours, theirs = (make() for make in ACTIVATIONS[name])
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4)))
    # large logits check the stable forms (no overflow in exp, no NaN)
    scale = data.draw(st.sampled_from([1.0, 30.0, 800.0]))
    compare_module(ours, theirs, randn(data, shape, scale), rtol=1e-10, atol=1e-12)


@FUZZ
@given(data=st.data())
def test_activations_invalid(data):
    count("activations")
    name = data.draw(st.sampled_from(sorted(ACTIVATIONS)))
    kind = data.draw(st.sampled_from(["int", "array", "dim", "ctor"]))
    if kind == "ctor":
        if name in ("Softmax", "LogSoftmax"):
            bad = data.draw(st.sampled_from(["1", 1.0, None, True]))
            expect_clean_error(name, lambda: getattr(nn, name)(bad))
        elif name == "LeakyReLU":
            bad = data.draw(st.sampled_from(["0.1", None, float("nan"), True]))
            expect_clean_error(name, lambda: nn.LeakyReLU(bad))
        return
    if kind == "dim":
        if name in ("Softmax", "LogSoftmax"):
            dim = data.draw(st.sampled_from([2, 3, -3, -10]))
            expect_clean_error(name.lower().replace("logsoftmax", "log_softmax"),
                               lambda: getattr(nn, name)(dim)(dg.tensor(np.zeros((2, 3)))))
        return
    layer = ACTIVATIONS[name][0]()
    x = np.zeros((2, 3), np.int64 if kind == "int" else np.float32)
    arg = x if kind == "array" else dg.tensor(x)
    expect_clean_error((name, name.lower(), "leaky_relu", "log_softmax"), lambda: layer(arg))


@FEW
@given(data=st.data())
def test_sequential_mlp_valid(data):
    count("Sequential")
    widths = data.draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    acts = [data.draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid", "LeakyReLU"]))
            for _ in widths[1:]]
    ours_layers, their_layers = [], []
    for (a, b), act in zip(zip(widths, widths[1:]), acts):
        ours_layers += [nn.Linear(a, b, dtype=F64), ACTIVATIONS[act][0]()]
        their_layers += [torch.nn.Linear(a, b), ACTIVATIONS[act][1]()]
    ours = nn.Sequential(*ours_layers)
    theirs = to_torch_module(ours, torch.nn.Sequential(*their_layers))
    compare_module(ours, theirs, randn(data, (data.draw(small), widths[0])))
    bad = data.draw(st.sampled_from(["relu", 3, None, torch.nn.ReLU()]))
    expect_clean_error("Sequential", lambda: nn.Sequential(nn.ReLU(), bad))


# -- losses -------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_class_losses_valid(data):
    count("losses")
    name = data.draw(st.sampled_from(["cross_entropy", "nll_loss"]))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    classes = data.draw(small)
    layout = data.draw(st.sampled_from(["C", "NC", "NCd"]))
    n = data.draw(st.integers(1 if reduction == "mean" else 0, 4))
    shape = {"C": (classes,), "NC": (n, classes), "NCd": (n, classes, 3)}[layout]
    target_shape = {"C": (), "NC": (n,), "NCd": (n, 3)}[layout]
    scale = data.draw(st.sampled_from([1.0, 50.0, 500.0]))
    x = randn(data, shape, scale)
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    t = rng.integers(0, classes, target_shape)
    module = {"cross_entropy": nn.CrossEntropyLoss, "nll_loss": nn.NLLLoss}[name]
    xd, xt = dg.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    got = module(reduction=reduction)(xd, dg.tensor(t))
    want = getattr(torch.nn.functional, name)(xt, torch.from_numpy(t), reduction=reduction)
    compare_loss(got, want, xd, xt, seed=2)


@FUZZ
@given(data=st.data())
def test_elementwise_losses_valid(data):
    count("losses")
    name = data.draw(st.sampled_from(["mse_loss", "binary_cross_entropy_with_logits"]))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    scale = data.draw(st.sampled_from([1.0, 100.0]))
    x, y = randn(data, shape, scale), randn(data, shape)
    if name != "mse_loss":
        y = np.asarray(1 / (1 + np.exp(-y)))  # probabilities
    module = {"mse_loss": nn.MSELoss, "binary_cross_entropy_with_logits":
              nn.BCEWithLogitsLoss}[name]
    xd, xt = dg.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    got = module(reduction=reduction)(xd, dg.tensor(y))
    want = getattr(torch.nn.functional, name)(xt, torch.from_numpy(y), reduction=reduction)
    compare_loss(got, want, xd, xt, seed=3)


@FUZZ
@given(data=st.data())
def test_losses_invalid(data):
    count("losses")
    name = data.draw(st.sampled_from(["cross_entropy", "nll_loss", "mse_loss",
                                      "binary_cross_entropy_with_logits"]))
    fn = getattr(F, name)
    classes = name in ("cross_entropy", "nll_loss")
    x = dg.tensor(np.zeros((4, 3), np.float32))
    good_t = np.zeros(4, np.int64) if classes else np.zeros((4, 3), np.float32)
    kind = data.draw(st.sampled_from(["reduction", "int input", "array input", "empty",
                                      "target shape", "target dtype", "range", "scalar"]))
    module = {"cross_entropy": nn.CrossEntropyLoss, "nll_loss": nn.NLLLoss,
              "mse_loss": nn.MSELoss,
              "binary_cross_entropy_with_logits": nn.BCEWithLogitsLoss}[name]
    if kind == "reduction":
        bad = data.draw(st.sampled_from(["avg", None, "MEAN", 1]))
        expect_clean_error(module.__name__, lambda: module(reduction=bad))
        expect_clean_error(name, lambda: fn(x, good_t, reduction=bad))
        return
    if kind == "range" and not classes:
        return
    if kind == "scalar" and not classes:
        return
    inp, target = x, good_t
    if kind == "int input":
        inp = dg.tensor(np.zeros((4, 3), np.int64))
    elif kind == "array input":
        inp = np.zeros((4, 3), np.float32)
    elif kind == "empty":
        inp = dg.tensor(np.zeros((0, 3), np.float32))
        target = good_t[:0]
    elif kind == "target shape":
        target = np.zeros((5,) if classes else (4, 2), good_t.dtype)
    elif kind == "target dtype":
        target = np.zeros(good_t.shape, data.draw(st.sampled_from(
            [np.float32, np.float64, bool] if classes else [np.int64, np.float64, bool])))
    elif kind == "range":
        target = np.array([0, 1, data.draw(st.sampled_from([3, 4, -1, 100])), 2])
    elif kind == "scalar":
        inp, target = dg.tensor(np.float32(1.0)), np.int64(0)
    expect_clean_error(name, lambda: fn(inp, target))
    expect_clean_error(name, lambda: module()(inp, target))


# -- optimizers and schedulers ------------------------------------------------------------

def optimizer_options(data, name):
    """Random valid options for ``name``, all of which PyTorch accepts too."""
    lr = data.draw(st.sampled_from([1e-3, 0.01, 0.1]))
    wd = data.draw(st.sampled_from([0.0, 0.01]))
    maximize = data.draw(st.booleans())
    if name == "SGD":
        momentum = data.draw(st.sampled_from([0.0, 0.5, 0.9]))
        nesterov = momentum > 0 and data.draw(st.booleans())
        return dict(lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov,
                    dampening=0.0 if nesterov else data.draw(st.sampled_from([0.0, 0.1])),
                    maximize=maximize)
    if name == "Rprop":
        return dict(lr=lr, etas=(data.draw(st.sampled_from([0.3, 0.5])), 1.2),
                    step_sizes=(1e-6, 50), maximize=maximize)
    if name == "Adagrad":
        return dict(lr=lr, lr_decay=data.draw(st.sampled_from([0.0, 0.01])),
                    weight_decay=wd, maximize=maximize,
                    initial_accumulator_value=data.draw(st.sampled_from([0.0, 0.1])))
    if name == "RMSprop":
        return dict(lr=lr, alpha=data.draw(st.sampled_from([0.9, 0.99])), weight_decay=wd,
                    momentum=data.draw(st.sampled_from([0.0, 0.9])),
                    centered=data.draw(st.booleans()), maximize=maximize)
    if name == "Adadelta":
        return dict(lr=lr * 10, rho=data.draw(st.sampled_from([0.5, 0.9])),
                    weight_decay=wd, maximize=maximize)
    return dict(lr=lr, betas=(data.draw(st.sampled_from([0.0, 0.9])),
                              data.draw(st.sampled_from([0.9, 0.999]))),
                weight_decay=wd, amsgrad=data.draw(st.booleans()), maximize=maximize)


OPTIMIZERS = ["SGD", "Rprop", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]


@FUZZ
@given(data=st.data())
def test_optimizers_valid(data):
    count("optimizers")
    name = data.draw(st.sampled_from(OPTIMIZERS))
    options = optimizer_options(data, name)
    ours, theirs = Run("dg", name, options), Run("torch", name, options)
    for t in range(5):
        ours.step(t), theirs.step(t)
    for a, b in zip(ours.arrays(), theirs.arrays()):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


BAD_OPTIONS = {
    "lr": [-1.0, float("nan"), float("inf"), "0.1", None],
    "weight_decay": [-0.1, float("nan"), "x"],
}
EXTRA_BAD = {
    "SGD": {"momentum": [-0.5, float("inf")], "nesterov": ["yes"]},
    "Rprop": {"etas": [(1.5, 1.2), (0.5, 0.9), (0.5,), "ab"],
              "step_sizes": [(1.0, 0.5), (-1, 50)]},
    "Adagrad": {"lr_decay": [-1.0], "initial_accumulator_value": [-1.0], "eps": [-1e-10]},
    "RMSprop": {"alpha": [-0.1], "momentum": [-0.1], "eps": [-1.0], "centered": [1]},
    "Adadelta": {"rho": [1.5, -0.1], "eps": [-1.0]},
    "Adam": {"betas": [(1.0, 0.9), (0.9, -0.1), (0.9,), None], "eps": [-1.0],
             "amsgrad": ["no"]},
    "AdamW": {"betas": [(float("nan"), 0.9)], "eps": [float("nan")]},
}


@FUZZ
@given(data=st.data())
def test_optimizers_invalid(data):
    count("optimizers")
    name = data.draw(st.sampled_from(OPTIMIZERS))
    make = getattr(optim, name)
    params = list(nn.Linear(2, 2).parameters())
    kind = data.draw(st.sampled_from(["option", "params"]))
    if kind == "params":
        bad = data.draw(st.sampled_from([None, 3, [], [1.0], [np.zeros(2)], params[0],
                                         [{"lr": 0.1}], [{"params": params, "bogus": 1}]]))
        expect_clean_error(name, lambda: make(bad))
        return
    table = dict(BAD_OPTIONS, **{k: v for k, v in EXTRA_BAD.get(name, {}).items()})
    option = data.draw(st.sampled_from(sorted(table)))
    bad = data.draw(st.sampled_from(table[option]))
    if name == "Rprop" and option == "weight_decay":
        return  # Rprop has no weight decay: covered by "unknown option" below
    expect_clean_error(name, lambda: make(params, **{option: bad}))
    # the same check applies to a group added later
    good = make(params[:1])
    expect_clean_error(name, lambda: good.add_param_group({"params": params[1:],
                                                          option: bad}))


SCHEDULERS = {
    "StepLR": (dict(step_size=st.integers(1, 3), gamma=st.sampled_from([0.1, 0.5])),
               dict(step_size=[0, -1, 1.5, "2"], gamma=[0, -0.5, "x"])),
    "MultiStepLR": (dict(milestones=st.lists(st.integers(1, 6), max_size=3),
                         gamma=st.sampled_from([0.1, 0.5])),
                    dict(milestones=[[-1], ["a"], [1.5]], gamma=[-1.0])),
    "ExponentialLR": (dict(gamma=st.sampled_from([0.5, 0.9, 1.0])),
                      dict(gamma=[0.0, -1.0, "x", None])),
    "CosineAnnealingLR": (dict(T_max=st.integers(1, 6), eta_min=st.sampled_from([0.0, 1e-4])),
                          dict(T_max=[0, -2, 2.5], eta_min=[-1.0, "x"])),
    "LinearLR": (dict(start_factor=st.sampled_from([0.1, 1 / 3, 1.0]),
                      end_factor=st.sampled_from([0.5, 1.0]), total_iters=st.integers(1, 5)),
                 dict(start_factor=[0.0, 1.5, "x"], end_factor=[-0.1, 2.0],
                      total_iters=[0, -1, 2.5])),
}


@FUZZ
@given(data=st.data())
def test_schedulers_valid_and_invalid(data):
    count("schedulers")
    name = data.draw(st.sampled_from(sorted(SCHEDULERS)))
    valid, invalid = SCHEDULERS[name]
    kwargs = {k: data.draw(v) for k, v in valid.items()}
    ours_opt = optim.SGD([dg.tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    their_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    ours = getattr(lrs, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(their_opt, **kwargs)
    for _ in range(8):
        assert ours_opt.param_groups[0]["lr"] == pytest.approx(
            their_opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        ours_opt.step(), their_opt.step()
        ours.step(), theirs.step()
    option = data.draw(st.sampled_from(sorted(invalid)))
    bad = dict(kwargs, **{option: data.draw(st.sampled_from(invalid[option]))})
    expect_clean_error(name, lambda: getattr(lrs, name)(ours_opt, **bad))
    expect_clean_error(name, lambda: getattr(lrs, name)(None, **kwargs))


@FEW
@given(data=st.data())
def test_reduce_lr_on_plateau_constructor(data):
    count("schedulers")
    opt = optim.SGD([dg.tensor(np.zeros(2), requires_grad=True)], lr=0.1)
    option, values = data.draw(st.sampled_from([
        ("mode", ["up", None]), ("factor", [1.0, -0.1, "x"]), ("patience", [-1, 1.5]),
        ("threshold_mode", ["relative"]), ("cooldown", [-1]), ("min_lr", [-1.0, [0, 0]]),
        ("eps", [-1.0])]))
    bad = data.draw(st.sampled_from(values))
    expect_clean_error("ReduceLROnPlateau", lambda: lrs.ReduceLROnPlateau(opt, **{option: bad}))
    sched = lrs.ReduceLROnPlateau(opt)
    expect_clean_error("ReduceLROnPlateau", lambda: sched.step("loss"))


# -- DataLoader ---------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_dataloader_valid(data):
    count("DataLoader")
    n = data.draw(st.integers(1, 30))
    b = data.draw(st.integers(1, 12))
    mode = data.draw(st.sampled_from(["order", "shuffle", "replacement"]))
    drop_last = data.draw(st.booleans()) and b <= n
    x = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    y = np.arange(n)
    loader = dg.data.DataLoader(dg.data.TensorDataset(x, y), batch_size=b,
                                shuffle=mode == "shuffle", replacement=mode == "replacement",
                                drop_last=drop_last, seed=data.draw(st.integers(0, 99)))
    batches = list(loader)
    assert len(batches) == len(loader) == (n // b if drop_last else math.ceil(n / b))
    seen = np.concatenate([yb.numpy() for _, yb in batches])
    for xb, yb in batches:
        assert xb.shape == (len(yb), 3) and xb.dtype == np.float32
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())
    assert ((seen >= 0) & (seen < n)).all()
    if mode != "replacement":
        assert len(set(seen.tolist())) == len(seen)  # no sample twice in an epoch
        if not drop_last:
            assert sorted(seen.tolist()) == list(range(n))
    if mode == "order":
        np.testing.assert_array_equal(seen, np.arange(len(seen)))


@FUZZ
@given(data=st.data())
def test_dataloader_and_datasets_invalid(data):
    count("DataLoader")
    dataset = dg.data.TensorDataset(np.zeros((5, 2), np.float32), np.arange(5))
    kind = data.draw(st.sampled_from(["batch_size", "flags", "seed", "dataset", "empty",
                                      "drop_last", "both", "shard", "tensordataset",
                                      "subset", "split"]))
    L = dg.data.DataLoader
    if kind == "batch_size":  # None is PyTorch's "no batching": valid
        bad = data.draw(st.sampled_from([v for v in BAD_POSITIVE_INTS if v is not None]))
        expect_clean_error("DataLoader", lambda: L(dataset, batch_size=bad))
    elif kind == "flags":
        flag = data.draw(st.sampled_from(["shuffle", "replacement", "drop_last"]))
        # shuffle=None is PyTorch's default (no shuffling): valid
        bad = data.draw(st.sampled_from(["yes", 1] + ([] if flag == "shuffle" else [None])))
        expect_clean_error("DataLoader", lambda: L(dataset, **{flag: bad}))
    elif kind == "seed":
        bad = data.draw(st.sampled_from(["1", 1.5, -1, True]))
        expect_clean_error("DataLoader", lambda: L(dataset, seed=bad))
    elif kind == "dataset":
        bad = data.draw(st.sampled_from([None, 3, object()]))
        expect_clean_error("DataLoader", lambda: L(bad))
    elif kind == "empty":
        empty = dg.data.TensorDataset(np.zeros((0, 2)))
        expect_clean_error("DataLoader", lambda: L(empty))
    elif kind == "drop_last":
        expect_clean_error("DataLoader", lambda: L(dataset, batch_size=6, drop_last=True))
    elif kind == "both":
        expect_clean_error("DataLoader", lambda: L(dataset, shuffle=True, replacement=True))
    elif kind == "shard":
        rank, shards = data.draw(st.sampled_from([(0, 0), (2, 2), (-1, 2), ("0", 2)]))
        expect_clean_error("DataLoader.shard", lambda: L(dataset).shard(rank, shards))
    elif kind == "tensordataset":
        args = data.draw(st.sampled_from([(), (np.float32(1.0),),
                                          (np.zeros(3), np.zeros(4))]))
        expect_clean_error("TensorDataset", lambda: dg.data.TensorDataset(*args))
    elif kind == "subset":
        bad = data.draw(st.sampled_from([[5], [-6], [0.5], [[0, 1]]]))
        expect_clean_error("Subset", lambda: dg.data.Subset(dataset, bad))
    else:
        bad = data.draw(st.sampled_from([[4, -1], [2, 2], "ab", [0.5, 0.6], [], None]))
        expect_clean_error("random_split", lambda: dg.data.random_split(dataset, bad))


# -- the report ---------------------------------------------------------------------------

def test_zz_report_case_count(request):
    """Print how many fuzz cases ran (pytest -s shows it; the terminal summary always
    does through the warning-free capsys bypass below). When the whole module ran, every
    family must have run a fair number of cases."""
    total = sum(CASES.values())
    lines = [f"fuzz cases run: {total}"] + [f"  {k}: {v}" for k, v in sorted(CASES.items())]
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print("\n" + "\n".join(lines))
    ran_all = all(item.module is request.module for item in request.session.items)
    if ran_all and len(request.session.items) > 1:
        assert all(v >= 15 for v in CASES.values()), dict(CASES)
        assert len(CASES) >= 14, sorted(CASES)
