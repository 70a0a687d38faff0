"""Module: registries, PyTorch's state-dict keys, loading PyTorch weights, modes, Linear."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn


def _mlp_pair(dtype=np.float64):
    model = nn.Sequential(nn.Linear(4, 8, dtype=dtype), nn.ReLU(), nn.Linear(8, 8, dtype=dtype),
                          nn.Tanh(), nn.Linear(8, 3, dtype=dtype))
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                              torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    return model, ref


def _torch_state(ref):
    return OrderedDict((k, v.detach().numpy().copy()) for k, v in ref.state_dict().items())


def test_state_dict_keys_and_shapes_match_torch():
    model, ref = _mlp_pair()
    ours, theirs = model.state_dict(), ref.state_dict()
    assert list(ours) == list(theirs)
    assert list(ours) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    for key in ours:
        assert tuple(ours[key].shape) == tuple(theirs[key].shape), key


def test_nested_and_named_modules_give_torch_keys():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
            self.head = nn.Linear(3, 1, bias=False)

        def forward(self, x):
            return self.head(self.body(x))

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 3)),
                                                         ("act", torch.nn.ReLU())]))
            self.head = torch.nn.Linear(3, 1, bias=False)

    net = Net()
    assert list(net.state_dict()) == list(TorchNet().state_dict())
    assert [n for n, _ in net.named_parameters()] == ["body.fc.weight", "body.fc.bias",
                                                      "head.weight"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.fc", "body.act", "head"]
    assert len(list(net.children())) == 2
    assert net.num_parameters() == 2 * 3 + 3 + 3


def test_loading_a_torch_state_dict_gives_torch_outputs():
    model, ref = _mlp_pair()
    missing, unexpected = model.load_state_dict(_torch_state(ref))
    assert missing == [] and unexpected == []
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = model(dg.tensor(x))
    np.testing.assert_allclose(y.data, ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    # and the gradients of every parameter agree
    y.sum().backward()
    ref(torch.from_numpy(x)).sum().backward()
    for (name, p), (tname, tp) in zip(model.named_parameters(), ref.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_load_state_dict_copies_in_place_and_accepts_tensors():
    model, ref = _mlp_pair()
    weight = model[0].weight
    state = {k: dg.tensor(v) for k, v in _torch_state(ref).items()}
    model.load_state_dict(state)
    assert model[0].weight is weight  # optimizers keep pointing at the same parameter
    np.testing.assert_array_equal(weight.data, ref[0].weight.detach().numpy())
    state["0.weight"].data[...] = 0  # the model holds a copy, not the caller's array
    assert np.any(weight.data != 0)


def test_load_state_dict_casts_to_the_model_dtype():
    model = nn.Linear(3, 2)  # float32
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32


def test_load_state_dict_missing_keys():
    model, ref = _mlp_pair()
    state = _torch_state(ref)
    del state["2.bias"]
    with pytest.raises(ValueError, match=r"Sequential.*missing keys: 2\.bias"):
        model.load_state_dict(state)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["2.bias"] and unexpected == []


def test_load_state_dict_unexpected_keys():
    model, ref = _mlp_pair()
    state = _torch_state(ref)
    state["5.weight"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"unexpected keys: 5\.weight"):
        model.load_state_dict(state)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == [] and unexpected == ["5.weight"]


def test_load_state_dict_shape_mismatch_names_key_and_shapes():
    model, ref = _mlp_pair()
    state = _torch_state(ref)
    state["0.weight"] = np.zeros((8, 5))
    before = model[0].weight.data.numpy().copy()
    with pytest.raises(ValueError, match=r"0\.weight.*\(8, 5\).*\(8, 4\)"):
        model.load_state_dict(state)
    with pytest.raises(ValueError, match=r"0\.weight.*\(8, 5\).*\(8, 4\)"):
        model.load_state_dict(state, strict=False)  # shapes are always checked
    np.testing.assert_array_equal(model[0].weight.data, before)  # nothing half-loaded


def test_buffers_are_in_the_state_dict_but_not_parameters():
    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)
            self.register_buffer("running", np.zeros(2))
            self.register_buffer("scratch", np.zeros(2), persistent=False)

    class TorchWithBuffer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)
            self.register_buffer("running", torch.zeros(2))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

    m = WithBuffer()
    # PyTorch's order: a module's own parameters and buffers, then its children's
    assert list(m.state_dict()) == list(TorchWithBuffer().state_dict())
    assert list(m.state_dict()) == ["running", "fc.weight", "fc.bias"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert len(list(m.parameters())) == 2
    m.load_state_dict({"fc.weight": np.ones((2, 2)), "fc.bias": np.ones(2),
                       "running": np.full(2, 7.0)})
    np.testing.assert_array_equal(m.running, [7.0, 7.0])


def test_train_eval_recurse():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 2)))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


def test_zero_grad_and_shared_parameters():
    fc = nn.Linear(2, 2)
    model = nn.Sequential(fc, nn.ReLU(), fc)  # one layer used twice
    assert len(list(model.parameters())) == 2  # listed once, as in PyTorch
    model(dg.tensor(np.ones((1, 2), dtype=np.float32))).sum().backward()
    assert fc.weight.grad is not None
    model.zero_grad()
    assert fc.weight.grad is None


def test_assigning_before_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match=r"Bad.*super\(\).__init__\(\)"):
        Bad()


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match=r"Sequential: item 1 is a function"):
        nn.Sequential(nn.ReLU(), lambda x: x)


# -- Linear ---------------------------------------------------------------------------------------

def test_linear_layout_and_init_statistics():
    dg.manual_seed(0)
    layer = nn.Linear(256, 512)
    assert layer.weight.shape == (512, 256) and layer.bias.shape == (512,)
    assert layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(256)
    w, b = layer.weight.data, layer.bias.data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # the whole interval is used
    # U(-bound, bound): mean 0, standard deviation bound / sqrt(3)
    assert abs(w.mean()) < 0.01 * bound
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.01)
    np.testing.assert_allclose(b.std(), bound / np.sqrt(3), rtol=0.15)


def test_linear_init_is_seeded():
    dg.manual_seed(3)
    a = nn.Linear(5, 4).weight.data.numpy().copy()
    dg.manual_seed(3)
    b = nn.Linear(5, 4).weight.data
    np.testing.assert_array_equal(a, b)


def test_linear_without_bias():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    assert list(torch.nn.Linear(3, 2, bias=False).state_dict()) == ["weight"]


def test_linear_wrong_width_names_layer_and_shapes():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=3.*\(\.\.\., 4\).*\(2, 5\)"):
        layer(dg.tensor(np.zeros((2, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=3.*got \(\)"):
        layer(dg.tensor(np.float32(1.0)))


def test_linear_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match=r"Linear: in_features.*0"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match=r"Linear: out_features.*2\.5"):
        nn.Linear(3, 2.5)
    with pytest.raises(TypeError, match=r"Linear\(in_features=2.*input must be a Tensor.*ndarray"):
        nn.Linear(2, 2)(np.zeros((1, 2)))
    with pytest.raises(TypeError, match=r"Linear\(in_features=2.*input must be floating point.*int64"):
        nn.Linear(2, 2)(dg.tensor(np.zeros((1, 2), dtype=np.int64)))


def test_loss_modules_match_functions_and_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 4, size=6)
    for red in ("mean", "sum", "none"):
        ours = nn.CrossEntropyLoss(reduction=red)(dg.tensor(x), t)
        theirs = torch.nn.CrossEntropyLoss(reduction=red)(torch.from_numpy(x),
                                                           torch.from_numpy(t))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match=r"CrossEntropyLoss.*reduction.*'avg'"):
        nn.CrossEntropyLoss(reduction="avg")


def test_assigning_to_a_buffer_keeps_it_a_buffer():
    m = nn.Module()
    m.register_buffer("running", np.zeros(2))
    m.running = np.ones(2)
    assert list(m.state_dict()) == ["running"]
    np.testing.assert_array_equal(m.state_dict()["running"], np.ones(2))
    m.running = dg.tensor(np.full(2, 3.0))
    np.testing.assert_array_equal(m.running, np.full(2, 3.0))
    with pytest.raises(TypeError, match=r"cannot assign a str to buffer 'running'"):
        m.running = "zero"


def test_a_parameter_cannot_be_replaced_by_a_plain_value():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear: cannot assign a Tensor to parameter 'weight'"):
        layer.weight = dg.tensor(np.ones((2, 2)))
    layer.bias = None  # allowed, as in PyTorch: the layer now has no bias
    assert list(layer.state_dict()) == ["weight"] and layer.bias is None
    layer.bias = nn.Parameter(np.zeros(2, dtype=np.float32))
    assert list(layer.state_dict()) == ["weight", "bias"]
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"submodule '0'"):
        setattr(model, "0", 3)


def test_an_ops_input_error_names_the_innermost_layer_once():
    """Layers do not re-check their input: the op checks it, and the Module around the
    call adds its name (once, however deep the nesting)."""
    net = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3)), nn.ReLU())
    with pytest.raises(ValueError) as info:
        net(dg.zeros(2, 4, 9, 9))
    message = str(info.value)
    assert message.startswith("Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1)): conv2d: "
                              "expected 3 input channels")
    assert "Sequential" not in message and message.count("Conv2d(") == 1

    class Net(nn.Module):  # a user's module calling the functional op itself
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(dg.zeros(3, 4))

        def forward(self, x):
            return nn.functional.linear(x, self.weight)

    with pytest.raises(TypeError, match=r"^Net\(\): linear: input must be a Tensor"):
        Net()(np.zeros((2, 4), dtype=np.float32))
