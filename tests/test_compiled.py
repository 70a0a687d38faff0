"""The compiled kernels give the NumPy path's bits (the NumPy code is the oracle): 2x2
max pooling, ReLU, sigmoid and tanh in every memory layout, dtype and odd size, with
ties, infinities and NaNs, and a gradient in another memory order than the forward's;
the optimizer updates; the cross entropy to round-off."""
import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.nn import functional as F
from deepgrad.ops import _onednn_eltwise, compiled
from deepgrad.ops import activation
from deepgrad.ops._compiled_ops import (CompiledCrossEntropy, CompiledMaxPool2x2, CompiledReLU,
                                         CompiledSigmoid, CompiledTanh)
from deepgrad.optim import _compiled as optim_compiled

pytest.importorskip("numba")


def _pool(x, g, use_compiled, monkeypatch):
    """Forward and backward of max_pool2d(x, 2) on one path; (out, indices, dx)."""
    with monkeypatch.context() as m:
        if not use_compiled:
            m.setattr(compiled, "_kernels", False)
        t = dg.Tensor(x, requires_grad=True)
        out, indices = F.max_pool2d(t, 2, return_indices=True)
        fn = out.creator
        assert isinstance(fn, CompiledMaxPool2x2) == use_compiled
        indices = indices._data
        dx = fn.backward(g)[0]  # the op's own result (a leaf's .grad is a C-order copy)
    return out._data, indices, dx


def _layout(a, how):
    if how == "channels_last":
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if how == "strided":  # every other channel of a larger array
        wide = np.zeros((a.shape[0], 2 * a.shape[1]) + a.shape[2:], a.dtype)
        wide[:, ::2] = a
        return wide[:, ::2]
    return a


def _values(kind, shape, rng, dtype):
    if kind == "ties":  # few distinct values: many windows hold their maximum twice
        return rng.integers(-2, 2, size=shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "special":
        flat = x.reshape(-1)
        picks = rng.choice(flat.size, size=flat.size // 5, replace=False)
        flat[picks] = rng.choice([np.nan, np.inf, -np.inf], size=picks.size)
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize("kind", ["random", "ties", "special"])
@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (3, 5, 7, 9), (1, 1, 2, 2), (4, 16, 5, 4)])
def test_compiled_max_pool_gives_the_numpy_bits(monkeypatch, dtype, layout, kind, shape):
    rng = np.random.default_rng(sum(shape))
    x = _layout(_values(kind, shape, rng, dtype), layout)
    out_shape = shape[:2] + (shape[2] // 2, shape[3] // 2)
    g = _layout(rng.standard_normal(out_shape).astype(dtype), layout)
    fast = _pool(x, g, True, monkeypatch)
    oracle = _pool(x, g, False, monkeypatch)
    for what, a, b in zip(("output", "indices", "gradient"), fast, oracle):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=what)  # NaNs in the same places
    if layout == "channels_last":  # the layout is kept: the next conv needs no transpose
        for a in (fast[0], fast[2], oracle[0], oracle[2]):  # output and gradient
            assert a.transpose(0, 2, 3, 1).flags.c_contiguous


def test_a_nan_gradient_reaches_only_the_maximum_as_in_pytorch(monkeypatch):
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    g = np.array([[[[np.nan, 1.0], [np.inf, 2.0]]]], np.float32)
    _, _, dx = _pool(x, g, True, monkeypatch)
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(xt, 2).backward(torch.tensor(g))
    np.testing.assert_array_equal(dx, xt.grad.numpy())


def test_other_pools_and_devices_use_the_numpy_path():
    x = dg.randn(1, 2, 6, 6, requires_grad=True)
    for kwargs in ({"kernel_size": 3}, {"kernel_size": 2, "stride": 1},
                   {"kernel_size": 2, "padding": 1}, {"kernel_size": 2, "dilation": 2},
                   {"kernel_size": 2, "ceil_mode": True, "stride": 2}):
        out = F.max_pool2d(dg.randn(1, 2, 7, 7, requires_grad=True), **kwargs)
        assert not isinstance(out.creator, CompiledMaxPool2x2), kwargs
    assert isinstance(F.max_pool2d(x, 2).creator, CompiledMaxPool2x2)  # 6x6: ceil mode changes nothing either


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setenv("DEEPGRAD_COMPILED", "0")
    assert compiled.kernels() is None
    pooled = F.max_pool2d(dg.randn(1, 1, 4, 4, requires_grad=True), 2)
    assert not isinstance(pooled.creator, CompiledMaxPool2x2)
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.delenv("DEEPGRAD_COMPILED")
    assert compiled.kernels() is not None


@pytest.mark.parametrize("cfg", [
    dict(x=(2, 8, 9, 7), w=(5, 8, 3, 3), stride=1, padding=1, dilation=1),
    dict(x=(3, 16, 10, 11), w=(4, 16, 3, 2), stride=(2, 1), padding=(0, 2), dilation=1),
    dict(x=(1, 12, 12, 12), w=(6, 12, 3, 3), stride=2, padding=2, dilation=2),
    dict(x=(2, 9, 5, 5), w=(3, 9, 5, 5), stride=1, padding=0, dilation=1),
    dict(x=(70, 8, 6, 6), w=(4, 8, 2, 2), stride=1, padding="same", dilation=1),
], ids=str)
def test_compiled_conv_input_gradient_equals_the_numpy_path(monkeypatch, cfg):
    """Sums run in another order (one product per block of rows, then col2im), so the
    two agree to float64 round-off, not bit for bit; both are checked against PyTorch
    in test_conv.py. Small blocks make the 70-image case cross many block edges."""
    from deepgrad.ops import _conv_fast
    monkeypatch.setattr(_conv_fast, "COL2IM_BLOCK_BYTES", 4096)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(cfg["x"])
    w = rng.standard_normal(cfg["w"])
    gy = None
    grads = []
    calls = []
    original = _conv_fast.FastConv2d._input_grad_compiled
    monkeypatch.setattr(_conv_fast.FastConv2d, "_input_grad_compiled",
                        lambda self, *a: calls.append(1) or original(self, *a))
    for use_compiled in (True, False):
        with monkeypatch.context() as m:
            if not use_compiled:
                m.setattr(compiled, "_kernels", False)
            xt = dg.Tensor(x, requires_grad=True)
            out = F.conv2d(xt, dg.Tensor(w), stride=cfg["stride"], padding=cfg["padding"],
                           dilation=cfg["dilation"])
            gy = rng.standard_normal(out.shape) if gy is None else gy
            out.backward(gy)
            grads.append(xt.grad)
    assert calls == [1]  # the compiled path ran once, the NumPy path the other time
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize("grad_layout", ["contiguous", "channels_last"])
def test_compiled_relu_gives_the_numpy_bits(monkeypatch, dtype, layout, grad_layout):
    monkeypatch.setattr(CompiledReLU, "COMPILED_FROM", 1)
    rng = np.random.default_rng(1)
    x = _values("special", (3, 6, 5, 4), rng, dtype)
    x.reshape(-1)[:7] = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45]
    x = _layout(x, layout)
    g = _layout(rng.standard_normal((3, 6, 5, 4)).astype(dtype), grad_layout)
    results = []
    for use_compiled in (True, False):
        with monkeypatch.context() as m:
            if not use_compiled:
                m.setattr(compiled, "_kernels", False)
            y = dg.relu(dg.Tensor(x, requires_grad=True))
            assert isinstance(y.creator, CompiledReLU) == (use_compiled and layout != "strided")
            results.append((y._data, y.creator.backward(g)[0]))
    (y, dx), (y_ref, dx_ref) = results
    np.testing.assert_array_equal(y, y_ref)
    assert np.array_equal(np.signbit(y), np.signbit(y_ref))  # -0.0 maps to +0.0 in both
    np.testing.assert_array_equal(dx, dx_ref)
    if layout == "channels_last":
        assert y.transpose(0, 2, 3, 1).flags.c_contiguous  # the layout is kept


def test_compiled_relu_gradient_of_nan_is_masked_as_in_pytorch(monkeypatch):
    monkeypatch.setattr(CompiledReLU, "COMPILED_FROM", 1)
    x = np.array([-1.0, 2.0, -3.0, 4.0], np.float32)
    g = np.array([np.nan, np.nan, np.inf, 1.0], np.float32)
    y = dg.relu(dg.Tensor(x, requires_grad=True))
    assert isinstance(y.creator, CompiledReLU)
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(y.creator.backward(g)[0], xt.grad.numpy())


def test_tiny_activations_take_the_numpy_path():
    assert not isinstance(dg.relu(dg.randn(8, 64, requires_grad=True)).creator, CompiledReLU)
    assert isinstance(dg.relu(dg.randn(32, 512, requires_grad=True)).creator,
                      CompiledReLU)  # an MLP's


def test_dtypes_the_kernels_are_not_compiled_for_take_the_numpy_path(monkeypatch):
    monkeypatch.setattr(CompiledReLU, "COMPILED_FROM", 1)
    x = dg.Tensor(np.random.default_rng(0).random((2, 9, 6, 6)).astype(np.float16),
                  requires_grad=True)
    w = dg.Tensor(np.ones((3, 9, 3, 3), np.float16), requires_grad=True)
    pooled, relu = F.max_pool2d(x, 2), dg.relu(x)
    assert not isinstance(pooled.creator, CompiledMaxPool2x2)
    assert not isinstance(relu.creator, CompiledReLU)
    (pooled.sum() + relu.sum() + F.conv2d(x, w).sum()).backward()
    assert x.grad.dtype == np.float16



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout, grad_layout", [("contiguous", "channels_last"),
                                                 ("channels_last", "contiguous")])
@pytest.mark.parametrize("shape", [(3, 6, 5, 4), (2, 16, 2, 3)])  # C < H*W and C > H*W
def test_relu_gradient_in_the_other_memory_order_is_read_in_its_own(monkeypatch, dtype,
                                                                    layout, grad_layout,
                                                                    shape):
    """A row-major gradient for a channels-last mask (or the reverse) goes to the
    transposed kernel, not to NumPy's product across mismatched strides: the textbook's
    values (g * mask) in the mask's order, and the bits of the gradient in the mask's
    own order (a NaN or inf gradient masked to 0, as in PyTorch)."""
    monkeypatch.setattr(CompiledReLU, "COMPILED_FROM", 1)
    rng = np.random.default_rng(2)
    x = _layout(_values("special", shape, rng, dtype), layout)
    g = _layout(rng.standard_normal(shape).astype(dtype), grad_layout)
    special = _layout(_values("special", shape, rng, dtype), grad_layout)
    calls = _count_calls(monkeypatch, "relu_grad_transposed")
    op = dg.relu(dg.Tensor(x, requires_grad=True)).creator
    assert isinstance(op, CompiledReLU)
    dx = op.backward(g)[0]
    assert calls == [1]
    np.testing.assert_array_equal(dx, g * (x > 0))
    assert (dx.flags.c_contiguous if layout == "contiguous"
            else dx.transpose(0, 2, 3, 1).flags.c_contiguous)
    for grad in (g, special):
        same_order = _layout(np.ascontiguousarray(grad), layout)
        dx, dx_same = op.backward(grad)[0], op.backward(same_order)[0]
        assert dx.view(f"i{dx.itemsize}").tolist() == dx_same.view(f"i{dx.itemsize}").tolist()
    np.testing.assert_array_equal(dx, np.where(x > 0, special, 0))
    assert calls == [1, 1, 1]


def test_relu_in_the_conv_relu_pool_chain_gives_the_textbook_gradient(monkeypatch):
    """The CIFAR-10 tutorial net's first block, Conv2d(3, 6, 5) -> ReLU -> MaxPool2d(2,
    2) at batch 64: the pool's gradient as it reaches ReLU in the step (the conv's
    channels-last order) and as a row-major copy of it (what a leaf's .grad holds)."""
    rng = np.random.default_rng(5)
    conv, pool = dg.nn.Conv2d(3, 6, 5), dg.nn.MaxPool2d(2, 2)
    x = dg.Tensor(rng.standard_normal((64, 3, 32, 32)).astype(np.float32))
    h = conv(x).detach()
    r = dg.relu(h.requires_grad_())
    assert isinstance(r.creator, CompiledReLU)
    p = pool(r)
    gp = rng.standard_normal(p.shape).astype(np.float32)
    g = p.creator.backward(gp)[0]  # the pool's gradient of the ReLU's output
    with monkeypatch.context() as m:
        m.setattr(compiled, "_kernels", False)
        textbook = dg.relu(dg.Tensor(h._data, requires_grad=True)).creator
        assert isinstance(textbook, activation.ReLU)
    for grad in (g, np.ascontiguousarray(g)):
        np.testing.assert_array_equal(r.creator.backward(grad)[0],
                                      textbook.backward(grad)[0])
    r.backward(g)  # and through the engine
    np.testing.assert_array_equal(h.grad, textbook.backward(g)[0])


def test_a_strided_relu_gradient_takes_the_textbook_product(monkeypatch):
    monkeypatch.setattr(CompiledReLU, "COMPILED_FROM", 1)
    rng = np.random.default_rng(4)
    x = _layout(rng.standard_normal((2, 3, 4, 5)).astype(np.float32), "channels_last")
    g = _layout(rng.standard_normal((2, 3, 4, 5)).astype(np.float32), "strided")
    op = dg.relu(dg.Tensor(x, requires_grad=True)).creator
    assert isinstance(op, CompiledReLU)
    np.testing.assert_array_equal(op.backward(g)[0], g * (x > 0))


# -- sigmoid and tanh -------------------------------------------------------------------

ACTIVATIONS = {"sigmoid": (dg.sigmoid, CompiledSigmoid, activation.Sigmoid),
               "tanh": (dg.tanh, CompiledTanh, activation.Tanh)}


def _special(dtype):
    """The values where the formulas could go wrong: NaN, infinities, signed zeros,
    the smallest subnormal, where exp(-|a|) turns subnormal and then 0, and beyond."""
    big = [88.0, 89.0, 103.0, 104.0, 200.0, 709.0, 710.0, 745.0, 1e4, 3e38]
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-30, 0.5, 20.0]
                    + big + [-v for v in big], dtype)


def _activation(name, x, g, use_compiled, monkeypatch):
    """Forward and backward of ``name`` on one path, the backward from the op's own
    output; (output, gradient, op)."""
    fn, _, _ = ACTIVATIONS[name]
    with monkeypatch.context() as m:
        # the compiled loops and the textbook, not oneDNN's (tests/test_eltwise_onednn.py)
        m.setattr(_onednn_eltwise, "op_for", lambda name, a: None)
        if not use_compiled:
            m.setattr(compiled, "_kernels", False)
        y = fn(dg.Tensor(x, requires_grad=True))
        with np.errstate(invalid="ignore"):  # inf * 0 in the textbook's gradient
            return y._data, y.creator.backward(g)[0], y.creator


def _check_same(fast, oracle, layout=None):
    (y, dx, _), (y_ref, dx_ref, _) = fast, oracle
    for what, a, b in (("output", y, y_ref), ("gradient", dx, dx_ref)):
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_array_equal(a, b, err_msg=what)  # NaNs in the same places
        numbers = ~np.isnan(a)
        assert np.array_equal(np.signbit(a[numbers]), np.signbit(b[numbers])), what  # -0.0
    if layout == "channels_last":  # the output keeps the input's order
        assert y.transpose(0, 2, 3, 1).flags.c_contiguous


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
@pytest.mark.parametrize("grad_layout", ["contiguous", "channels_last", "strided"])
def test_compiled_sigmoid_and_tanh_give_the_textbook_bits(monkeypatch, name, dtype, layout,
                                                           grad_layout):
    """The forward is the textbook's formula with NumPy's exp (sigmoid) or NumPy's tanh,
    so the same bits, not only the same to round-off; the gradient from the same y in
    the textbook's order of operations, in every pair of memory orders."""
    _, op_class, textbook = ACTIVATIONS[name]
    monkeypatch.setattr(op_class, "COMPILED_FROM", 1)
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((3, 6, 5, 4)) * 4).astype(dtype)
    special = _special(dtype)
    x.reshape(-1)[:special.size] = special
    x = _layout(x, layout)
    g = _layout(_values("special", (3, 6, 5, 4), rng, dtype), grad_layout)
    in_order = _count_calls(monkeypatch, f"{name}_grad")
    transposed = _count_calls(monkeypatch, "activation_grad_transposed")
    fast = _activation(name, x, g, True, monkeypatch)
    oracle = _activation(name, x, g, False, monkeypatch)
    assert isinstance(fast[2], op_class) == (layout != "strided")
    assert isinstance(oracle[2], textbook)
    _check_same(fast, oracle, layout)
    kernel = "strided" not in (layout, grad_layout)
    assert (len(in_order), len(transposed)) == (
        (kernel and layout == grad_layout, kernel and layout != grad_layout))


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (7,), (1023,), (1024,), (4095,), (4096,), (70001,),
                                   (256, 84), (64, 6, 28, 28)], ids=str)
def test_sigmoid_and_tanh_of_every_size_take_the_right_path(monkeypatch, name, dtype, shape):
    """From COMPILED_FROM elements the compiled op, below it the textbook one; the
    same bits either way. The forward also to PyTorch's within a few ulps."""
    _, op_class, textbook = ACTIVATIONS[name]
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    if x.ndim == 4:  # a convolution's output: channels-last
        x = _layout(x, "channels_last")
    g = rng.standard_normal(shape).astype(dtype)
    fast = _activation(name, x, g, True, monkeypatch)
    oracle = _activation(name, x, g, False, monkeypatch)
    compiled_size = x.size >= op_class.COMPILED_FROM
    assert isinstance(fast[2], op_class if compiled_size else textbook)
    _check_same(fast, oracle, "channels_last" if x.ndim == 4 else None)
    expected = getattr(torch, name)(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    ulps = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(fast[0], expected, rtol=ulps, atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_special_values_of_sigmoid_and_tanh(monkeypatch, name):
    """NaN stays NaN, the infinities give the limits, large |a| neither NaN nor an
    overflow (exp(-|a|) only underflows); the gradients as PyTorch's."""
    _, op_class, _ = ACTIVATIONS[name]
    monkeypatch.setattr(op_class, "COMPILED_FROM", 1)
    for dtype in (np.float32, np.float64):
        x = _special(dtype)
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # NaN is quiet
            y = ACTIVATIONS[name][0](dg.Tensor(x, requires_grad=True))
            assert isinstance(y.creator, op_class)
            dx = y.creator.backward(np.ones_like(x))[0]
        xt = torch.tensor(x, requires_grad=True)
        yt = getattr(torch, name)(xt)
        yt.backward(torch.ones_like(yt))
        np.testing.assert_array_equal(np.isnan(y._data), np.isnan(x))
        tiny = np.finfo(dtype).tiny  # PyTorch's sigmoid flushes subnormal results to 0
        np.testing.assert_allclose(y._data, yt.detach().numpy(), rtol=4 * np.finfo(dtype).eps,
                                   atol=tiny)
        assert y._data[np.isinf(x)].tolist() == yt.detach().numpy()[np.isinf(x)].tolist()
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=16 * np.finfo(dtype).eps,
                                   atol=tiny)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_a_gradient_of_another_dtype_takes_the_textbook_formula(monkeypatch, name):
    _, op_class, textbook = ACTIVATIONS[name]
    monkeypatch.setattr(op_class, "COMPILED_FROM", 1)
    x = np.linspace(-3, 3, 40, dtype=np.float32)
    g = np.linspace(-1, 1, 40)  # float64
    fast = _activation(name, x, g, True, monkeypatch)
    oracle = _activation(name, x, g, False, monkeypatch)
    assert isinstance(fast[2], op_class) and fast[1].dtype == np.float64
    _check_same(fast, oracle)


def test_sigmoid_and_tanh_switched_off_by_the_environment(monkeypatch):
    x = dg.randn(64, 128, requires_grad=True)
    assert isinstance(dg.sigmoid(x).creator, CompiledSigmoid)
    assert isinstance(dg.tanh(x).creator, CompiledTanh)
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setenv("DEEPGRAD_COMPILED", "0")
    assert type(dg.sigmoid(x).creator) is activation.Sigmoid
    assert type(dg.tanh(x).creator) is activation.Tanh
    assert type(dg.nn.Sigmoid()(x).creator) is activation.Sigmoid
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.delenv("DEEPGRAD_COMPILED")
    assert isinstance(dg.nn.Sigmoid()(x).creator, CompiledSigmoid)


def test_sigmoid_and_tanh_train_through_the_engine(monkeypatch):
    """Through a graph: the saved output is guarded against in-place changes as the
    textbook op's is, and the gradients reach the leaves with the textbook bits."""
    rng = np.random.default_rng(7)
    x = _layout(rng.standard_normal((4, 8, 12, 12)).astype(np.float32), "channels_last")
    grads = []
    for use_compiled in (True, False):
        with monkeypatch.context() as m:
            if not use_compiled:
                m.setattr(compiled, "_kernels", False)
            xt = dg.Tensor(x, requires_grad=True)
            s, t = dg.sigmoid(xt), dg.tanh(xt)
            assert isinstance(s.creator, CompiledSigmoid) == use_compiled
            assert isinstance(t.creator, CompiledTanh) == use_compiled
            (s * t).sum().backward()
            grads.append(xt.grad.numpy())
            y = dg.sigmoid(dg.Tensor(x, requires_grad=True))
            y.add_(1)
            with pytest.raises(RuntimeError, match="modified by an in-place operation"):
                y.sum().backward()
    np.testing.assert_array_equal(grads[0], grads[1])


# -- optimizer updates ----------------------------------------------------------------

def _optimize(make, shape, dtype, use_compiled, monkeypatch, steps=4, layout=None):
    """``steps`` updates of one parameter on one path, gradients with zeros, infinities,
    NaNs and subnormals; the parameter and the state arrays after them."""
    with monkeypatch.context() as m:
        if not use_compiled:
            m.setattr(optim_compiled, "_loops", False)
        rng = np.random.default_rng(3)
        data = rng.standard_normal(shape).astype(dtype)
        p = dg.Tensor(data if layout is None else layout(data), requires_grad=True)
        opt = make([p])
        for step in range(steps):
            g = rng.standard_normal(shape).astype(dtype)
            if step == 2:
                g.reshape(-1)[:6] = [0.0, -0.0, np.inf, np.nan, 1e-40, -np.inf]
            p.grad = dg.as_tensor(g)
            with np.errstate(invalid="ignore"):
                opt.step()
        state = {k: np.array(v) for k, v in opt.state_dict()["state"][0].items()}
    return np.array(p.data), state


def _same_bits(fast, oracle):
    (p, state), (p_ref, state_ref) = fast, oracle
    np.testing.assert_array_equal(p, p_ref)  # NaNs in the same places
    assert state.keys() == state_ref.keys()
    for key in state:
        np.testing.assert_array_equal(state[key], state_ref[key], err_msg=key)


def _count_calls(monkeypatch, name, kernels=None):
    kernels = kernels or compiled.kernels()
    calls = []
    original = getattr(kernels, name)
    monkeypatch.setattr(kernels, name,
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


SGD_OPTIONS = [dict(momentum=0.0), dict(momentum=0.0, weight_decay=0.1, maximize=True),
               dict(momentum=0.0, weight_decay=0.1, decoupled_weight_decay=True),
               dict(momentum=0.9), dict(momentum=0.9, dampening=0.3),
               dict(momentum=0.9, nesterov=True, weight_decay=0.1),
               dict(momentum=0.9, nesterov=True, maximize=True),
               dict(momentum=0.5, weight_decay=0.1, decoupled_weight_decay=True,
                    maximize=True, dampening=0.2)]

ADAM_OPTIONS = [dict(), dict(amsgrad=True), dict(weight_decay=0.1, maximize=True),
                dict(weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True),
                dict(eps_inside_sqrt=True, betas=(0.3, 0.99)),
                dict(betas=(0.5, 0.9), maximize=True, amsgrad=True)]


RMSPROP_OPTIONS = [dict(), dict(centered=True, weight_decay=0.1),
                   dict(momentum=0.9, maximize=True), dict(alpha=0.3, centered=True),
                   dict(centered=True, momentum=0.5, eps_inside_sqrt=True)]

ADAGRAD_OPTIONS = [dict(), dict(lr_decay=0.1, weight_decay=0.1, maximize=True),
                   dict(initial_accumulator_value=0.5, eps=1e-3)]

ADADELTA_OPTIONS = [dict(), dict(rho=0.3, weight_decay=0.1, maximize=True)]

KERNEL = {"SGD": "sgd_update", "Adam": "adam_update", "AdamW": "adam_update",
          "RMSprop": "rmsprop_update", "Adagrad": "adagrad_update",
          "Adadelta": "adadelta_update"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, options", [("SGD", o) for o in SGD_OPTIONS] +
                         [("Adam", o) for o in ADAM_OPTIONS] +
                         [("AdamW", dict(amsgrad=True))] +
                         [("RMSprop", o) for o in RMSPROP_OPTIONS] +
                         [("Adagrad", o) for o in ADAGRAD_OPTIONS] +
                         [("Adadelta", o) for o in ADADELTA_OPTIONS], ids=str)
def test_compiled_optimizer_updates_give_the_numpy_bits(monkeypatch, dtype, name, options):
    def make(params):
        return getattr(dg.optim, name)(params, lr=0.05, **options)
    calls = _count_calls(monkeypatch, KERNEL[name], optim_compiled.loops())
    fast = _optimize(make, (37, 53), dtype, True, monkeypatch)
    assert len(calls) == 4
    _same_bits(fast, _optimize(make, (37, 53), dtype, False, monkeypatch))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NaN, in worker threads (errstate is per thread)
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta"])
def test_compiled_updates_of_large_arrays_in_threaded_blocks_give_the_same_bits(
        monkeypatch, name):
    """Above PARALLEL_MIN_ELEMENTS an array is cut in one part per thread, each run in
    blocks: odd block and array sizes make every edge fall mid-block."""
    from deepgrad.optim import _blocked
    monkeypatch.setattr(_blocked, "WHOLE_BELOW_BYTES", 0)
    monkeypatch.setattr(_blocked, "PARALLEL_MIN_ELEMENTS", 1000)
    monkeypatch.setattr(dg.optim.Optimizer, "block_bytes", 4 * 331)

    def make(params):
        return getattr(dg.optim, name)(params, lr=0.01, weight_decay=0.01,
                                       **({"momentum": 0.9} if name in ("SGD", "RMSprop")
                                          else {}))
    fast = _optimize(make, (7919,), np.float32, True, monkeypatch, steps=3)
    _same_bits(fast, _optimize(make, (7919,), np.float32, False, monkeypatch, steps=3))


def test_strided_parameters_take_the_numpy_update(monkeypatch):
    calls = _count_calls(monkeypatch, "adam_update", optim_compiled.loops())
    fast = _optimize(dg.optim.Adam, (6, 8), np.float32, True, monkeypatch,
                     layout=lambda a: np.asfortranarray(a))
    assert calls == []
    _same_bits(fast, _optimize(dg.optim.Adam, (6, 8), np.float32, False, monkeypatch,
                               layout=lambda a: np.asfortranarray(a)))


# -- cross-entropy ----------------------------------------------------------------------

def _cross_entropy(x, t, use_compiled, monkeypatch, reduction="mean", **options):
    """Loss and input gradient of F.cross_entropy on one path (and whether it was the
    compiled one)."""
    with monkeypatch.context() as m:
        if not use_compiled:
            m.setattr(compiled, "_kernels", False)
        xt = dg.Tensor(x, requires_grad=True)
        with np.errstate(invalid="ignore"):  # the rows with inf and NaN
            loss = F.cross_entropy(xt, dg.tensor(t), reduction=reduction, **options)
            ran_compiled = isinstance(loss.creator, CompiledCrossEntropy)
            loss.backward(np.ones(loss.shape, x.dtype))
    return loss._data, xt.grad, ran_compiled


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, classes, reduction", [
    *[(rows, classes, reduction) for rows, classes in [(64, 10), (3, 1), (5, 300)]
      for reduction in ("mean", "sum", "none")],
    (0, 4, "sum"), (0, 4, "none")])  # the mean of no losses is refused before either
def test_compiled_cross_entropy_matches_the_numpy_path(monkeypatch, dtype, rows, classes,
                                                       reduction):
    """The same formula with the sum and log in float64: equal to round-off of the
    dtype, infinities and NaNs in the same rows."""
    rng = np.random.default_rng(rows + classes)
    x = (rng.standard_normal((rows, classes)) * 10).astype(dtype)
    if rows > 3:
        x[0, 0], x[1, 1], x[2, -1] = np.inf, -np.inf, np.nan
    t = rng.integers(0, classes, size=rows)
    loss, grad, ran = _cross_entropy(x, t, True, monkeypatch, reduction)
    loss_ref, grad_ref, ran_ref = _cross_entropy(x, t, False, monkeypatch, reduction)
    assert ran and not ran_ref
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, loss_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, grad_ref, rtol=tol, atol=tol)


def test_compiled_cross_entropy_matches_pytorch_and_backs_up_twice(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 7)).astype(np.float32)
    t = rng.integers(0, 7, size=16)
    xt = dg.Tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, dg.tensor(t))
    assert isinstance(loss.creator, CompiledCrossEntropy)
    loss.backward(retain_graph=True)
    first = xt.grad.numpy().copy()
    loss.backward()  # the kept gradient is not scaled in place
    np.testing.assert_array_equal(xt.grad, 2 * first)
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(t))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    np.testing.assert_allclose(first, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_targets_the_kernel_leaves_to_numpy_are_ignored_or_refused_as_before(monkeypatch):
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    t = np.array([0, 1, 2, 3, 2, 1])
    t[4] = -100  # the default ignore_index: that row counts for nothing
    loss, grad, ran = _cross_entropy(x, t, True, monkeypatch)
    assert not ran
    np.testing.assert_array_equal(grad[4], 0)
    t[4] = 4  # out of range: the NumPy path's error, not a wrong number
    with pytest.raises(ValueError, match="target holds class 4, but the input has 4"):
        _cross_entropy(x, t, True, monkeypatch)
