"""The autograd engine: graph freeing, accumulation, no_grad, deep graphs, hooks."""
import gc
import weakref

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.autograd import Function


def leaf(shape=(3,), dtype=np.float64):
    return dg.tensor(np.random.default_rng(1).uniform(-1, 1, size=shape).astype(dtype),
                     requires_grad=True)


# -- freeing the graph ---------------------------------------------------------------------

def test_second_backward_through_a_freed_graph_raises():
    x = leaf()
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_and_gradients_accumulate():
    x = leaf()
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    once = x.grad.numpy().copy()
    np.testing.assert_allclose(once, 3 * x.data ** 2, rtol=1e-14)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * once, rtol=1e-14)


def test_gradients_accumulate_over_two_graphs_like_torch():
    data = np.array([0.5, -1.0, 2.0])
    x = dg.tensor(data, requires_grad=True)
    (x * x).sum().backward()
    (x.exp() * 3.0).sum().backward()
    xt = torch.tensor(data, requires_grad=True)
    (xt * xt).sum().backward()
    (xt.exp() * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-14)


def _alive(refs):
    return sum(r() is not None for r in refs)


def test_graph_is_released_after_backward():
    """Intermediate tensors and Functions die (by reference counting) once backward ran."""
    gc.collect()
    gc.disable()  # prove it is reference counting, not the cycle collector, that frees
    try:
        x, w = leaf((4, 3)), leaf((3, 2))
        h = dg.tanh(x @ w)
        z = (h * h).sum(axis=1)
        loss = z.mean()
        tensors = [weakref.ref(t) for t in (h, z)]
        functions = [weakref.ref(t.creator) for t in (h, z)]
        functions.append(weakref.ref(h.creator.inputs[0].creator))  # the matmul
        del h, z
        assert _alive(tensors) == 2 and _alive(functions) == 3  # loss holds the graph
        loss.backward()
        assert _alive(tensors) == 0
        assert _alive(functions) == 0
        assert loss.creator.inputs is None  # the root Function is released too
        assert x.grad is not None and w.grad is not None
    finally:
        gc.enable()


def test_saved_arrays_are_released_after_backward():
    x = leaf((100, 100))
    y = dg.exp(x)
    assert y.creator.saves == ("y",)
    saved = weakref.ref(y.creator.y)
    s = y.sum()
    fn = y.creator
    del y
    s.backward()
    assert fn.inputs is None and not hasattr(fn, "y")  # inputs and saved arrays dropped
    assert saved() is None


def _assigned_attributes(cls):
    """The attributes a Function's methods other than ``__init__`` set on ``self``."""
    import ast
    import inspect
    import textwrap
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    names = set()
    for method in tree.body[0].body:
        if not isinstance(method, ast.FunctionDef) or method.name == "__init__":
            continue
        for node in ast.walk(method):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for e in (target.elts if isinstance(target, ast.Tuple) else [target]):
                        if isinstance(e, ast.Attribute) and getattr(e.value, "id", "") == "self":
                            names.add(e.attr)
    return names


def _all_functions():
    import importlib
    import pkgutil
    for info in pkgutil.walk_packages(dg.__path__, "deepgrad."):
        importlib.import_module(info.name)
    found, todo = [], [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("deepgrad."):
                found.append(sub)
    return found


def test_every_function_declares_what_it_keeps_for_backward():
    """What forward keeps is named in ``saves``, so that release() frees all of it."""
    engine_owned = {"inputs", "input_creators", "needs_input_grad", "generation",
                    "_versions", "_origin", "_hooks"}
    functions = _all_functions()
    assert len(functions) > 40
    undeclared = {cls.__name__: sorted(_assigned_attributes(cls) - set(cls.saves)
                                       - engine_owned)
                  for cls in functions}
    assert {name: attrs for name, attrs in undeclared.items() if attrs} == {}


def test_retain_graph_keeps_the_graph_alive():
    x = leaf()
    h = x * 2.0
    ref = weakref.ref(h)
    y = (h * h).sum()
    del h
    y.backward(retain_graph=True)
    assert ref() is not None
    y.backward()
    assert ref() is None


def test_a_dropped_graph_without_backward_is_freed():
    gc.collect()
    gc.disable()
    try:
        x = leaf()
        y = x
        refs = []
        for _ in range(50):
            y = y * 1.01
            refs.append(weakref.ref(y.creator))
        del y
        assert _alive(refs) == 0
    finally:
        gc.enable()


# -- no_grad --------------------------------------------------------------------------------

def test_no_grad_records_nothing():
    x = leaf()
    with dg.no_grad():
        y = (x * 2.0).exp().sum()
        assert not dg.is_grad_enabled()
    assert dg.is_grad_enabled()
    assert y.creator is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with dg.no_grad():
            1 / 0
    assert dg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = leaf()
    with dg.no_grad():
        with dg.enable_grad():
            y = (x * x).sum()
    assert y.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)


def test_tensors_without_requires_grad_record_nothing():
    a = dg.tensor([1.0, 2.0])
    y = a * 3.0
    assert y.creator is None and not y.requires_grad


def test_detach_cuts_the_graph():
    x = leaf()
    y = (x.detach() * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, x.data)


# -- backward's arguments ---------------------------------------------------------------------

def test_backward_of_a_non_scalar_needs_grad():
    x = leaf((2, 3))
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"grad can be omitted.*\(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))
    g = np.arange(6.0).reshape(2, 3)
    y.backward(g)
    np.testing.assert_allclose(x.grad, 2 * g)


def test_backward_does_not_modify_the_given_grad():
    x = leaf((2, 3))
    g = np.ones((2, 3))
    (x + x).backward(g)
    np.testing.assert_array_equal(g, np.ones((2, 3)))


def test_backward_of_a_single_element_non_scalar():
    x = leaf((1, 1))
    (x * 3.0).backward()
    np.testing.assert_allclose(x.grad, [[3.0]])


def test_backward_on_a_leaf():
    x = leaf((2,))
    x.backward(np.array([1.0, 2.0]))
    np.testing.assert_allclose(x.grad, [1.0, 2.0])


# -- graph shapes -------------------------------------------------------------------------------

def test_deep_chain_does_not_recurse():
    """10,000 ops in a chain: an iterative walk; a recursive one overflows the stack."""
    x = dg.tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 10_000], rtol=1e-9)


def test_deep_chain_can_be_dropped_without_backward():
    x = dg.tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y + 1.0
    del y  # deallocating a deep chain must not overflow either


def test_diamond_gets_the_summed_gradient():
    x = leaf((3,))
    a = x * 2.0          # x -> a -> (b, c) -> d: a is used twice
    b = a.exp()
    c = a * a
    d = (b + c).sum()
    d.backward()
    xt = torch.tensor(x.data.numpy(), requires_grad=True)
    at = xt * 2.0
    (at.exp() + at * at).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-14)


def test_a_tensor_used_as_both_operands():
    x = leaf((3,))
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data, rtol=1e-15)


def test_each_function_runs_backward_once():
    calls = []

    class Counting(Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, g):
            calls.append(1)
            return (g,)

    x = leaf((3,))
    h = Counting()(x)
    y = (h * 2.0 + h * 3.0 + h.exp()).sum()
    y.backward()
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad, 5.0 + np.exp(x.data), rtol=1e-14)


def test_gradients_flow_only_to_inputs_that_require_grad():
    a = leaf((2, 2))
    b = dg.tensor(np.ones((2, 2)))
    (a @ b).sum().backward()
    assert b.grad is None and a.grad is not None


# -- ownership of gradients ------------------------------------------------------------------

def test_leaf_grads_own_their_memory():
    a, b = leaf((2, 3)), leaf((2, 3))
    (a + b).sum().backward()  # Add hands the same array to both leaves
    assert a._grad is not b._grad
    assert a._grad.flags.owndata and b._grad.flags.owndata
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, np.ones((2, 3)))


def test_leaf_grad_is_not_a_view_of_another_array():
    a = leaf((2, 3))
    a.reshape(6).sum().backward()  # reshape's and sum's backward return views
    assert a._grad.flags.owndata and a._grad.flags.writeable
    a.grad += 1
    np.testing.assert_array_equal(a.grad, np.full((2, 3), 2.0))


def test_leaf_grad_keeps_the_leaf_dtype():
    x = dg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    (x * 2.0).sum().backward()
    assert x.grad.dtype == np.float32


# -- hooks ------------------------------------------------------------------------------------

def test_register_hook_on_a_leaf_can_replace_the_gradient():
    x = leaf((3,))
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.copy()) or g * 2)
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(seen[0], np.full(3, 3.0))
    np.testing.assert_allclose(x.grad, np.full(3, 6.0))
    handle.remove()
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 3.0))


def test_register_hook_on_an_intermediate_sees_its_full_gradient():
    x = leaf((3,))
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    (h * 3.0 + h * h).sum().backward()
    assert len(seen) == 1  # called once with the summed gradient
    np.testing.assert_allclose(seen[0], 3.0 + 2 * h.data, rtol=1e-14)


def test_hook_on_an_intermediate_can_replace_the_gradient():
    x = leaf((3,))
    h = x * 2.0
    h.register_hook(lambda g: g * 0.0)
    (h * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(3))


def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf((2, 3))
    h = x.exp()
    h.retain_grad()
    y = (h * h).sum()
    y.backward()
    ht = torch.tensor(x.data.numpy(), requires_grad=True).exp()
    ht.retain_grad()
    (ht * ht).sum().backward()
    np.testing.assert_allclose(h.grad, ht.grad.numpy(), rtol=1e-14)


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        dg.tensor([1.0]).register_hook(lambda g: g)


# -- errors in backward point at the forward ------------------------------------------------

def test_backward_errors_propagate():
    class Broken(Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, g):
            raise ArithmeticError("broken backward")

    x = leaf()
    y = Broken()(x).sum()
    with pytest.raises(ArithmeticError, match="broken backward"):
        y.backward()


def test_wrong_gradient_shape_is_reported():
    class BadShape(Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, g):
            return (g.sum(),)

    x = leaf((3,))
    with pytest.raises(RuntimeError, match=r"gradient of shape \(\).*\(3,\)"):
        BadShape()(x).sum().backward()


def test_retained_grad_owns_its_memory():
    x, y = leaf((3,)), leaf((3,))
    h = x + y
    h.retain_grad()
    h.sum().backward()  # sum's backward gives a read-only broadcast view
    assert h._grad.flags.owndata and h._grad.flags.writeable
    h.grad *= 5
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_numpy_array_on_the_left_defers_to_tensor():
    x = leaf((3,))
    y = np.ones(3) * x + np.ones(3)
    assert isinstance(y, dg.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_a_second_backward_adds_into_grad_in_place_unless_someone_holds_it():
    """As PyTorch's AccumulateGrad: the old gradient is added to in place when nothing
    else refers to it; a tensor the user kept (``g = x.grad``) keeps its values."""
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    first = id(x._grad)
    (x * 3).sum().backward()
    assert id(x._grad) == first and x.grad.tolist() == [6.0, 6.0]
    kept = x.grad
    (x * 3).sum().backward()
    assert kept.tolist() == [6.0, 6.0] and x.grad.tolist() == [9.0, 9.0]
    view = x.grad.numpy()[:1]
    (x * 3).sum().backward()
    assert view.tolist() == [9.0] and x.grad.tolist() == [12.0, 12.0]
    y = x + x  # one leaf, two gradients in one backward
    y.sum().backward()
    assert x.grad.tolist() == [14.0, 14.0]
