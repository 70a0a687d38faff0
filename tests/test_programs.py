"""Conformance suite: PyTorch-style programs run on torch and on deepgrad.

Each program in ``tests/programs/`` is written once against PyTorch's API and takes the
framework module as its first argument. It runs twice from the same initial weights and
batches (``programs._shared.Shared``), once with ``torch`` and once with ``deepgrad``,
and the two results are compared: float32 programs to float32 round-off after a few
steps, float64 ones tighter. A program that exposes a gap in deepgrad is marked
``xfail(strict=True)`` with the gap as its reason, so it fails again once the gap is
closed and the mark has to go.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import deepgrad  # noqa: E402

from programs import (blitz, d2l, idioms, learning_with_examples as lwe, micrograd,  # noqa: E402
                      mnist, nn_tutorial, quickstart, recipes)
from programs._shared import Shared, compare, to_numpy  # noqa: E402

# d2l converts losses with float(l.sum()) while they still require grad; torch warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Converting a tensor with requires_grad=True to a scalar:UserWarning")

F32 = dict(rtol=1e-4, atol=1e-5)
F64 = dict(rtol=1e-9, atol=1e-12)


def run_both(program, tmp_path=None, seed=0, **kwargs):
    """Run ``program`` with torch, then with deepgrad, from the same shared values."""
    results = []
    for name, module in (("torch", torch), ("deepgrad", deepgrad)):
        torch.manual_seed(seed)
        deepgrad.manual_seed(seed)
        if tmp_path is not None:
            kwargs["tmpdir"] = tmp_path / name
            kwargs["tmpdir"].mkdir()
        results.append(to_numpy(program(module, Shared(seed), **kwargs)))
    return results


def check(program, tol=F32, tmp_path=None, **kwargs):
    ref, got = run_both(program, tmp_path=tmp_path, **kwargs)
    compare(ref, got, **tol)
    return ref, got


def gap(reason):
    """A known deepgrad gap: the test must fail until it is fixed."""
    return pytest.mark.xfail(strict=True, reason=reason)


def case(program, gap_reason=None, slow=False, **kwargs):
    marks = []
    if gap_reason:
        marks.append(gap(gap_reason))
    if slow:
        marks.append(pytest.mark.slow)
    label = program.__name__ + "".join(f"-{k}={v}" for k, v in kwargs.items())
    return pytest.param(program, kwargs, id=f"{program.__module__.split('.')[-1]}.{label}",
                        marks=marks)


# Gaps found by these programs (each reason names the idiom and deepgrad's answer).
DTYPE_STR = "str(tensor.dtype) is 'float32', torch prints 'torch.float32' (dtypes are NumPy dtypes)"

PROGRAMS = [
    # Learning PyTorch with Examples, in float32 (the tutorial's dtype) and float64.
    *[case(getattr(lwe, name), precision=precision)
      for name in ("polynomial_tensor", "polynomial_autograd", "polynomial_nn",
                   "polynomial_optim", "polynomial_module", "dynamic_net",
                   "polynomial_custom_function", "two_layer_relu_function")
      for precision in ("float", "double")],
    # The 60-minute blitz.
    case(blitz.tensor_basics),
    case(blitz.out_arguments),
    case(blitz.printing, DTYPE_STR),
    case(blitz.numpy_bridge),
    case(blitz.autograd_basics),
    case(blitz.neural_networks),
    case(blitz.neural_networks_view),
    case(blitz.cifar_classifier),
    # The quickstart and the DataLoader behaviour it relies on.
    case(quickstart.quickstart),
    case(quickstart.dataloader_semantics),
    # pytorch/examples mnist/main.py (dropout off: the two frameworks draw different masks).
    case(mnist.mnist, dropout=(0.0, 0.0)),
    # micrograd's tests and demo.
    case(micrograd.sanity_check),
    case(micrograd.more_ops),
    case(micrograd.more_ops_in_place),
    case(micrograd.unary_tensor_fns),
    case(micrograd.reused_nodes),
    case(micrograd.moons_mlp),
    # d2l.ai.
    case(d2l.linear_regression_scratch),
    case(d2l.linear_regression_concise),
    case(d2l.softmax_regression_scratch),
    case(d2l.mlp_scratch),
    case(d2l.mlp_scratch_new),
    case(d2l.dropout_scratch),
    case(d2l.dropout_scratch, dropout1=0.0, dropout2=0.0),
    case(d2l.dropout_concise),
    case(d2l.lenet),
    case(d2l.batch_norm_scratch),
    case(d2l.batch_norm_concise),
    case(d2l.lazy_lenet),
    case(d2l.lazy_lenet, bn=False),
    case(d2l.residual),
    case(d2l.builders_guide),
    # "What is torch.nn really?"
    case(nn_tutorial.from_scratch),
    case(nn_tutorial.refactored),
    case(nn_tutorial.cnn),
    # More tutorial flows.
    case(recipes.dataset_transforms),
    case(recipes.general_checkpoint),
    case(recipes.transfer_learning),
    case(recipes.grad_modes),
    case(recipes.saving_loading_models),
    # One idiom each.
    case(idioms.factory_size_keyword),
    case(idioms.out_keyword),
    case(idioms.dtype_str, DTYPE_STR),
    case(idioms.scatter_one_hot),
    case(idioms.one_hot),
    case(idioms.cross_entropy_probabilities),
    case(idioms.set_grad_enabled),
    case(idioms.inference_mode),
    case(idioms.isfinite),
    case(idioms.allclose_equal),
    case(idioms.autograd_grad, "torch.autograd.grad(y, x, create_graph=True): "
         "NotImplementedError, deepgrad does not record the backward pass (no gradients of "
         "gradients)"),
    case(idioms.in_place_reuse),
    case(idioms.in_place_multiply_reuse),
    case(idioms.in_place_after_scalar_multiply),
    case(idioms.state_dict_entry_size),
    case(idioms.state_dict_entry_data),
    case(idioms.view_after_conv),
    case(idioms.legacy_tensor_types),
    case(idioms.seeding),
]


@pytest.mark.parametrize("program, kwargs", PROGRAMS)
def test_program(program, kwargs, tmp_path):
    tol = F64 if kwargs.get("precision") == "double" else F32
    needs_tmp = "tmpdir" in program.__code__.co_varnames[:program.__code__.co_argcount]
    check(program, tol, tmp_path if needs_tmp else None, **kwargs)


def test_quickstart_writes_deepgrad_format(tmp_path):
    """deepgrad.save writes its own format (safetensors), never a pickle."""
    check(quickstart.quickstart, F32, tmp_path)
    header = (tmp_path / "deepgrad" / "model.pth").read_bytes()[:9]
    assert header[8:9] == b"{", "deepgrad.save should write a safetensors file"
    assert (tmp_path / "torch" / "model.pth").read_bytes()[:2] == b"PK"


def test_torch_pickle_refused_with_advice(tmp_path):
    """A file from torch.save is refused with a message that says how to convert it."""
    path = tmp_path / "model.pth"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(Exception, match="safetensors"):
        deepgrad.load(str(path))


def test_whole_model_save_refused_with_advice(tmp_path):
    """torch.save(model, PATH) pickles the object; deepgrad says to save the state dict."""
    with pytest.raises(TypeError, match="state_dict"):
        deepgrad.save(deepgrad.nn.Linear(2, 2), str(tmp_path / "model.pt"))


@pytest.mark.slow
def test_mnist_with_dropout(tmp_path):
    """The example's dropout rates: the masks differ between frameworks, so compare what
    does not depend on them (the schedule, the shapes, the types of the counts)."""
    ref, got = run_both(mnist.mnist, tmp_path=tmp_path)
    compare(ref["lrs"], got["lrs"], **F32)
    compare(ref["last_lr"], got["last_lr"], **F32)
    assert ref["device"] == got["device"]
    assert [type(c) for _, c in got["test"]] == [int, int]
    assert all(np.isfinite(got["log"]))
    assert {k: v.shape for k, v in got["state"].items()} == \
        {k: v.shape for k, v in ref["state"].items()}


def test_dropout_is_reproducible():
    """The same seed gives the same masks, so the same run, bit for bit."""
    runs = []
    for _ in range(2):
        deepgrad.manual_seed(3)
        runs.append(to_numpy(d2l.dropout_concise(deepgrad, Shared(0))))
    compare(runs[0], runs[1], rtol=0, atol=0)
