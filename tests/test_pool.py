"""MaxPool2d, AvgPool2d, AdaptiveAvgPool2d against PyTorch over their options (float64
rtol 1e-10 and float32, non-contiguous inputs, float64 gradient checks), indices, ties,
NaN, channels-last inputs and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import deepgrad as dg
import deepgrad.nn.functional as F
from helpers_ops import Case, check_case, distinct, uniform

MAX_OPTIONS = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    (3, 1, 1, 2, False),
    ((3, 2), (2, 3), (1, 1), (1, 2), True),
    (2, 3, 0, 1, True),
    ((1, 3), (1, 2), (0, 1), 1, False),
]


@pytest.mark.parametrize("opts", MAX_OPTIONS, ids=str)
def test_max_pool2d_matches_torch(opts):
    k, s, p, d, c = opts
    check_case(Case(f"max_pool2d{opts}", ((2, 3, 9, 8),),
                    fn=lambda x: F.max_pool2d(x, k, s, p, d, c),
                    torch_fn=lambda x: TF.max_pool2d(x, k, s, p, d, c),
                    samplers=distinct()))  # no ties: each window has one maximum


AVG_OPTIONS = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (2, None, 0, False, True, None),
    (3, 2, 1, False, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((3, 2), (2, 3), (1, 1), True, False, None),
    (2, 3, 1, True, True, None),
    (3, 2, 1, False, True, 5),
]


@pytest.mark.parametrize("opts", AVG_OPTIONS, ids=str)
def test_avg_pool2d_matches_torch(opts):
    k, s, p, c, inc, div = opts
    check_case(Case(f"avg_pool2d{opts}", ((2, 3, 9, 8),),
                    fn=lambda x: F.avg_pool2d(x, k, s, p, c, inc, div),
                    torch_fn=lambda x: TF.avg_pool2d(x, k, s, p, c, inc, div)))


@pytest.mark.parametrize("size", [(3, 5), 4, (None, 3), 1, (9, 8), (7, 6)], ids=str)
def test_adaptive_avg_pool2d_matches_torch(size):
    check_case(Case(f"adaptive_avg_pool2d({size})", ((2, 3, 9, 8),),
                    fn=lambda x: F.adaptive_avg_pool2d(x, size),
                    torch_fn=lambda x: TF.adaptive_avg_pool2d(x, size), samplers=uniform()))


def test_elementwise_gradcheck():
    """Every input element, central differences (dg.diagnostics.gradcheck), float64."""
    from deepgrad.diagnostics import gradcheck
    x = dg.tensor(distinct()(np.random.default_rng(0), (2, 2, 5, 6)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, 1, True), (x,))
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), (x,))
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (2, 4)), (x,))


@pytest.mark.parametrize("opts", MAX_OPTIONS, ids=str)
def test_return_indices_match_torch(opts):
    k, s, p, d, c = opts
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8))
    out, idx = F.max_pool2d(dg.tensor(x), k, s, p, d, c, return_indices=True)
    ref, ref_idx = TF.max_pool2d(torch.from_numpy(x), k, s, p, d, c, return_indices=True)
    np.testing.assert_array_equal(out.data, ref.numpy())
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx.data, ref_idx.numpy())
    layer_out, layer_idx = dg.nn.MaxPool2d(k, s, p, d, return_indices=True, ceil_mode=c)(
        dg.tensor(x))
    np.testing.assert_array_equal(layer_idx.data, ref_idx.numpy())


def test_ties_give_the_gradient_to_the_first_maximum_like_torch():
    # ReLU outputs are full of zeros: whole windows tie
    x = np.zeros((1, 2, 4, 6))
    x[0, 0, 1, 1] = 1.0
    x[0, 1, :2, :2] = 2.0
    for opts in ((2, 2, 0), (3, 1, 1), (2, 1, 0)):
        xt = torch.tensor(x, requires_grad=True)
        TF.max_pool2d(xt, *opts).sum().backward()
        xd = dg.tensor(x, requires_grad=True)
        F.max_pool2d(xd, *opts).sum().backward()
        np.testing.assert_array_equal(xd.grad, xt.grad.numpy())


def test_nan_propagates_like_torch():
    x = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    x[0, 0, 0, 1] = np.nan
    x[0, 0, 3, 3] = np.nan
    x[0, 0, 2, 2] = np.nan
    xt = torch.tensor(x, requires_grad=True)
    ref, ref_idx = TF.max_pool2d(xt, 3, 1, 1, return_indices=True)
    ref.sum().backward()
    xd = dg.tensor(x, requires_grad=True)
    out, idx = F.max_pool2d(xd, 3, 1, 1, return_indices=True)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_array_equal(idx.data, ref_idx.numpy())
    np.testing.assert_array_equal(xd.grad, xt.grad.numpy())


@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool2d(x, 2), lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: F.adaptive_avg_pool2d(x, (3, 2))])
def test_channels_last_input_gives_the_same_result(pool):
    x = np.random.default_rng(0).standard_normal((2, 5, 8, 7))
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    results = []
    for data in (x, nhwc):
        xt = dg.Tensor(data, requires_grad=True)
        y = pool(xt)
        y.backward(np.arange(y.numel(), dtype=np.float64).reshape(y.shape))
        results.append((y.data, xt.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_layers_equal_functional_forms_and_default_stride():
    x = dg.tensor(np.random.default_rng(0).random((1, 2, 6, 6)))
    pool = dg.nn.MaxPool2d(3)
    assert pool.stride == (3, 3) and pool(x).shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(dg.nn.AvgPool2d(2, 1, 1, ceil_mode=True,
                                                  count_include_pad=False)(x).data,
                                  F.avg_pool2d(x, 2, 1, 1, True, False).data)
    np.testing.assert_array_equal(dg.nn.AdaptiveAvgPool2d((None, 3))(x).data,
                                  F.adaptive_avg_pool2d(x, (6, 3)).data)
    assert dg.nn.MaxPool2d(2).state_dict() == {}


def test_pooling_keeps_float32():
    x = dg.tensor(np.random.default_rng(0).random((1, 2, 6, 6), dtype=np.float32),
                  requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 4)):
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


# -- errors ----------------------------------------------------------------------------

def test_non_4d_input():
    for layer in (dg.nn.MaxPool2d(2), dg.nn.AvgPool2d(2), dg.nn.AdaptiveAvgPool2d(2)):
        with pytest.raises(ValueError, match=type(layer).__name__ + r".*: expected a 4-D "
                                             r"input.*\(3, 8, 8\)"):
            layer(dg.zeros(3, 8, 8))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=5, .*\): max_pool2d: the kernel "
                                         r"\(5, 5\).*larger than the "
                                         r"padded input.*\(1, 1, 2, 2\)"):
        dg.nn.MaxPool2d(5, padding=1)(dg.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"avg_pool2d: the kernel \(4, 4\)"):
        F.avg_pool2d(dg.zeros(1, 1, 3, 3), 4)


@pytest.mark.parametrize("make, message", [
    (lambda: dg.nn.MaxPool2d(2, padding=2), "padding .* at most half the kernel"),
    (lambda: dg.nn.MaxPool2d(0), "kernel_size must be an int >= 1"),
    (lambda: dg.nn.MaxPool2d(2, stride=0), "stride"),
    (lambda: dg.nn.AvgPool2d(2, divisor_override=0), "divisor_override"),
    (lambda: dg.nn.AdaptiveAvgPool2d(0), "output_size"),
    (lambda: dg.nn.AdaptiveAvgPool2d((2, 2, 2)), "output_size"),
])
def test_bad_arguments_raise_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()
