"""BatchNorm1d/2d and F.batch_norm against PyTorch (float64, rtol 1e-10), gradient checks,
running statistics over several steps, state dicts, and errors."""
import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn
from deepgrad.diagnostics import gradcheck
from deepgrad.nn import functional as F

RTOL, ATOL = 1e-10, 1e-12
SHAPES = [(8, 3), (6, 3, 5), (4, 3, 5, 6)]


def _pair(shape, momentum=0.1, affine=True, track=True, dtype=np.float64):
    """A deepgrad layer and the torch layer with the same options and parameters."""
    ours_cls = nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d
    torch_cls = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    c = shape[1]
    ours = ours_cls(c, eps=1e-3, momentum=momentum, affine=affine,
                    track_running_stats=track, dtype=dtype)
    ref = torch_cls(c, eps=1e-3, momentum=momentum, affine=affine,
                    track_running_stats=track).to(torch.float64 if dtype == np.float64
                                                   else torch.float32)
    if affine:  # non-trivial weight and bias, the same in both
        rng = np.random.default_rng(1)
        ours.weight.data[...] = rng.uniform(0.5, 2.0, c)
        ours.bias.data[...] = rng.standard_normal(c)
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(ours.weight.data.numpy()))
            ref.bias.copy_(torch.from_numpy(ours.bias.data.numpy()))
    return ours, ref


def _step(ours, ref, x, g, rtol=RTOL, atol=ATOL):
    """One forward/backward in both; compare output, input grad and parameter grads."""
    xo = dg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), ref(xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=rtol, atol=atol)
    if ours.affine:
        np.testing.assert_allclose(ours.weight.grad, ref.weight.grad.numpy(), rtol=rtol,
                                   atol=atol)
        np.testing.assert_allclose(ours.bias.grad, ref.bias.grad.numpy(), rtol=rtol,
                                   atol=atol)
        ours.zero_grad()
        ref.zero_grad()


def _compare_state(ours, ref, rtol=RTOL):
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert list(ours_sd) == list(ref_sd)
    for key, value in ref_sd.items():
        np.testing.assert_allclose(ours_sd[key], value.numpy(), rtol=rtol, atol=ATOL,
                                   err_msg=key)
        assert ours_sd[key].shape == tuple(value.shape), key


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_matches_torch_train_then_eval(shape, momentum, affine, track):
    ours, ref = _pair(shape, momentum, affine, track)
    rng = np.random.default_rng(0)
    for step in range(4):  # several running-stat updates, with shifting statistics
        x = rng.standard_normal(shape) * (1 + step) + step
        _step(ours, ref, x, rng.standard_normal(shape))
        _compare_state(ours, ref)
    ours.eval()
    ref.eval()
    for _ in range(2):  # eval: running statistics (or batch ones without tracking), fixed
        x = rng.standard_normal(shape) * 3 - 1
        _step(ours, ref, x, rng.standard_normal(shape))
    _compare_state(ours, ref)


@pytest.mark.parametrize("shape", SHAPES)
def test_float32_close_to_torch_and_stays_float32(shape):
    ours, ref = _pair(shape, dtype=np.float32)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        xo = dg.tensor(x, requires_grad=True)
        yo = ours(xo)
        yo.backward(g)
        assert yo.dtype == np.float32 and xo.grad.dtype == np.float32
        assert ours.weight.grad.dtype == np.float32
        ours.zero_grad()
        xt = torch.tensor(x, requires_grad=True)
        yt = ref(xt)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-3, atol=1e-5)
    for name in ("running_mean", "running_var"):
        assert ours.state_dict()[name].dtype == np.float32
        np.testing.assert_allclose(ours.state_dict()[name], ref.state_dict()[name].numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_state_dict_keys_buffers_and_counter():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                        "num_batches_tracked"]
    counter = bn.state_dict()["num_batches_tracked"]
    assert counter.dtype == np.int64 and counter.shape == ()
    for _ in range(3):
        bn(dg.randn(2, 4, 3, 3))
    assert int(bn.num_batches_tracked) == 3
    bn.eval()
    bn(dg.randn(2, 4, 3, 3))
    assert int(bn.num_batches_tracked) == 3  # evaluation leaves the statistics alone
    assert list(nn.BatchNorm1d(4, affine=False, track_running_stats=False).state_dict()) \
        == list(torch.nn.BatchNorm1d(4, affine=False, track_running_stats=False).state_dict())


def test_loads_torch_state_dict_inside_a_model():
    rng = np.random.default_rng(3)
    ref = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4)).double()
    with torch.no_grad():  # train a few batches so the running statistics are non-trivial
        for _ in range(3):
            ref(torch.from_numpy(rng.standard_normal((10, 5))))
    ours = nn.Sequential(nn.Linear(5, 4, dtype=np.float64),
                         nn.BatchNorm1d(4, dtype=np.float64))
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert int(ours[1].num_batches_tracked) == 3
    ours.eval()
    ref.eval()
    x = rng.standard_normal((7, 5))
    np.testing.assert_allclose(ours(dg.tensor(x)).data,
                               ref(torch.from_numpy(x)).detach().numpy(), rtol=RTOL,
                               atol=ATOL)


def test_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(3, momentum=None, dtype=np.float64)
    rng = np.random.default_rng(4)
    means, variances = [], []
    for _ in range(5):
        x = rng.standard_normal((6, 3)) * rng.uniform(0.5, 3) + rng.standard_normal(3)
        bn(dg.tensor(x))
        means.append(x.mean(axis=0))
        variances.append(x.var(axis=0, ddof=1))  # the running variance is unbiased
    np.testing.assert_allclose(bn.running_mean, np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, np.mean(variances, axis=0), rtol=1e-12)


def test_running_stats_update_under_no_grad_and_stay_out_of_the_graph():
    bn = nn.BatchNorm1d(3)
    with dg.no_grad():
        y = bn(dg.randn(8, 3) + 5)
    assert not y.requires_grad
    assert np.all(bn.running_mean > 0.3)  # 0.1 of a batch mean near 5
    x = dg.randn(8, 3, requires_grad=True)
    bn(x).sum().backward()
    assert isinstance(bn.running_mean, np.ndarray)  # still a plain array, not a Tensor


def test_eval_without_running_stats_uses_the_batch():
    ours, ref = _pair((8, 3), track=False)
    ours.eval()
    ref.eval()
    x = np.random.default_rng(5).standard_normal((8, 3)) * 4 + 2
    y = ours(dg.tensor(x)).data
    np.testing.assert_allclose(y, ref(torch.from_numpy(x)).detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(((y - ours.bias.data) / ours.weight.data).mean(axis=0), 0,
                               atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_matches_torch(training):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 4, 3)) * 2 + 1
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    rm_t, rv_t = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    y = F.batch_norm(dg.tensor(x), rm, rv, dg.tensor(w), dg.tensor(b), training, 0.2, 1e-4)
    yt = torch.nn.functional.batch_norm(torch.from_numpy(x), rm_t, rv_t,
                                        torch.from_numpy(w), torch.from_numpy(b), training,
                                        0.2, 1e-4)
    np.testing.assert_allclose(y.data, yt.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(rm, rm_t.numpy(), rtol=RTOL)  # updated in place, in training
    np.testing.assert_allclose(rv, rv_t.numpy(), rtol=RTOL)


def test_non_contiguous_input_is_left_unmodified():
    ours, ref = _pair((4, 3, 5, 6))
    base = np.random.default_rng(7).standard_normal((4, 5, 6, 3))
    x = base.transpose(0, 3, 1, 2)  # a strided view, channels not contiguous
    before = x.copy()
    xo = dg.as_tensor(x)
    xo.requires_grad = True
    g = np.random.default_rng(8).standard_normal(x.shape)
    yo = ours(xo)
    yo.backward(g)
    xt = torch.from_numpy(x).requires_grad_()
    yt = ref(xt)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (5, 3)), (nn.BatchNorm1d, (4, 3, 2)),
                                       (nn.BatchNorm2d, (3, 2, 2, 3))])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_float64(cls, shape, training):
    bn = cls(shape[1], dtype=np.float64)
    rng = np.random.default_rng(9)
    bn.weight.data[...] = rng.uniform(0.5, 2, shape[1])
    bn.bias.data[...] = rng.standard_normal(shape[1])
    bn.running_mean[...] = rng.standard_normal(shape[1])
    bn.running_var[...] = rng.uniform(0.5, 2, shape[1])
    bn.train(training)
    saved = {k: bn._buffers[k].copy() for k in ("running_mean", "running_var")}

    def fn(x, w, b):
        # restore the running statistics so every evaluation sees the same layer
        for name, value in saved.items():
            bn._buffers[name][...] = value
        return bn(x)

    x = dg.tensor(rng.standard_normal(shape) * 2, requires_grad=True)
    assert gradcheck(fn, [x, bn.weight, bn.bias], eps=1e-6, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("layer,shape,match", [
    (nn.BatchNorm2d(3), (4, 3), r"BatchNorm2d\(3\): expected input of shape \(N, 3, H, W\), "
                                r"got \(4, 3\)"),
    (nn.BatchNorm2d(3), (2, 4, 5, 5), r"BatchNorm2d\(3\).*\(N, 3, H, W\).*\(2, 4, 5, 5\)"),
    (nn.BatchNorm1d(3), (2, 3, 4, 4), r"BatchNorm1d\(3\).*\(N, 3\) or \(N, 3, L\).*"
                                      r"\(2, 3, 4, 4\)"),
    (nn.BatchNorm1d(3), (4, 5), r"BatchNorm1d\(3\).*got \(4, 5\)"),
    (nn.BatchNorm1d(3), (1, 3), r"BatchNorm1d\(3\): batch statistics need more than 1 "
                                r"value per channel.*\(1, 3\).*training"),
    (nn.BatchNorm2d(3), (1, 3, 1, 1), r"BatchNorm2d\(3\).*more than 1 value.*\(1, 3, 1, 1\)"),
])
def test_bad_input_raises_naming_layer_and_shapes(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer(dg.zeros(*shape))
    if "BatchNorm" in match and "need more" in match:
        assert int(layer.num_batches_tracked) == 0  # a rejected batch is not counted


def test_batch_of_one_is_fine_in_eval_and_with_spatial_values():
    bn = nn.BatchNorm1d(3)
    bn.eval()
    assert bn(dg.randn(1, 3)).shape == (1, 3)
    assert nn.BatchNorm2d(3)(dg.randn(1, 3, 2, 2)).shape == (1, 3, 2, 2)  # 4 values each


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_features=0), "num_features must be a positive integer, got 0"),
    (dict(num_features=3.0), "num_features"),
    (dict(num_features=3, momentum=1.5), "momentum must be a number in \\[0, 1\\] or None"),
    (dict(num_features=3, eps=-1e-5), "eps must be a non-negative number, got -1e-05"),
])
def test_bad_arguments_raise_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.BatchNorm2d(**kwargs)


def test_functional_errors():
    with pytest.raises(ValueError, match="evaluation mode.*needs running_mean"):
        F.batch_norm(dg.randn(4, 3), training=False)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\).*got \(4,\)"):
        F.batch_norm(dg.randn(4, 3), np.zeros(4), np.ones(4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(dg.randn(1, 3), training=True)


def test_reset_and_repr():
    bn = nn.BatchNorm1d(2)
    bn(dg.randn(4, 2) + 3)
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    assert int(bn.num_batches_tracked) == 0
    assert repr(bn) == repr(torch.nn.BatchNorm1d(2)) == (
        "BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, "
        "track_running_stats=True)")


@pytest.mark.parametrize("layout", ["channels_last", "strided"])
def test_batch_statistics_of_a_channels_last_input_are_as_precise_as_pytorchs(layout):
    """A convolution's output is channels-last: its per-channel sums are taken in blocks
    of rows (a plain sum over 64K rows in a row lost 1e-5); other orders are copied
    first. Forward and input gradient within PyTorch's own float32 error of float64."""
    rng = np.random.default_rng(0)
    nhwc = (rng.standard_normal((64, 32, 32, 8)) * 3 + 5).astype(np.float32)
    x = nhwc.transpose(0, 3, 1, 2)  # (N, C, H, W), stored channels-last
    if layout == "strided":
        x = np.concatenate([x, x], axis=2)[:, :, ::2]
    g = rng.standard_normal(x.shape).astype(np.float32)
    exact = torch.tensor(x.astype(np.float64), requires_grad=True)
    torch.nn.functional.batch_norm(exact, None, None, training=True).backward(
        torch.tensor(g, dtype=torch.float64))
    single = torch.tensor(x, requires_grad=True)
    y32 = torch.nn.functional.batch_norm(single, None, None, training=True)
    y32.backward(torch.tensor(g))
    xd = dg.tensor(x, requires_grad=True)
    y = dg.nn.functional.batch_norm(xd, None, None, training=True)
    y.backward(dg.tensor(g))
    reference = torch.nn.functional.batch_norm(exact.detach(), None, None, training=True)
    torch_error = float((y32.detach().double() - reference).abs().max())
    assert float(np.abs(y.detach().numpy() - reference.numpy()).max()) <= max(torch_error, 2e-6)
    grad_error = float((single.grad.double() - exact.grad).abs().max())
    assert float(np.abs(xd.grad.numpy() - exact.grad.numpy()).max()) <= max(grad_error, 2e-6)
