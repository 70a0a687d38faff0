"""A Chainer-style conformance harness: one declared case checks an op against PyTorch.

A :class:`Case` names the op, says how to draw its inputs, and gives the deepgrad
function and the PyTorch function of those inputs. :func:`check_case` then, for the case:

1. float64: forward and backward (with a random upstream gradient) equal PyTorch's to
   rtol 1e-10; output and gradients keep the input's dtype and shape;
2. float32: the same to rtol 1e-5, and no float64 leaks into outputs or gradients;
3. the input arrays are left unmodified by forward and backward;
4. non-contiguous inputs (strided views and, for 2-D and up, transposed views) give the
   same results as contiguous ones;
5. with only one input requiring grad at a time, that gradient is unchanged (each op's
   ``needs_input_grad`` branches);
6. a float64 central-difference *directional* gradient check: for a random direction
   ``v``, ``(L(x + h v) - L(x - h v)) / 2h`` equals ``sum_i <dL/dx_i, v_i>`` where
   ``L = sum(gy * f(x))``. Samplers keep inputs away from kinks (relu at 0, abs at 0,
   clip at its bounds, ties in max), so a finite step never crosses one.

Inputs are float arrays (differentiable unless listed in ``nondiff``) or integer/bool
arrays (class targets, masks, indices), which are passed to both functions as constants:
to deepgrad as NumPy arrays, to PyTorch as tensors.
"""
from dataclasses import dataclass

import numpy as np
import torch

import deepgrad as dg
from deepgrad.diagnostics import gradcheck

RTOL = {np.float64: 1e-10, np.float32: 1e-5}
ATOL = {np.float64: 1e-12, np.float32: 1e-6}


# -- samplers: each returns a float64 array of the given shape -------------------------

def uniform(low=-1.0, high=1.0):
    def sample(rng, shape):
        return rng.uniform(low, high, size=shape)
    return sample


def away_from(points, low=-2.0, high=2.0, gap=0.05):
    """Uniform in [low, high] but at least ``gap`` from every kink in ``points``."""
    def sample(rng, shape):
        x = rng.uniform(low, high, size=shape)
        for p in points:
            near = np.abs(x - p) < gap
            x = np.where(near, p + np.where(x >= p, gap, -gap) * 2, x)
        return x
    return sample


def distinct(scale=1.0):
    """A shuffled set of well separated values (no ties: max/min pick one element)."""
    def sample(rng, shape):
        n = int(np.prod(shape))
        values = (np.arange(n) - n / 2) * (scale / max(n, 1)) * 4
        values = values + rng.uniform(0, 0.2 * scale / max(n, 1), size=n)
        return rng.permutation(values).reshape(shape)
    return sample


def positive(low=0.5, high=2.0):
    return uniform(low, high)


def integers(high, shape):
    """A constant integer array (class indices) of a fixed shape, independent of dtype."""
    def sample(rng, _shape):
        return rng.integers(0, high, size=shape).astype(np.int64)
    return sample


def constant(array):
    def sample(rng, _shape):
        return np.array(array)
    return sample


@dataclass
class Case:
    """One op under test.

    ``shapes[i]`` and ``samplers[i]`` draw input ``i`` (a sampler may ignore its shape);
    ``fn`` and ``torch_fn`` take the inputs in order. ``nondiff`` lists float inputs
    that are constants (not differentiated); integer and bool inputs always are.
    """
    name: str
    shapes: tuple
    fn: object
    torch_fn: object
    samplers: tuple = None
    nondiff: tuple = ()
    rtol32: float = None
    atol32: float = None
    gradcheck: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.samplers is None:
            self.samplers = (uniform(),) * len(self.shapes)
        elif callable(self.samplers):
            self.samplers = (self.samplers,) * len(self.shapes)
        assert len(self.samplers) == len(self.shapes), self.name

    def __str__(self):
        return self.name


def draw(case):
    rng = np.random.default_rng(case.seed)
    return [np.asarray(s(rng, shape)) for s, shape in zip(case.samplers, case.shapes)]


def _is_diff(case, i, array):
    return array.dtype.kind == "f" and i not in case.nondiff


def _cast(arrays, dtype):
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]


# -- running one side -----------------------------------------------------------------

def run_dg(case, arrays, grad_mask, gy=None):
    """Forward (and backward with ``gy``); returns (output array, [grad or None])."""
    inputs = []
    for a, wants in zip(arrays, grad_mask):
        inputs.append(dg.Tensor(a, requires_grad=True) if wants else
                      (dg.Tensor(a) if a.dtype.kind == "f" else a))
    out = case.fn(*inputs)
    assert isinstance(out, dg.Tensor), f"{case.name}: deepgrad returned {type(out)}"
    grads = [None] * len(arrays)
    if gy is not None and any(grad_mask):
        out.backward(gy)
        grads = [t._grad if wants else None for t, wants in zip(inputs, grad_mask)]
    return out._data, grads


def run_torch(case, arrays, grad_mask, gy=None):
    inputs = []
    for a, wants in zip(arrays, grad_mask):
        t = torch.from_numpy(np.array(a, order="C"))
        inputs.append(t.requires_grad_(True) if wants else t)
    out = case.torch_fn(*inputs)
    grads = [None] * len(arrays)
    if gy is not None and any(grad_mask):
        out.backward(torch.from_numpy(np.array(gy, order="C")))
        grads = [t.grad.numpy() if wants else None for t, wants in zip(inputs, grad_mask)]
    return out.detach().numpy(), grads


def _close(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


# -- the checks -------------------------------------------------------------------------

def check_against_torch(case, dtype):
    """Forward and backward equal PyTorch's at ``dtype``; inputs unmodified; no leaks."""
    arrays = _cast(draw(case), dtype)
    before = [a.copy() for a in arrays]
    mask = [_is_diff(case, i, a) for i, a in enumerate(arrays)]
    out_t, _ = run_torch(case, arrays, mask)
    gy = np.random.default_rng(case.seed + 1).uniform(-1, 1, size=out_t.shape).astype(dtype)
    out, grads = run_dg(case, arrays, mask, gy)
    out_t, grads_t = run_torch(case, arrays, mask, gy)
    rtol = RTOL[dtype] if dtype == np.float64 or case.rtol32 is None else case.rtol32
    atol = ATOL[dtype] if dtype == np.float64 or case.atol32 is None else case.atol32
    where = f"{case.name} [{np.dtype(dtype).name}]"
    assert out.dtype == dtype, f"{where}: output dtype {out.dtype}"
    _close(out, out_t, rtol, atol, f"{where} forward")
    for i, (g, gt) in enumerate(zip(grads, grads_t)):
        if gt is None:
            continue
        assert g is not None, f"{where}: no gradient for input {i}"
        assert g.dtype == dtype, f"{where}: gradient {i} has dtype {g.dtype}"
        assert g.shape == arrays[i].shape, f"{where}: gradient {i} shape {g.shape}"
        _close(g, gt, rtol, atol, f"{where} grad of input {i}")
    for i, (a, b) in enumerate(zip(arrays, before)):
        np.testing.assert_array_equal(a, b, err_msg=f"{where}: input {i} was modified")
    return arrays, gy, out, grads


def _noncontiguous(a, how):
    """The same values as ``a`` in a non-contiguous view (``strided`` or ``transposed``)."""
    if a.ndim == 0:
        return a
    if how == "strided":
        base = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        base[..., ::2] = a
        view = base[..., ::2]
    else:  # transposed: memory in the reversed axis order
        view = np.ascontiguousarray(a.T).T
    assert np.array_equal(view, a)
    return view


def check_noncontiguous(case, how):
    """Non-contiguous views of every input give the contiguous results (float64)."""
    arrays = draw(case)
    mask = [_is_diff(case, i, a) for i, a in enumerate(arrays)]
    out_t, _ = run_torch(case, arrays, mask)
    gy = np.random.default_rng(case.seed + 1).uniform(-1, 1, size=out_t.shape)
    out_t, grads_t = run_torch(case, arrays, mask, gy)
    views = [_noncontiguous(a, how) for a in arrays]
    if how == "transposed" and all(a.ndim < 2 for a in arrays):
        return  # no 2-D input: the strided variant covers it
    before = [v.copy() for v in views]
    out, grads = run_dg(case, views, mask, gy)
    _close(out, out_t, 1e-10, 1e-12, f"{case.name} [{how}] forward")
    for i, (g, gt) in enumerate(zip(grads, grads_t)):
        if gt is not None:
            _close(g, gt, 1e-10, 1e-12, f"{case.name} [{how}] grad of input {i}")
    for i, (v, b) in enumerate(zip(views, before)):
        np.testing.assert_array_equal(v, b, err_msg=f"{case.name}: view {i} was modified")


def check_partial_grads(case):
    """Asking for one input's gradient at a time gives the same gradient."""
    arrays = draw(case)
    mask = [_is_diff(case, i, a) for i, a in enumerate(arrays)]
    if sum(mask) < 2:
        return
    out, _ = run_dg(case, arrays, [False] * len(arrays))
    gy = np.random.default_rng(case.seed + 1).uniform(-1, 1, size=out.shape)
    _, full = run_dg(case, arrays, mask, gy)
    for i in range(len(arrays)):
        if not mask[i]:
            continue
        only = [j == i for j in range(len(arrays))]
        _, grads = run_dg(case, arrays, only, gy)
        _close(grads[i], full[i], 1e-14, 0, f"{case.name}: grad of input {i} alone")


def check_gradient(case):
    """The public gradient checker (float64 central differences, element by element)
    agrees with backward, to 1e-6 relative."""
    arrays = draw(case)
    mask = [_is_diff(case, i, a) for i, a in enumerate(arrays)]
    inputs = [dg.tensor(a, requires_grad=True) if wants else
              (dg.tensor(a) if a.dtype.kind == "f" else a) for a, wants in zip(arrays, mask)]
    assert gradcheck(case.fn, inputs, eps=1e-6, atol=1e-7, rtol=1e-6, seed=case.seed), case.name


def check_case(case):
    check_against_torch(case, np.float64)
    check_against_torch(case, np.float32)
    check_noncontiguous(case, "strided")
    check_noncontiguous(case, "transposed")
    check_partial_grads(case)
    if case.gradcheck:
        check_gradient(case)
