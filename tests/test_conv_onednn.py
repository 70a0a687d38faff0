"""The oneDNN convolution (ops/_conv_onednn.py, ops/_onednn.py) against the textbook
conv2d (float64) over a grid of options, forward and all three gradients; against the
fast NumPy path; its primitive cache, its switch and its fallback.

Needs the optional wheel ``onednn-cpu-gomp`` (the ``onednn`` extra): without it the
tests that run oneDNN skip, and the fallback tests still run.
"""
import os

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad.ops import _conv_onednn, _onednn, conv
from deepgrad.ops._conv_fast import FastConv2d
from deepgrad.ops._conv_onednn import OneDNNConv2d, op_for
from deepgrad.ops.conv import _conv2d_geometry, _conv2d_reference

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test that changes the loader's state leaves it as it found it."""
    yield
    if _onednn._state["library"] is False or _onednn._state["reason"] is not None:
        _onednn.reset()


def _needs_onednn():
    if _onednn.library() is None:
        pytest.skip(f"oneDNN is not available: {_onednn.unavailable_reason()}")


needs_onednn = pytest.mark.usefixtures("_onednn_loaded")


@pytest.fixture
def _onednn_loaded():
    _needs_onednn()


# -- the option grid ----------------------------------------------------------------------

def _grid(count, seed):
    """Configurations drawn from the options: kernel 1, 3, 5 (and 2, 4 with 'same',
    whose padding is then asymmetric), stride 1, 2, padding 0, 1, 2, dilation 1, 2,
    groups 1, 2 or depthwise, channels 1, 3, 6, 16, batch 1, 4, the input NCHW or
    channels-last, with or without bias (every value appears: the next test)."""
    rng = np.random.default_rng(seed)
    pick = lambda values: values[int(rng.integers(len(values)))]
    configs = []
    while len(configs) < count:
        kind = pick(["1", "1", "2", "depthwise"])
        c = pick([1, 3, 6, 16] if kind == "1" else [6, 16])
        groups = {"1": 1, "2": 2, "depthwise": c}[kind]
        o = c * pick([1, 2]) if kind == "depthwise" else pick(
            [o for o in (1, 3, 6, 16) if o % groups == 0])
        if rng.random() < 0.2:
            k, padding, stride = pick([2, 4]), "same", 1
        else:
            k, padding, stride = pick([1, 3, 5]), pick([0, 1, 2]), pick([1, 2])
        dilation = pick([1, 2])
        h, w = (int(v) for v in rng.integers(5, 13, size=2))
        pad = 0 if padding == "same" else padding
        if min(h, w) + 2 * pad < dilation * (k - 1) + 1:
            continue
        configs.append(dict(x=(pick([1, 4]), c, h, w), w=(o, c // groups, k, k),
                            stride=stride, padding=padding, dilation=dilation,
                            groups=groups, bias=bool(rng.integers(2)),
                            channels_last=bool(rng.integers(2))))
    return configs


GRID = _grid(96, seed=18)


def test_the_grid_covers_every_option():
    seen = {key: {str(cfg[key]) for cfg in GRID} for key in GRID[0]}
    assert {cfg["w"][2] for cfg in GRID} == {1, 2, 3, 4, 5}
    assert seen["stride"] == {"1", "2"} and seen["dilation"] == {"1", "2"}
    assert seen["padding"] == {"0", "1", "2", "same"}
    assert seen["bias"] == seen["channels_last"] == {"True", "False"}
    assert {cfg["x"][0] for cfg in GRID} == {1, 4}
    assert {cfg["x"][1] for cfg in GRID} == {1, 3, 6, 16}
    assert {1, 2} <= {cfg["groups"] for cfg in GRID}
    assert any(cfg["groups"] == cfg["x"][1] > 2 for cfg in GRID)  # depthwise


def _arrays(cfg, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(cfg["x"]).astype(np.float32)
    if cfg["channels_last"]:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal(cfg["w"]).astype(np.float32)
    b = rng.standard_normal(cfg["w"][0]).astype(np.float32) if cfg["bias"] else None
    return x, w, b


def _options(cfg):
    return {key: cfg[key] for key in ("stride", "padding", "dilation", "groups")}


def _step(conv, x, w, b, gy=None, **options):
    """Output and the gradients of x, w (and b) for the output gradient ``gy``."""
    xt, wt = dg.Tensor(x, requires_grad=True), dg.Tensor(w, requires_grad=True)
    bt = None if b is None else dg.Tensor(b, requires_grad=True)
    y = conv(xt, wt, bt, **options)
    if gy is None:
        gy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    y.backward(gy)
    grads = [xt.grad.numpy(), wt.grad.numpy()] + ([] if bt is None else [bt.grad.numpy()])
    return y, [y.data.numpy()] + grads, gy


def _onednn_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d through OneDNNConv2d itself (failing if oneDNN would not take it)."""
    geometry = _conv2d_geometry(x, w, b, stride, padding, dilation, groups)
    op = op_for(x._data, w._data, None if b is None else b._data, *geometry, groups)
    assert isinstance(op, OneDNNConv2d), "oneDNN did not take this geometry"
    return op(x, w) if b is None else op(x, w, b)


def _assert_close(got, want, what):
    for name, g, r in zip(("output", "input grad", "weight grad", "bias grad"), got, want):
        assert g.dtype == np.float32 and g.shape == r.shape, (what, name)
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5 * max(1, np.abs(r).max()),
                                   err_msg=f"{name} of {what}")


@needs_onednn
@pytest.mark.parametrize("cfg", GRID, ids=lambda c: f"x{c['x']}w{c['w']}g{c['groups']}"
                         f"s{c['stride']}p{c['padding']}d{c['dilation']}"
                         f"{'b' if c['bias'] else ''}{'cl' if c['channels_last'] else ''}")
def test_onednn_matches_the_textbook_convolution(cfg):
    x, w, b = _arrays(cfg)
    y, got, gy = _step(_onednn_conv, x, w, b, **_options(cfg))
    kernels = y.creator.plan.implementations()
    assert not any(k.startswith("ref") for k in kernels.values()), kernels
    f64 = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
    _, want, _ = _step(_conv2d_reference, *f64, gy=gy.astype(np.float64), **_options(cfg))
    _assert_close(got, want, cfg)
    if cfg["channels_last"] and cfg["x"][1] > 1:  # the next conv finds it channels-last
        assert got[0].transpose(0, 2, 3, 1).flags.c_contiguous


@needs_onednn
@pytest.mark.parametrize("channels_last", [False, True])
def test_layouts_of_the_output_and_the_input_gradient(channels_last):
    """Channels-last in, channels-last out, and the input gradient in the input's
    layout; an NCHW input (a first layer) gives a channels-last output too (where the
    convolution is not small: see the next test)."""
    x, w, b = _arrays(dict(x=(8, 16, 14, 14), w=(8, 16, 3, 3), bias=True,
                           channels_last=channels_last))
    op = op_for(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    y = op.forward(x, w, b)
    op.needs_input_grad = (True, True, True)
    gx = op.backward(np.ones(y.shape, np.float32))[0]
    assert y.transpose(0, 2, 3, 1).flags.c_contiguous
    assert (gx.transpose(0, 2, 3, 1) if channels_last else gx).flags.c_contiguous


@needs_onednn
@pytest.mark.parametrize("channels_last", [False, True])
def test_a_small_convolution_keeps_the_users_layouts(channels_last):
    """Below ONE_THREAD_BELOW multiply-adds (LeNet's at batch 1) the primitives take
    and give the user's activation layouts: no activation is reordered, forward or
    backward (the weights may be: they are always given in oneDNN's choice)."""
    x, w, b = _arrays(dict(x=(1, 6, 14, 14), w=(16, 6, 5, 5), bias=True,
                           channels_last=channels_last))
    op = op_for(x, w, b, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert 1 * 16 * 10 * 10 * 6 * 5 * 5 < _onednn.ONE_THREAD_BELOW
    y = op.forward(x, w, b)
    op.needs_input_grad = (True, True, True)
    gx = op.backward(np.ones_like(y))[0]  # the gradient in the output's layout
    layout = "nhwc" if channels_last else "nchw"
    assert op.plan.y_layout == layout
    for a in (y, gx):
        assert (a.transpose(0, 2, 3, 1) if channels_last else a).flags.c_contiguous
    names = {(key if isinstance(key, str) else key[0]): reorder
             for key, reorder in op.plan._conversions.items()}
    activations = [n for n in names if not n.endswith((" w", " gw"))]
    assert {"data gy", "data gx"} <= set(activations)  # the backward's, looked up
    assert all(names[n] is None for n in activations)
    if op.plan._plain_forward is None:  # the weight is reordered: the general forward
        assert {"forward x", "forward y"} <= set(activations)


def _fast_conv(x, w, b, stride, padding, dilation, groups):
    op = FastConv2d(*_conv2d_geometry(x, w, b, stride, padding, dilation, groups), groups)
    return op(x, w) if b is None else op(x, w, b)


@needs_onednn
@pytest.mark.parametrize("cfg", GRID[::8], ids=lambda c: f"x{c['x']}w{c['w']}")
def test_onednn_equals_the_fast_numpy_path(cfg):
    x, w, b = _arrays(cfg, seed=3)
    y, got, gy = _step(F.conv2d, x, w, b, **_options(cfg))
    assert isinstance(y.creator, OneDNNConv2d)  # the dispatch takes oneDNN for float32
    _, want, _ = _step(_fast_conv, x, w, b, gy=gy, **_options(cfg))
    _assert_close(got, want, cfg)


@needs_onednn
@pytest.mark.parametrize("grad_layout", ["nchw", "nhwc", "broadcast", "strided"])
def test_every_layout_of_the_output_gradient(grad_layout):
    """The gradient reaching the conv may be NCHW (after a flatten), channels-last (after
    ReLU of a channels-last output), broadcast (after a sum) or strided."""
    cfg = dict(x=(2, 6, 9, 8), w=(8, 6, 3, 3), stride=1, padding=1, dilation=1, groups=1,
               bias=True, channels_last=True)
    x, w, b = _arrays(cfg)
    gy = np.random.default_rng(2).standard_normal((2, 8, 9, 8)).astype(np.float32)
    if grad_layout == "nhwc":
        gy = np.ascontiguousarray(gy.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif grad_layout == "broadcast":
        gy = np.broadcast_to(gy[:1, :1], gy.shape)
    elif grad_layout == "strided":
        gy = np.repeat(gy, 2, axis=3)[..., ::2]
    _, got, _ = _step(_onednn_conv, x, w, b, gy=gy, **_options(cfg))
    f64 = [a.astype(np.float64) for a in (x, w, b)]
    _, want, _ = _step(_conv2d_reference, *f64, gy=gy.astype(np.float64), **_options(cfg))
    _assert_close(got, want, grad_layout)


@needs_onednn
def test_only_the_gradients_asked_for():
    """The first layer's input needs no gradient; a frozen weight needs none either."""
    x, w, b = _arrays(dict(x=(3, 3, 10, 10), w=(4, 3, 3, 3), bias=True,
                           channels_last=False))
    for needs in ((False, True, True), (True, False, False), (False, False, True)):
        xt, wt, bt = (dg.Tensor(a, requires_grad=r) for a, r in zip((x, w, b), needs))
        y = F.conv2d(xt, wt, bt, padding=1)
        assert isinstance(y.creator, OneDNNConv2d)
        y.sum().backward()
        ref = [dg.Tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b)]
        _conv2d_reference(*ref, padding=1).sum().backward()
        for t, r, needed in zip((xt, wt, bt), ref, needs):
            if needed:
                np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-4,
                                           atol=1e-4)
            else:
                assert t.grad is None


@needs_onednn
def test_a_strided_input_and_a_training_step_of_a_small_net():
    """A non-contiguous input is copied; conv -> relu -> pool -> conv chains keep the
    channels-last layout oneDNN gives."""
    dg.manual_seed(0)
    net = dg.nn.Sequential(dg.nn.Conv2d(3, 8, 3, padding=1), dg.nn.ReLU(),
                           dg.nn.MaxPool2d(2), dg.nn.Conv2d(8, 4, 3), dg.nn.Flatten(),
                           dg.nn.Linear(4 * 2 * 2, 3))
    x = np.random.default_rng(0).standard_normal((5, 3, 8, 16)).astype(np.float32)
    xt = dg.Tensor(x[:, :, :, ::2])  # strided
    loss = net(xt).sum()
    loss.backward()
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    for p in net.parameters():
        p.grad = None
    with pytest.MonkeyPatch.context() as m:  # the same step on the NumPy path
        m.setattr(conv, "onednn_op_for", lambda *a: None)
        ref_loss = net(xt).sum()
        ref_loss.backward()
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-4, atol=1e-5)


# -- dispatch, cache, switch, fallback -----------------------------------------------------

@needs_onednn
def test_dispatch_takes_onednn_for_float32_only():
    x32 = dg.randn(2, 3, 7, 7, requires_grad=True)
    w32 = dg.randn(4, 3, 3, 3, requires_grad=True)
    assert isinstance(F.conv2d(x32, w32).creator, OneDNNConv2d)
    x64 = dg.randn(2, 3, 7, 7, dtype=np.float64, requires_grad=True)
    w64 = dg.randn(4, 3, 3, 3, dtype=np.float64, requires_grad=True)
    assert isinstance(F.conv2d(x64, w64).creator, FastConv2d)
    x16 = dg.Tensor(np.zeros((1, 2, 4, 4), np.float16), requires_grad=True)
    w16 = dg.Tensor(np.zeros((1, 2, 3, 3), np.float16), requires_grad=True)
    assert isinstance(F.conv2d(x16, w16).creator, FastConv2d)


@needs_onednn
def test_primitives_are_made_once_per_geometry():
    x = np.random.default_rng(0).standard_normal((2, 5, 9, 9)).astype(np.float32)
    w = np.ones((3, 5, 3, 3), np.float32)
    geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    first = op_for(x, w, None, *geometry)
    second = op_for(x * 2, w * 3, None, *geometry)
    assert first.plan is second.plan  # the same primitives, from the cache
    assert op_for(x[:1], w, None, *geometry).plan is not first.plan  # another batch
    assert op_for(x, w, w[:, 0, 0, 0].copy(), *geometry).plan is not first.plan
    other = ((2, 2), ((1, 1), (1, 1)), (1, 1), 1)
    assert op_for(x, w, None, *other).plan is not first.plan
    assert set(first.plan.implementations()) == {"forward", "backward_data",
                                                 "backward_weights"}
    assert not any(impl.startswith("ref") for impl in first.plan.implementations().values())


@needs_onednn
def test_the_cache_keeps_the_most_recent_geometries(monkeypatch):
    monkeypatch.setattr(_onednn, "PLAN_CACHE_SIZE", 2)
    w = np.ones((2, 1, 3, 3), np.float32)
    plans = [op_for(np.ones((1, 1, s, s), np.float32), w, None, (1, 1), ((0, 0), (0, 0)),
                    (1, 1), 1).plan for s in (5, 6, 7)]
    assert len(_onednn._plans) == 2 and plans[0] not in _onednn._plans.values()


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("DEEPGRAD_ONEDNN", "0")
    _onednn.reset()
    assert _onednn.library() is None and not _conv_onednn.available()
    assert "DEEPGRAD_ONEDNN=0" in _onednn.unavailable_reason()
    x, w = dg.randn(2, 3, 6, 6, requires_grad=True), dg.randn(4, 3, 3, 3)
    y = F.conv2d(x, w, padding=1)
    assert isinstance(y.creator, FastConv2d)
    y.sum().backward()


@pytest.mark.parametrize("missing", ["path", "wheel"])
def test_a_missing_library_falls_back_cleanly(monkeypatch, missing):
    if missing == "path":
        monkeypatch.setattr(_onednn, "LIBRARY_PATH", "/nonexistent/libdnnl.so.3")
    else:
        monkeypatch.setattr(_onednn, "DISTRIBUTION", "no-such-onednn-wheel")
    monkeypatch.delenv("DEEPGRAD_ONEDNN", raising=False)
    monkeypatch.delenv("DEEPGRAD_COMPILED", raising=False)
    _onednn.reset()
    assert _onednn.library() is None and not _conv_onednn.available()
    reason = _onednn.unavailable_reason()
    assert ("/nonexistent/libdnnl.so.3" in reason if missing == "path"
            else "not installed" in reason)
    x = dg.randn(2, 3, 6, 6, requires_grad=True)
    y = F.conv2d(x, dg.randn(4, 3, 3, 3), padding=1)
    assert isinstance(y.creator, FastConv2d)
    y.sum().backward()
    assert x.grad.shape == (2, 3, 6, 6)


def test_import_does_not_load_onednn():
    import subprocess
    import sys
    code = ("import os, sys, deepgrad; print('deepgrad.ops._onednn' in sys.modules, "
            "os.path.exists('/proc/self/maps') and "
            "any('dnnl' in line for line in open('/proc/self/maps')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


@needs_onednn
def test_loading_leaves_openmp_waiting_as_its_default():
    """libgomp's threads spin a little after each parallel region before they sleep; a
    forced passive wait made every small op wake them through the kernel (a batch-1
    convolution took 330 us instead of 55, BENCHMARKS.md run R). Loading oneDNN must
    not change OpenMP's settings."""
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMP_", "GOMP_"))}
    code = ("import os; from deepgrad.ops import _onednn; assert _onednn.library(); "
            "print(sorted(k for k in os.environ if k.startswith(('OMP_', 'GOMP_'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == "[]"


@needs_onednn
def test_the_benchmark_times_deepgrad_with_its_own_openmp_runtime():
    """The process has one OpenMP runtime, the first loaded: the benchmark loads
    deepgrad's (oneDNN's libgomp) before PyTorch's, as in its users' programs."""
    import subprocess
    import sys
    pytest.importorskip("torch")
    code = ("from deepgrad.bench.harness import setup_torch; setup_torch(); "
            "print([l.split()[-1] for l in open('/proc/self/maps') if 'libgomp' in l][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert "torch" not in out, out


def test_info_says_whether_onednn_is_used(capsys, monkeypatch):
    from deepgrad import cli
    cli.main(["info"])
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("onednn")]
    assert len(line) == 1
    if _onednn.library() is not None:
        assert "3.2" in line[0]
    monkeypatch.setenv("DEEPGRAD_ONEDNN", "0")
    _onednn.reset()
    cli.main(["info"])
    assert "onednn   not used: switched off" in capsys.readouterr().out


@needs_onednn
def test_the_forward_without_reorders_gives_the_general_paths_numbers():
    """A plan whose forward reads and writes the user's arrays as they are binds its
    arguments once (``_plain_forward``); the general path, with its conversion lookups,
    gives the same bits."""
    x, w, b = _arrays(dict(x=(1, 1, 28, 28), w=(6, 1, 5, 5), bias=True,
                           channels_last=False))
    op = op_for(x, w, b, (1, 1), ((2, 2), (2, 2)), (1, 1), 1)
    plan = op.plan
    if plan._plain_forward is None:
        pytest.skip(f"oneDNN reorders for this geometry here ({plan.implementations()})")
    fast, _ = plan.run_forward(x, w, b)
    bound, plan._plain_forward = plan._plain_forward, None
    try:
        general, _ = plan.run_forward(x, w, b)
    finally:
        plan._plain_forward = bound
    assert fast.strides == general.strides and np.array_equal(fast, general)


@needs_onednn
def test_a_call_like_one_before_skips_the_checks_and_gets_the_same_plan(monkeypatch):
    """conv2d files its oneDNN plan under the arrays' shapes, strides and dtypes and the
    arguments as given; a call with all of them equal (the arguments' types too) takes
    it without the checks, anything else is checked as ever."""
    x = dg.randn(2, 3, 12, 12, requires_grad=True)
    w, b = dg.randn(4, 3, 3, 3, requires_grad=True), dg.randn(4, requires_grad=True)
    first = F.conv2d(x, w, b, 1, "same")
    checks = []
    monkeypatch.setattr(conv, "_conv2d_geometry",
                        lambda *a, _real=_conv2d_geometry: checks.append(1) or _real(*a))
    again = F.conv2d(x, w, b, 1, "same")
    assert checks == [] and isinstance(again.creator, OneDNNConv2d)
    assert again.creator.plan is first.creator.plan
    np.testing.assert_array_equal(again.detach().numpy(), first.detach().numpy())
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(x, w, b, 1.0, "same")  # 1.0 == 1, but not an int
    with pytest.raises(ValueError, match="groups"):
        F.conv2d(x, w, b, 1, "same", 1, True)  # True == 1
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, w, dg.randn(5), 1, "same")
    from deepgrad.checks import InputError
    with pytest.raises(InputError, match="channels"):
        F.conv2d(dg.randn(2, 5, 12, 12), w, b, 1, "same")
    assert len(checks) == 4
    assert _onednn.seen_key("conv2d", (x.detach().numpy(),), ([1, 1],)) is None  # a list
    monkeypatch.setenv("DEEPGRAD_ONEDNN", "0")
    _onednn.reset()  # switched off: the plans filed are forgotten with the others
    assert isinstance(F.conv2d(x, w, b, 1, "same").creator, FastConv2d)
