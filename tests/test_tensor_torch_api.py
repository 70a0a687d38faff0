"""The Tensor behaves as PyTorch's: each check runs the same code on ``torch`` and on
``deepgrad`` and compares, or pins down PyTorch's rule where the two cannot run alike."""
import math

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn

LIBS = pytest.mark.parametrize("lib", [torch, dg], ids=["torch", "deepgrad"])


def same(ours, theirs, rtol=1e-6, atol=1e-7):
    """Equal values, shapes and dtype names."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b, rtol, atol)
        return
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dg.Tensor), type(ours)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype,
                                                                           theirs.dtype)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                                   rtol=rtol, atol=atol)
    else:
        assert ours == theirs or (isinstance(theirs, float) and math.isclose(ours, theirs))


def both(fn, *arrays, grad=False):
    """``fn(lib, *tensors)`` on both frameworks from the same arrays."""
    ours = fn(dg, *[dg.tensor(a, requires_grad=grad) for a in arrays])
    theirs = fn(torch, *[torch.tensor(a, requires_grad=grad) for a in arrays])
    return ours, theirs


X = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 - 1.5


# -- the two silent wrong results of issue 16 ----------------------------------------

@LIBS
def test_in_place_update_under_no_grad_changes_the_parameter(lib):
    model = lib.nn.Linear(3, 2)
    before = model.weight.detach().clone()
    model(lib.ones(4, 3)).sum().backward()
    with lib.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert not lib.equal(model.weight, before) if lib is torch else \
        not np.array_equal(model.weight.data.numpy(), before.numpy())
    np.testing.assert_allclose(model.weight.detach().numpy(),
                               before.numpy() - 0.1 * model.weight.grad.numpy(), rtol=1e-6)


def test_a_name_kept_for_a_tensor_sees_its_in_place_update():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    alias = w
    view = w.data
    with dg.no_grad():
        w -= dg.tensor([0.5, 0.5])
        w.mul_(2)
    assert alias is w
    assert w.tolist() == [1.0, 3.0] and view.tolist() == [1.0, 3.0]


@LIBS
def test_in_place_on_a_leaf_that_requires_grad_is_refused(lib):
    w = lib.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 2.0


@LIBS
def test_in_place_change_of_a_saved_tensor_fails_in_backward(lib):
    x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x.sigmoid()   # backward needs y
    y.mul_(2)         # ... which is changed here
    with pytest.raises(RuntimeError, match="modified by an inplace operation|in-place"):
        y.sum().backward()


@LIBS
def test_in_place_on_a_tensor_in_the_graph_is_differentiated(lib):
    x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x * 3
    y += x ** 2          # y's creator is now the addition; the old y is its input
    y[1] = 10.0          # item assignment cuts that element's gradient
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2 * 0.5, 0.0, 3 + 2 * 2.0])


def test_in_place_rules_against_torch_for_the_ops_that_save_their_input():
    for op in ("exp", "log", "sqrt"):  # deepgrad's exp and sqrt save their output
        ours, theirs = both(lambda lib, a: getattr(a.abs() + 1, op)(), X[0], grad=True)
        same(ours, theirs)


def test_in_place_ops_bump_the_version_of_views_too():
    x = dg.zeros(4)
    v = x.view(2, 2)
    v.add_(1)
    assert x._version == v._version == 1 and x.tolist() == [1.0] * 4
    x[0] = 5
    assert v._version == 2 and v[0, 0].item() == 5


@LIBS
def test_in_place_dtype_and_shape_rules(lib):
    i = lib.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast|cast"):
        i += 1.5
    i += 2
    assert i.tolist() == [3, 4, 5] and i.dtype == lib.int64
    f = lib.zeros(3)
    with pytest.raises(RuntimeError):
        f += lib.ones(2, 3)
    f += lib.ones(1)  # broadcasts into the tensor's own shape
    assert f.tolist() == [1.0, 1.0, 1.0]


@LIBS
def test_max_and_min_with_a_dim_return_values_and_indices(lib):
    outputs = lib.tensor([[0.1, 2.0, 0.3], [5.0, 0.2, 0.1]])  # batch 2: the trap
    _, predicted = lib.max(outputs, 1)
    assert predicted.tolist() == [1, 0]
    values, indices = outputs.min(dim=1, keepdim=True)
    assert values.shape == (2, 1) and indices.tolist() == [[0], [2]]
    assert lib.max(outputs, 1).values.tolist() == [2.0, 5.0]
    assert outputs.max().item() == 5.0 and outputs.max().dim() == 0
    assert lib.max(outputs, lib.full((2, 3), 1.0)).tolist() == [[1.0, 2.0, 1.0],
                                                             [5.0, 1.0, 1.0]]


def test_max_along_a_dim_sends_the_gradient_to_the_returned_index():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])  # ties: torch picks one element
    ours, theirs = both(lambda lib, t: t.max(dim=1).values * lib.tensor([2.0, 3.0],
                        dtype=lib.float64), a, grad=True)
    g = np.ones(2)
    ours.backward(dg.tensor(g)), theirs.backward(torch.tensor(g))
    # PyTorch documents that the index of a tie is not specified; both give the first
    same(ours, theirs)


# -- .grad, .data and conversions ---------------------------------------------------

@LIBS
def test_grad_and_data_are_tensors_that_share_memory(lib):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    assert isinstance(w.grad, lib.Tensor) and isinstance(w.data, lib.Tensor)
    w.data.sub_(0.5 * w.grad)                       # d2l's and the old tutorials' update
    assert w.tolist() == [0.0, 0.0]
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]
    w.grad.data.add_(1)
    assert w.grad.tolist() == [1.0, 1.0]
    w.data = lib.tensor([7.0, 8.0])                 # d2l's moving_mean.data = ...
    assert w.tolist() == [7.0, 8.0] and w.requires_grad
    w.grad = None
    assert w.grad is None


@LIBS
def test_one_element_tensors_convert_like_numbers(lib):
    classes = ("plane", "car", "bird")
    labels = lib.tensor([2, 0])
    assert classes[labels[0]] == "bird"
    assert float(lib.tensor(2.5)) == 2.5 and int(lib.tensor([3])) == 3
    assert (lib.tensor(1) == lib.tensor(1)) and not bool(lib.tensor(0.0))
    assert f"{lib.tensor(0.123456):.3f}" == "0.123"
    with pytest.raises(RuntimeError):
        bool(lib.tensor([1.0, 2.0]))
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        float(lib.ones(2))
    with pytest.raises(TypeError):
        classes[lib.tensor(1.0)]


@LIBS
def test_numpy_interop(lib):
    t = lib.ones(3)
    assert np.asarray(t).sum() == 3.0 and np.mean(np.asarray(t)) == 1.0
    array = np.zeros(3, dtype=np.float32)
    shared = lib.from_numpy(array)
    shared.add_(1)
    assert array.tolist() == [1.0, 1.0, 1.0] and t.numpy().dtype == np.float32
    with pytest.raises(RuntimeError, match="requires grad"):
        lib.ones(2, requires_grad=True).numpy()
    assert lib.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_repr_looks_like_torchs():
    cases = [[1.0, 2.0], [0.1, 2.0], [1e-5, 3.0], [True, False], [1, 2], 3.5,
             [0.1257, -0.1321], [18.0, 4.0], [[1.5, -20.25], [3.0, 4.0]], [1e-5, -3.0],
             [float("inf"), 1.5]]
    for data in cases:
        assert repr(dg.tensor(data)) == repr(torch.tensor(data)), data
    assert repr(dg.ones(2, requires_grad=True)) == repr(torch.ones(2, requires_grad=True))
    assert repr(dg.tensor([1.0], dtype=dg.float64)) == "tensor([1.], dtype=deepgrad.float64)"
    assert "grad_fn=" in repr(dg.ones(2, requires_grad=True) * 2)
    assert repr(dg.zeros(2, 3).shape) == "deepgrad.Size([2, 3])"


# -- the method surface -------------------------------------------------------------

METHODS = {
    "size": lambda lib, a: (a.size(), a.size(0), a.size(-1), a.shape, a.dim(), a.numel()),
    "view": lambda lib, a: a.view(-1, 4) * 1,
    "view_as": lambda lib, a: a.view(6, 4).view_as(a),
    "reshape": lambda lib, a: a.reshape(4, -1),
    "unsqueeze": lambda lib, a: a.unsqueeze(1).unsqueeze(-1),
    "squeeze": lambda lib, a: a[:1].squeeze() + a[:, :1].squeeze(1).sum(),
    "flatten": lambda lib, a: (a.flatten(), a.flatten(1), lib.flatten(a, 0, 1)),
    "permute": lambda lib, a: a.permute(2, 0, 1),
    "transpose": lambda lib, a: (a.transpose(0, 1), a.transpose(-1, 0), a[0].t(), a[0].T),
    "contiguous": lambda lib, a: a.transpose(1, 2).contiguous().view(2, -1),
    "expand": lambda lib, a: a[:, :1].expand(-1, 5, -1) * 1,
    "repeat": lambda lib, a: a[0].repeat(2, 1, 3),
    "pow": lambda lib, a: (a.pow(2), a ** 3, 2 ** a, lib.pow(a, 2)),
    "matmul": lambda lib, a: (a[0].mm(a[1].T), a @ a.transpose(1, 2),
                              a.bmm(a.transpose(1, 2)), a.matmul(a[0, 0]), lib.matmul(a, a[0].T)),
    "clamp": lambda lib, a: (a.clamp(min=-0.5), a.clamp(-1, 1), a.clamp(max=0.2),
                             lib.clamp(a, -0.3, 0.3)),
    "clone": lambda lib, a: a.clone() * 2,
    "compare": lambda lib, a: (a.eq(a[0]), a.ne(0), a.lt(0.1), a.le(0), a.gt(0.5), a.ge(1),
                               a > 0, a == a),
    "argmax": lambda lib, a: (a.argmax(), a.argmax(1), a.argmin(dim=-1, keepdim=True),
                              lib.argmax(a, dim=2)),
    "topk": lambda lib, a: tuple(a.topk(2)) + tuple(a.topk(2, dim=1, largest=False)),
    "sort": lambda lib, a: tuple(a.sort(dim=1)) + tuple(lib.sort(a, descending=True)),
    "math": lambda lib, a: (a.exp(), (a.abs() + 1).log(), (a.abs() + 1).sqrt(), a.sin(),
                            a.cos(), a.tanh(), a.sigmoid(), a.relu(), a.abs(), lib.sin(a),
                            lib.exp(a), lib.maximum(a, a * 0), lib.minimum(a, 0 * a)),
    "reductions": lambda lib, a: (a.sum(), a.sum(0), a.sum(dim=(0, 2)), a.sum(1, keepdim=True),
                                  a.mean((0, 1)), a.mean(dim=-1, keepdim=True),
                                  a.std(), a.var(1), a.std(dim=0, unbiased=False),
                                  lib.sum(a, dim=1), lib.mean(a, 2), a.amax(dim=(1, 2)),
                                  a.norm(), a.logsumexp(dim=1), a.cumsum(dim=2)),
    "softmax": lambda lib, a: (a.softmax(dim=1), a.log_softmax(-1),
                               lib.softmax(a, dim=0), lib.log_softmax(a, 2)),
    "cat": lambda lib, a: (lib.cat([a, a], 0), lib.cat((a, a), dim=2), lib.stack([a, a], 1)),
    "gather": lambda lib, a: a.gather(1, lib.tensor([[[0, 1, 2, 0]], [[2, 2, 1, 0]]])),
    "split": lambda lib, a: a.split(2, dim=2) + a.chunk(3, 1),
    "masked_fill": lambda lib, a: a.masked_fill(a > 0, 0.0),
    "index_select": lambda lib, a: a.index_select(1, lib.tensor([2, 0])),
    "where": lambda lib, a: lib.where(a > 0, a, lib.zeros_like(a)),
}


@pytest.mark.parametrize("name", METHODS)
def test_method_matches_torch(name):
    fn = METHODS[name]
    ours, theirs = both(fn, X, grad=True)
    same(ours, theirs, rtol=1e-5, atol=1e-6)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    pairs = [(o, t) for o, t in zip(ours, theirs)
             if isinstance(t, torch.Tensor) and t.requires_grad]
    if not pairs:
        return
    xd, xt = dg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    outs_d, outs_t = fn(dg, xd), fn(torch, xt)
    outs_d = outs_d if isinstance(outs_d, tuple) else (outs_d,)
    outs_t = outs_t if isinstance(outs_t, tuple) else (outs_t,)
    rng = np.random.default_rng(0)
    total_d = total_t = 0
    for o, t in zip(outs_d, outs_t):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            w = rng.standard_normal(tuple(t.shape)).astype(np.float32)
            total_d = total_d + (o * dg.tensor(w)).sum()
            total_t = total_t + (t * torch.tensor(w)).sum()
    total_d.backward(), total_t.backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)


IN_PLACE = {
    "zero_": lambda lib, t: t.zero_(),
    "fill_": lambda lib, t: t.fill_(2.5),
    "add_": lambda lib, t: t.add_(lib.ones(4), alpha=2),
    "sub_": lambda lib, t: t.sub_(1),
    "mul_": lambda lib, t: t.mul_(t),
    "div_": lambda lib, t: t.div_(4),
    "clamp_": lambda lib, t: t.clamp_(-0.5, 0.5),
    "copy_": lambda lib, t: t.copy_(lib.arange(4.0)),
    "setitem mask": lambda lib, t: t.__setitem__(t < 0, 0) or t,
    "setitem slice": lambda lib, t: t.__setitem__((slice(None), 1), lib.tensor(9.0)) or t,
    "setitem index": lambda lib, t: t.__setitem__(lib.tensor([0, 2]), -1.0) or t,
    "iadd": lambda lib, t: t.__iadd__(1),
    "itruediv": lambda lib, t: t.__itruediv__(2),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_method_matches_torch(name):
    ours, theirs = both(lambda lib, a: IN_PLACE[name](lib, a.clone()), X[0])
    same(ours, theirs)


@LIBS
def test_random_in_place_fills_keep_the_tensor(lib):
    lib.manual_seed(0)
    t = lib.empty(1000)
    assert t.normal_(0, 0.01) is t and abs(float(t.std()) - 0.01) < 0.002
    assert t.uniform_(-1, 1) is t and -1 <= float(t.min()) and float(t.max()) <= 1


# -- factories, dtypes and promotion ------------------------------------------------

FACTORIES = {
    "linspace": lambda lib: lib.linspace(-math.pi, math.pi, 2000),
    "arange": lambda lib: (lib.arange(5), lib.arange(1, 4), lib.arange(0, 1, 0.25),
                           lib.arange(10, dtype=lib.float32)),
    "full": lambda lib: (lib.full((2, 3), 1.5), lib.full((2,), 7), lib.full((1,), True)),
    "zeros": lambda lib: (lib.zeros(2, 3), lib.ones((2, 3)), lib.zeros(size=(4,)),
                          lib.empty(3, 2).zero_(), lib.zeros(2, dtype=lib.long)),
    "like": lambda lib: (lib.zeros_like(lib.ones(2, 3)), lib.ones_like(lib.tensor([1, 2])),
                         lib.full_like(lib.ones(2), 3.0), lib.empty_like(lib.ones(3)).fill_(1)),
    "eye": lambda lib: (lib.eye(3), lib.eye(2, 3)),
    "tensor": lambda lib: (lib.tensor([1, 2]), lib.tensor([1.0, 2]), lib.tensor(True),
                           lib.tensor([[1, 2]], dtype=lib.float64), lib.Tensor([1, 2]),
                           lib.Tensor(2, 3).zero_(), lib.as_tensor([1.5])),
    "casts": lambda lib: tuple(getattr(lib.tensor([1.7, -2.2]), m)() for m in
                               ("float", "double", "long", "int", "bool")) + (
        lib.tensor([1, 2]).to(lib.float32), lib.ones(2).type(lib.int64),
        lib.ones(2).to("cpu", lib.float64)),
    "promotion": lambda lib: (
        lib.ones(2) ** lib.tensor([2, 3]), lib.ones(2) * lib.tensor([2, 3]),
        lib.tensor([1, 2]) / lib.tensor([2, 2]), lib.tensor([1, 2]) * 1.5,
        lib.ones(2) + lib.tensor(1.5, dtype=lib.float64),
        lib.tensor([1, 2]) + lib.tensor(1.5, dtype=lib.float64),
        lib.ones(2) + lib.ones(2, dtype=lib.float64), lib.tensor([True]) + 2,
        lib.tensor([1, 2]).sum(), lib.tensor([True, True]).sum(),
        lib.cat([lib.ones(1), lib.ones(1, dtype=lib.float64)])),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factory_matches_torch(name):
    same(FACTORIES[name](dg), FACTORIES[name](torch))


@LIBS
def test_dtype_names_and_defaults(lib):
    assert lib.float == lib.float32 and lib.double == lib.float64
    assert lib.long == lib.int64 and lib.ones(1).dtype == lib.float32
    assert lib.tensor([1]).dtype == lib.long and lib.tensor([True]).dtype == lib.bool
    lib.set_default_dtype(lib.float64)
    try:
        assert lib.tensor([1.0]).dtype == lib.float64 and lib.zeros(1).dtype == lib.float64
    finally:
        lib.set_default_dtype(lib.float32)
    assert lib.get_default_dtype() == lib.float32


def test_random_factories_are_seeded_and_shaped():
    dg.manual_seed(3)
    a = (dg.rand(2, 3), dg.randn(size=(4,)), dg.randint(0, 10, (5,)), dg.randint(3, (2,)),
         dg.randperm(6), dg.normal(0, 0.01, size=(3, 2)), dg.rand_like(dg.ones(2)))
    dg.manual_seed(3)
    b = (dg.rand(2, 3), dg.randn(size=(4,)), dg.randint(0, 10, (5,)), dg.randint(3, (2,)),
         dg.randperm(6), dg.normal(0, 0.01, size=(3, 2)), dg.rand_like(dg.ones(2)))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    assert a[2].dtype == dg.int64 and sorted(a[4].tolist()) == list(range(6))
    assert a[1].shape == (4,) and 0 <= a[2].min().item() and a[2].max().item() < 10


def test_devices_and_accelerator_lines():
    device = (dg.accelerator.current_accelerator().type if dg.accelerator.is_available()
              else "cpu")
    assert device == "cpu" or dg.cuda.is_available()
    legacy = ("cuda" if dg.cuda.is_available() else "mps" if dg.backends.mps.is_available()
              else "cpu")
    assert dg.ones(2).to(legacy).device.type == legacy
    assert dg.device("cpu") == "cpu" and str(dg.device("cuda", 0)) == "cuda:0"
    assert dg.ones(2).device == dg.device("cpu") and not dg.ones(1).is_cuda


# -- autograd in PyTorch's protocol -------------------------------------------------

def test_custom_function_context_and_graph():
    class Scale(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor, w):
            ctx.factor = factor
            ctx.seen = ctx.needs_input_grad
            ctx.save_for_backward(w)
            return x * factor * w

        @staticmethod
        def backward(ctx, g):
            w, = ctx.saved_tensors
            return g * ctx.factor * w, None, None

    x = dg.ones(3, requires_grad=True)
    w = dg.full((3,), 2.0)
    y = Scale.apply(x, 3.0, w)
    assert y.grad_fn is not None and y.requires_grad
    assert y.grad_fn.needs_input_grad == (True, False, False)
    nodes = [n for n, _ in y.grad_fn.next_functions]
    assert type(nodes[0]).__name__ == "AccumulateGrad" and nodes[0].variable is x
    assert nodes[1] is None and nodes[2] is None
    w.mul_(2)  # saved for backward, then changed: refused as PyTorch does
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_grad_fn_chain_like_torchs():
    a = dg.tensor([1.0], requires_grad=True)
    loss = ((a * 2).exp() + 1).sum()
    chain = []
    node = loss.grad_fn
    while node is not None and hasattr(node, "next_functions") and node.next_functions:
        chain.append(type(node).__name__)
        node = node.next_functions[0][0]
    assert chain == ["Sum", "Add", "Exp", "Mul"] and type(node).__name__ == "AccumulateGrad"


@LIBS
def test_backward_with_a_gradient_for_a_non_scalar(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * 2
    y.backward(lib.tensor([0.1, 1.0, 0.0001]))
    assert [round(v, 6) for v in x.grad.tolist()] == [0.2, 2.0, 0.0002]


def test_unsupported_paths_say_what_to_use():
    x = dg.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="create_graph"):
        (x * x).sum().backward(create_graph=True)
    with pytest.raises(TypeError, match="softmax.*dim"):
        x.softmax()
    with pytest.raises(RuntimeError, match="view.*contiguous"):
        dg.ones(2, 3).t().view(6)
    with pytest.raises(NotImplementedError, match="view"):
        y = x * 1
        y.view(2)[0] = 3.0
    with pytest.raises(TypeError, match="Tensor"):
        x.grad = np.ones(2)

    class TwoOutputs(dg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a, a

    with pytest.raises(NotImplementedError, match="one output"):
        TwoOutputs.apply(x)


# -- the hot path stays on arrays ---------------------------------------------------

def test_optimizers_and_the_engine_keep_arrays_behind_the_tensors():
    model = nn.Linear(3, 2)
    opt = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(dg.ones(4, 3)).sum().backward()
    array = model.weight._data
    opt.step()
    assert model.weight._data is array  # updated in place, as torch.optim does
    assert type(model.weight._grad) is np.ndarray


# -- in-place ops that reuse the old value, and the smaller idioms ------------------

IN_GRAPH = {
    "c += c + 1": lambda lib, a: _iadd_self(a * 1),
    "h *= h + 1": lambda lib, a: _imul_self(a * 1),
    "d * 2 then d += 1": lambda lib, a: _scaled_then_changed(a * 1),
}


def _iadd_self(c):
    c += c + 1
    return c


def _imul_self(h):
    h *= h + 1
    return h


def _scaled_then_changed(d):
    e = d * 2   # Mul needs the constant 2 for d's gradient, not d itself
    d += 1
    return e + d


@pytest.mark.parametrize("name", IN_GRAPH)
def test_in_place_reusing_the_old_value_differentiates_as_torch(name):
    a = np.array([3.0, -0.5])
    xd, xt = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    same(IN_GRAPH[name](dg, xd), IN_GRAPH[name](torch, xt))
    IN_GRAPH[name](dg, xd).sum().backward()
    IN_GRAPH[name](torch, xt).sum().backward()
    same(xd.grad, xt.grad)


def test_view_of_a_layer_output_as_in_the_blitz():
    conv = nn.Conv2d(3, 4, 3)
    y = nn.functional.max_pool2d(conv(dg.randn(2, 3, 8, 8)), 2)
    assert y.view(-1, 4 * 3 * 3).shape == (2, 36)


def test_small_idioms_match_torch():
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]], dtype=np.float32)
    probs = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=np.float32)
    for smoothing in (0.0, 0.1):
        ours, theirs = both(lambda lib, a, p: lib.nn.functional.cross_entropy(
            a, p, label_smoothing=smoothing), x, probs, grad=False)
        same(ours, theirs, rtol=1e-5)
    labels = np.array([2, 0, 1])
    same(dg.nn.functional.one_hot(dg.tensor(labels), 4),
         torch.nn.functional.one_hot(torch.tensor(labels), 4))
    same(dg.zeros(3, 4).scatter_(1, dg.tensor(labels).unsqueeze(1), 1.0),
         torch.zeros(3, 4).scatter_(1, torch.tensor(labels).unsqueeze(1), 1.0))
    for lib in (dg, torch):
        t = lib.tensor([1.0, float("inf"), float("nan")])
        assert lib.isfinite(t).tolist() == [True, False, False]
        assert t.isnan().tolist() == [False, False, True]
        assert lib.allclose(lib.ones(2), lib.ones(2) + 1e-9)
        assert lib.equal(lib.ones(2), lib.ones(2)) and not lib.equal(lib.ones(2), lib.ones(3))
        assert lib.FloatTensor([1, 2]).dtype == lib.float32
        assert lib.LongTensor([1, 2]).dtype == lib.int64
        out = lib.zeros(2, 2)
        assert lib.matmul(lib.ones(2, 3), lib.ones(3, 2), out=out) is out
        assert out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
        with lib.set_grad_enabled(False):
            assert not lib.is_grad_enabled()
        assert lib.is_grad_enabled()
        with lib.inference_mode():
            assert not (lib.ones(1, requires_grad=True) * 2).requires_grad
        lib.cuda.manual_seed_all(0)
        lib.backends.cudnn.deterministic = False


def test_autograd_grad_returns_gradients_without_touching_grad():
    a = np.array([1.0, 2.0])
    results = []
    for lib in (dg, torch):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor([3.0, 1.0], dtype=lib.float64, requires_grad=True)
        h = x * w
        y = (h ** 2).sum()
        results.append(lib.autograd.grad(y, [x, h], retain_graph=True)
                       + lib.autograd.grad([h.sum(), y], x))
        assert x.grad is None and w.grad is None
        with pytest.raises(RuntimeError):
            lib.autograd.grad(y, lib.ones(1, requires_grad=True))
    same(*results)
    with pytest.raises(NotImplementedError, match="create_graph"):
        x = dg.ones(2, requires_grad=True)
        dg.autograd.grad((x * x).sum(), x, create_graph=True)


@LIBS
def test_a_view_of_a_layer_output_shares_its_memory(lib):
    x = lib.nn.Conv2d(1, 2, 3)(lib.ones(1, 1, 5, 5))
    v = x.view(1, -1)
    v.data[0, 0] = 5.0
    assert x.is_contiguous() and x[0, 0, 0, 0].item() == 5.0


@LIBS
def test_legacy_types_and_a_0d_scatter_index(lib):
    t = lib.FloatTensor([1.5, 2.5]).type(lib.LongTensor)
    assert t.tolist() == [1, 2] and isinstance(t, lib.LongTensor)
    assert not isinstance(t, lib.FloatTensor)
    one_hot = lib.zeros(5, dtype=lib.float).scatter_(0, lib.tensor(3), value=1)
    assert one_hot.tolist() == [0.0, 0.0, 0.0, 1.0, 0.0]
