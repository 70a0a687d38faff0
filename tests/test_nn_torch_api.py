"""torch.nn's Module API in deepgrad.nn: traversal, apply, to(dtype), repr, containers,
lazy layers and load_state_dict, each compared with PyTorch doing the same."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn


def _np(t):
    return t.detach().numpy()


def _both(build):
    """The same model in both frameworks: ``build(nn)`` with deepgrad's and torch's nn."""
    return build(nn), build(torch.nn)


def _tree(lib):
    """A model with every kind of registration: nested Sequential (OrderedDict names), a
    ModuleList with a repeated layer, a ModuleDict, a buffer, a None child and a layer
    shared by two paths."""
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.shared = lib.Linear(4, 4)
            self.body = lib.Sequential(OrderedDict([
                ("conv", lib.Conv2d(1, 2, 3, padding=1)), ("bn", lib.BatchNorm2d(2)),
                ("act", lib.ReLU())]))
            self.blocks = lib.ModuleList([lib.Linear(4, 4) for _ in range(2)])
            self.blocks.append(self.shared)
            self.heads = lib.ModuleDict({"cls": lib.Linear(4, 3), "reg": lib.Linear(4, 1)})
            self.register_buffer("scale", (np.ones(2, dtype=np.float32) if lib is nn
                                           else torch.ones(2)))
            self.skip = None
            self.add_module("empty", None)
    return Net()


# -- traversal ------------------------------------------------------------------------------

def test_traversal_names_match_torch():
    ours, theirs = _both(_tree)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ([n for n, _ in ours.named_modules(remove_duplicate=False)]
            == [n for n, _ in theirs.named_modules(remove_duplicate=False)])
    assert ([n for n, _ in ours.named_modules(prefix="net")]
            == [n for n, _ in theirs.named_modules(prefix="net")])
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ([n for n, _ in ours.named_parameters(remove_duplicate=False)]
            == [n for n, _ in theirs.named_parameters(remove_duplicate=False)])
    assert ([n for n, _ in ours.named_parameters(prefix="m", recurse=False)]
            == [n for n, _ in theirs.named_parameters(prefix="m", recurse=False)])
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.body.parameters(recurse=False))) == 0
    assert len(list(ours.buffers(recurse=False))) == 1


def test_apply_visits_children_first_like_torch():
    ours, theirs = _both(_tree)
    seen_ours, seen_theirs = [], []
    assert ours.apply(lambda m: seen_ours.append(type(m).__name__)) is ours
    theirs.apply(lambda m: seen_theirs.append(type(m).__name__))
    assert seen_ours == seen_theirs
    assert seen_ours[-1] == "Net" and seen_ours[0] == "Linear"


def test_apply_initialises_like_d2l():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))

    def init_constant(module):
        if type(module) == nn.Linear:  # noqa: E721 - d2l's test
            nn.init.constant_(module.weight, 1)
            nn.init.zeros_(module.bias)

    net.apply(init_constant)
    assert np.all(_np(net[0].weight) == 1) and np.all(_np(net[2].bias) == 0)


def test_add_module_register_module_and_their_errors():
    for lib in (nn, torch.nn):
        m = lib.Module()
        m.add_module("block 1", lib.ReLU())
        m.register_module("out", lib.Identity())
        assert [n for n, _ in m.named_children()] == ["block 1", "out"]
        with pytest.raises(KeyError):
            m.add_module("a.b", lib.ReLU())
        with pytest.raises(KeyError):
            m.add_module("", lib.ReLU())
        with pytest.raises(KeyError):
            m.add_module("training", lib.ReLU())  # an existing attribute
        with pytest.raises(TypeError):
            m.add_module("x", 3)
        with pytest.raises(TypeError):
            m.add_module(1, lib.ReLU())


def test_get_submodule_parameter_and_buffer():
    ours, theirs = _both(_tree)
    for model in (ours, theirs):
        assert model.get_submodule("") is model
        assert model.get_submodule("body.conv") is model.body.conv
        assert model.get_submodule("blocks.2") is model.shared
        assert model.get_parameter("heads.cls.bias") is model.heads["cls"].bias
        with pytest.raises(AttributeError, match="no attribute `nope`"):
            model.get_submodule("body.nope")
        with pytest.raises(AttributeError, match="is not an nn.Module"):
            model.get_submodule("body.conv.weight")
        with pytest.raises(AttributeError, match="is not an nn.Parameter"):
            model.get_parameter("body.bn.running_mean")
    assert ours.get_buffer("body.bn.running_mean").shape == (2,)
    with pytest.raises(AttributeError, match="not a buffer"):
        ours.get_buffer("body.bn.weight")


def test_requires_grad_freezes_and_returns_self():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    net[1].requires_grad_()
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True]


def test_zero_grad_keeps_zeroed_arrays_when_asked():
    layer = nn.Linear(2, 2)
    layer(dg.ones(1, 2)).sum().backward()
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is not None and not np.any(_np(layer.weight.grad))
    layer.zero_grad()
    assert layer.weight.grad is None


def test_train_eval_recurse_through_overrides():
    class FrozenBN(nn.BatchNorm1d):
        def train(self, mode=True):
            return super().train(False)  # stays in evaluation mode

    net = nn.Sequential(nn.Linear(2, 2), FrozenBN(2))
    net.train()
    assert net.training and net[0].training and not net[1].training
    with pytest.raises(ValueError, match="True or False"):
        net.train("yes")


# -- to(), float(), double() ---------------------------------------------------------------

def test_to_dtype_casts_floating_parameters_buffers_and_grads_in_place():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    net(dg.randn(5, 3)).sum().backward()
    weight = net[0].weight
    assert net.double() is net
    assert net[0].weight is weight  # the same Parameter: optimizers keep it
    assert weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64  # counters are not cast
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to("cpu", dg.float64)
    assert weight.dtype == np.float64
    net.to(dtype=dg.float32)
    assert weight.dtype == np.float32
    net.to(dg.zeros(1, dtype=dg.float64))  # a tensor's device and dtype
    assert weight.dtype == np.float64
    net.to("cpu")
    net.to(dg.device("cpu"))
    assert weight.dtype == np.float64
    with pytest.raises(TypeError, match="floating point"):
        net.to(dg.int64)
    with pytest.raises((ValueError, RuntimeError)):
        net.to("tpu")


def test_double_model_matches_torch_double_model():
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 2)).double()
    ours.load_state_dict(theirs.state_dict())  # torch tensors are accepted as they are
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_allclose(_np(ours(dg.tensor(x))), _np(theirs(torch.from_numpy(x))),
                               rtol=1e-12)


# -- repr ----------------------------------------------------------------------------------

def _lenet(lib):
    return lib.Sequential(
        lib.Conv2d(1, 6, kernel_size=5, padding=2), lib.Sigmoid(),
        lib.AvgPool2d(kernel_size=2, stride=2),
        lib.Conv2d(6, 16, kernel_size=5), lib.BatchNorm2d(16), lib.ReLU(inplace=True),
        lib.MaxPool2d(kernel_size=3, stride=2, padding=1), lib.Flatten(),
        lib.Linear(16 * 4 * 4, 120), lib.Dropout(0.5), lib.LeakyReLU(0.2),
        lib.Linear(120, 10, bias=False), lib.Softmax(dim=1), lib.Identity())


@pytest.mark.parametrize("build", [_tree, _lenet])
def test_repr_matches_torch(build):
    ours, theirs = _both(build)
    assert repr(ours) == repr(theirs)


def test_repr_of_containers_matches_torch():
    def containers(lib):
        seq = lib.Sequential(lib.Linear(2, 2), lib.ReLU())
        return lib.ModuleList([lib.Linear(2, 2), lib.Linear(2, 2), lib.Linear(2, 2), seq,
                               lib.ReLU(), lib.ReLU()])

    ours, theirs = _both(containers)
    assert repr(ours) == repr(theirs)  # runs compressed: "(0-2): 3 x Linear(...)"
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())

    class WithSettings(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def extra_repr(self):
            return "alpha=1"

    assert repr(WithSettings()) == ("WithSettings(\n  alpha=1\n  (fc): Linear(in_features=1, "
                                    "out_features=1, bias=True)\n)")


# -- containers -----------------------------------------------------------------------------

def test_module_list_operations_match_torch():
    def ops(lib):
        layers = lib.ModuleList([lib.Linear(1, 2)])
        layers.append(lib.Linear(2, 3))
        layers.extend([lib.Linear(3, 4), lib.Linear(4, 5)])
        layers.insert(1, lib.Linear(9, 9))
        layers += [lib.Linear(5, 6)]
        del layers[2]
        layers[-1] = lib.Linear(5, 7)
        return layers

    ours, theirs = _both(ops)
    assert len(ours) == len(theirs) == 5
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [m.out_features for m in ours] == [m.out_features for m in theirs]
    assert ours[-2] is ours[3]
    assert [m.out_features for m in ours[1:4]] == [m.out_features for m in theirs[1:4]]
    assert isinstance(ours[1:4], nn.ModuleList)
    assert ours.pop(0).out_features == theirs.pop(0).out_features
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with pytest.raises(IndexError):
        ours[10]
    with pytest.raises(NotImplementedError):
        ours(dg.ones(1))


def test_module_dict_operations_match_torch():
    def ops(lib):
        d = lib.ModuleDict({"a": lib.Linear(1, 1)})
        d["b"] = lib.ReLU()
        d.update([("c", lib.Linear(1, 2)), ("a", lib.Linear(1, 3))])  # "a" keeps its place
        del d["b"]
        return d

    ours, theirs = _both(ops)
    assert list(ours.keys()) == list(theirs.keys()) == ["a", "c"]
    assert list(ours) == list(theirs)
    assert "c" in ours and "b" not in ours and len(ours) == 2
    assert ours["a"].out_features == 3
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert ours.pop("a").out_features == 3 and list(ours) == ["c"]
    ours.clear()
    assert len(ours) == 0


def test_sequential_ordered_dict_slicing_append_insert_delete_match_torch():
    def ops(lib):
        net = lib.Sequential(OrderedDict([("fc", lib.Linear(2, 3)), ("act", lib.ReLU()),
                                          ("out", lib.Linear(3, 1))]))
        return net, net[1:], net[::2]

    (ours, *our_slices), (theirs, *their_slices) = _both(ops)
    for a, b in zip(our_slices, their_slices):
        assert list(a.state_dict()) == list(b.state_dict())  # the names are kept
        assert repr(a) == repr(b)
    assert ours[-1] is ours.out

    def numbered(lib):
        net = lib.Sequential(lib.Linear(1, 2), lib.ReLU())
        net.append(lib.Linear(2, 3))
        net.insert(1, lib.Tanh())
        net.extend([lib.Sigmoid()])
        del net[0]
        net[0] = lib.Linear(2, 2)
        return net

    ours, theirs = _both(numbered)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(ours + nn.Sequential(nn.ReLU())) == len(ours) + 1


def test_parameter_list_and_dict_register_like_torch():
    def build(lib):
        m = lib.Module()
        m.plist = lib.ParameterList([lib.Parameter(dg.zeros(2) if lib is nn else
                                                   torch.zeros(2))])
        m.plist.append(dg.ones(3) if lib is nn else torch.ones(3))  # wrapped
        m.pdict = lib.ParameterDict({"w": dg.ones(2, 2) if lib is nn else torch.ones(2, 2)})
        return m

    ours, theirs = _both(build)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert isinstance(ours.plist[1], nn.Parameter) and ours.plist[1].requires_grad
    assert len(ours.plist) == 2 and len(ours.pdict) == 1 and "w" in ours.pdict
    assert repr(ours) == repr(theirs).replace("torch.", "deepgrad.")
    assert [p.shape for p in ours.plist] == [(2,), (3,)]
    assert [p.shape for p in ours.plist[1:]] == [(3,)]


def test_identity_takes_any_arguments():
    x = dg.ones(2)
    assert nn.Identity(54, unused_argument1=0.1)(x) is x


# -- lazy layers ----------------------------------------------------------------------------

def _d2l_mlp(lib):
    return lib.Sequential(lib.LazyLinear(8), lib.ReLU(), lib.LazyLinear(3))


def test_lazy_linear_materialises_on_first_forward_like_torch():
    ours, theirs = _both(_d2l_mlp)
    assert repr(ours) == repr(theirs)  # LazyLinear(in_features=0, ...)
    assert repr(ours[0].weight) == repr(theirs[0].weight) == "<UninitializedParameter>"
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    assert ours(dg.tensor(x)).shape == (2, 3)
    theirs(torch.from_numpy(x))
    assert repr(ours) == repr(theirs)
    assert type(ours[0]) is nn.Linear and type(ours[2]) is nn.Linear
    assert ours[0].weight.shape == (8, 5) and ours[0].in_features == 5
    assert type(ours[0].weight) is nn.Parameter
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    np.testing.assert_allclose(_np(ours(dg.tensor(x))), _np(theirs(torch.from_numpy(x))),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lazy, eager, x_shape", [
    (lambda: nn.LazyLinear(6), lambda: nn.Linear(4, 6), (3, 4)),
    (lambda: nn.LazyLinear(6, bias=False), lambda: nn.Linear(4, 6, bias=False), (2, 5, 4)),
    (lambda: nn.LazyConv2d(4, kernel_size=3, padding=1, groups=2),
     lambda: nn.Conv2d(6, 4, kernel_size=3, padding=1, groups=2), (2, 6, 5, 5)),
    (lambda: nn.LazyConv2d(3, 2, stride=2, bias=False),
     lambda: nn.Conv2d(2, 3, 2, stride=2, bias=False), (1, 2, 4, 4)),
    (lambda: nn.LazyBatchNorm1d(), lambda: nn.BatchNorm1d(4), (5, 4)),
    (lambda: nn.LazyBatchNorm1d(momentum=None, affine=False),
     lambda: nn.BatchNorm1d(4, momentum=None, affine=False), (5, 4, 3)),
    (lambda: nn.LazyBatchNorm2d(eps=1e-3, bias=False),
     lambda: nn.BatchNorm2d(3, eps=1e-3, bias=False), (2, 3, 2, 2)),
    (lambda: nn.LazyBatchNorm2d(track_running_stats=False),
     lambda: nn.BatchNorm2d(3, track_running_stats=False), (2, 3, 2, 2)),
])
def test_lazy_layers_initialise_exactly_as_their_eager_counterparts(lazy, eager, x_shape):
    x = dg.tensor(np.random.default_rng(1).standard_normal(x_shape).astype(np.float32))
    dg.manual_seed(7)
    ref = eager()
    dg.manual_seed(7)
    layer = lazy()
    out = layer(x)
    assert type(layer) is type(ref) and repr(layer) == repr(ref)
    ours, theirs = layer.state_dict(), ref.state_dict()
    assert list(ours) == list(theirs)
    ref_out = ref(x)  # one batch in each, so the running statistics are comparable
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    np.testing.assert_array_equal(_np(out), _np(ref_out))


def test_lazy_batch_norm_matches_torch_after_a_batch():
    x = np.random.default_rng(0).standard_normal((6, 3, 4, 4)).astype(np.float32)
    ours, theirs = nn.LazyBatchNorm2d(), torch.nn.LazyBatchNorm2d()
    assert repr(ours) == repr(theirs)
    np.testing.assert_allclose(_np(ours(dg.tensor(x))), _np(theirs(torch.from_numpy(x))),
                               rtol=1e-5, atol=1e-5)
    assert repr(ours) == repr(theirs)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=key)


def test_d2l_lazy_convnet_then_apply_init_and_torch_weights():
    def lenet(lib):
        return lib.Sequential(
            lib.LazyConv2d(6, kernel_size=5, padding=2), lib.Sigmoid(),
            lib.AvgPool2d(kernel_size=2, stride=2), lib.LazyConv2d(16, kernel_size=5),
            lib.LazyBatchNorm2d(), lib.Sigmoid(), lib.AvgPool2d(kernel_size=2, stride=2),
            lib.Flatten(), lib.LazyLinear(120), lib.LazyBatchNorm1d(), lib.Sigmoid(),
            lib.LazyLinear(10))

    ours, theirs = _both(lenet)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    ours(dg.tensor(x))
    theirs(torch.from_numpy(x))
    visited = []

    def init_cnn(module):  # d2l's
        if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
            visited.append(type(module).__name__)
            nn.init.xavier_uniform_(module.weight)

    ours.apply(init_cnn)
    assert visited == ["Conv2d", "Conv2d", "Linear", "Linear"]
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(_np(ours(dg.tensor(x))), _np(theirs(torch.from_numpy(x))),
                               rtol=1e-4, atol=1e-5)


def test_optimizer_built_before_the_first_forward_trains_the_materialised_parameters():
    net = _d2l_mlp(nn)
    params = list(net.parameters())
    assert all(isinstance(p, nn.UninitializedParameter) for p in params)
    opt = dg.optim.SGD(net.parameters(), lr=0.5)
    x = dg.randn(4, 5)
    loss = net(x).sum()
    assert all(a is b for a, b in zip(net.parameters(), params))  # the same objects
    assert not any(isinstance(p, nn.UninitializedParameter) for p in params)
    before = [_np(p).copy() for p in params]
    loss.backward()
    opt.step()
    for p, b in zip(params, before):
        np.testing.assert_allclose(_np(p), b - 0.5 * _np(p.grad), rtol=1e-6)


def test_uninitialised_lazy_layers_refuse_state_dict_counting_and_init():
    net = _d2l_mlp(nn)
    with pytest.raises(RuntimeError, match=r"lazy layer '0'.*net\(X\)"):
        net.state_dict()
    with pytest.raises(RuntimeError, match="lazy layer"):
        net.num_parameters()
    with pytest.raises(ValueError, match="lazy layer"):
        nn.init.normal_(net[0].weight)
    with pytest.raises(ValueError, match=r"LazyConv2d.*4-D"):
        nn.LazyConv2d(2, 3)(dg.ones(2, 3))
    with pytest.raises(ValueError, match="LazyLinear: out_features"):
        nn.LazyLinear(0)
    conv = nn.LazyConv2d(4, 1, groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        conv(dg.ones(1, 3, 2, 2))
    assert isinstance(conv, nn.LazyConv2d)  # a failed first call leaves it lazy
    assert conv(dg.ones(1, 4, 2, 2)).shape == (1, 4, 2, 2)


def test_lazy_layers_take_their_shapes_from_load_state_dict():
    dg.manual_seed(0)
    trained = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(),
                            nn.Linear(16, 2))
    fresh = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.Flatten(),
                          nn.LazyLinear(2))
    result = fresh.load_state_dict(trained.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert repr(fresh) == repr(trained)
    x = dg.randn(2, 3, 4, 4)
    np.testing.assert_array_equal(_np(fresh.eval()(x)), _np(trained.eval()(x)))
    # and from a torch model, straight from its state dict
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 2))
    ours = _d2l_mlp(nn)
    with pytest.raises(RuntimeError, match="shape"):
        ours.load_state_dict({"0.weight": np.zeros((8, 3)), "0.bias": np.zeros(7),
                              "2.weight": np.zeros((3, 8)), "2.bias": np.zeros(3)})
    ours = nn.Sequential(nn.LazyLinear(5), nn.ReLU(), nn.LazyLinear(2))
    ours.load_state_dict(theirs.state_dict())
    xn = np.ones((1, 3), dtype=np.float32)
    np.testing.assert_allclose(_np(ours(dg.tensor(xn))), _np(theirs(torch.from_numpy(xn))),
                               rtol=1e-6)


def test_lazy_layers_keep_dtype_from_to_and_share_when_tied():
    net = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d()).double()
    net(dg.randn(4, 2, dtype=dg.float64))
    assert net[0].weight.dtype == np.float64 and net[1].running_var.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64
    shared = nn.LazyLinear(4)  # d2l's tied parameters
    tied = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), shared, nn.ReLU(), shared)
    tied(dg.randn(2, 3))
    assert tied[2].weight is tied[4].weight
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias",
                                       "4.weight", "4.bias"]


# -- load_state_dict ------------------------------------------------------------------------

def test_load_state_dict_strict_and_result_like_torch():
    ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    state = {k: v for k, v in theirs.state_dict().items() if k != "1.bias"}
    state["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match=r"missing keys: 1\.bias.*unexpected keys: extra"):
        ours.load_state_dict(state)
    with pytest.raises(ValueError):  # deepgrad's own error kind too
        ours.load_state_dict(state)
    result = ours.load_state_dict(state, strict=False)
    expected = theirs.load_state_dict(state, strict=False)
    assert result.missing_keys == expected.missing_keys == ["1.bias"]
    assert result.unexpected_keys == expected.unexpected_keys == ["extra"]
    missing, unexpected = result
    assert (missing, unexpected) == (["1.bias"], ["extra"])
    full = ours.load_state_dict(ours.state_dict())
    assert repr(full) == repr(theirs.load_state_dict(theirs.state_dict()))


def test_load_state_dict_accepts_deepgrad_tensors_arrays_and_assign():
    layer = nn.Linear(2, 2)
    weight = layer.weight
    layer.load_state_dict({"weight": dg.ones(2, 2), "bias": np.zeros(2)})
    assert layer.weight is weight and np.all(_np(weight) == 1)
    new = np.full((2, 2), 3.0)
    layer.load_state_dict({"weight": new, "bias": np.zeros(2)}, assign=True)
    assert layer.weight is weight and weight.dtype == np.float64  # the given array kept
    with pytest.raises(TypeError, match="'bias'"):
        layer.load_state_dict({"weight": new, "bias": "zero"})


def test_state_dict_keep_vars_prefix_and_destination():
    layer = nn.Linear(2, 2)
    state = layer.state_dict(keep_vars=True)
    assert state["weight"] is layer.weight
    dest = OrderedDict()
    assert layer.state_dict(destination=dest, prefix="fc.") is dest
    assert list(dest) == list(torch.nn.Linear(2, 2).state_dict(prefix="fc."))


def test_layers_take_device_and_batch_norm_bias_like_torch():
    assert nn.Linear(2, 3, device="cpu").weight.device == "cpu"
    assert nn.Conv2d(1, 2, 3, device=dg.device("cpu")).weight.shape == (2, 1, 3, 3)
    ours, theirs = nn.BatchNorm1d(3, bias=False), torch.nn.BatchNorm1d(3, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(_np(ours(dg.tensor(x))), _np(theirs(torch.from_numpy(x))),
                               rtol=1e-5, atol=1e-6)
    relu = nn.ReLU(inplace=True)
    assert repr(relu) == repr(torch.nn.ReLU(inplace=True))
    np.testing.assert_array_equal(_np(relu(dg.tensor([-1.0, 2.0]))), [0.0, 2.0])


def test_d2l_concise_linear_regression_runs_as_in_torch():
    # d2l 3.5 touches .data of a LazyLinear's placeholders before the first forward: in
    # PyTorch that writes into an empty tensor, and the first forward then initialises.
    for lib, make in ((nn, dg.rand), (torch.nn, torch.rand)):
        net = lib.LazyLinear(1)
        net.weight.data.normal_(0, 0.01)
        net.bias.data.fill_(0)
        assert net(make(4, 3)).shape == (4, 1)
        assert tuple(net.weight.shape) == (1, 3) and type(net) is lib.Linear
