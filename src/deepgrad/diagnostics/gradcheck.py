"""The gradient checker for your own ops: ``gradcheck(fn, inputs)`` compares the
gradients that backward computes with float64 central differences::

    numeric_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),   f(x) = <v, fn(x)>

for a fixed random direction ``v`` in output space (one backward pass gives the analytic
``J^T v``; a wrong Jacobian entry shows up for almost every ``v``). An element passes when
``|analytic - numeric| <= atol + rtol * |numeric|``.
"""
import math

import numpy as np

from .. import backend
from ..autograd import Tensor, enable_grad, no_grad

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one."""


def _as_tuple(values):
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def _to_numpy(array):
    return array.get() if hasattr(array, "get") else np.asarray(array)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check ``fn``'s backward against float64 central differences.

    ``fn(*inputs)`` returns a Tensor (or a tuple of Tensors). Every input Tensor with
    ``requires_grad=True`` is checked and must be float64. Each evaluation of ``fn``
    starts from the same state of deepgrad's CPU generator, so ops that draw random
    numbers (dropout) see the same draws every time. Inputs are restored exactly.

    Returns True, or raises :class:`GradcheckError` naming the worst element (the one
    furthest beyond its tolerance); with ``raise_exception=False`` returns False instead.
    """
    inputs = _as_tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; central "
                            f"differences need float64 inputs")
    if not eps > 0:
        raise ValueError(f"gradcheck: eps must be positive, got {eps!r}")
    rng_state = backend.get_rng_state()

    def evaluate():
        backend.set_rng_state(rng_state)
        outputs = _as_tuple(fn(*inputs))
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                raise TypeError(f"gradcheck: fn returned a {type(out).__name__} as output "
                                f"{k}, expected Tensors")
        return outputs

    # Analytic: one backward of <v, fn(x)>, with the inputs' own .grad set aside.
    saved_grads = [inputs[i]._grad for i in checked]
    for i in checked:
        inputs[i]._grad = None
    with enable_grad():
        outputs = evaluate()
    state_after = backend.get_rng_state()
    rng = np.random.default_rng(seed)
    directions = [rng.standard_normal(out.shape) for out in outputs]
    analytic = {}
    try:
        for out, v in zip(outputs, directions):
            if out.requires_grad:
                xp = backend.get_array_module(out._data)
                out.backward(xp.asarray(v, dtype=out.dtype), retain_graph=True)
        for i in checked:
            grad = inputs[i]._grad
            analytic[i] = (np.zeros(inputs[i].shape) if grad is None
                           else _to_numpy(grad).astype(np.float64))
    finally:
        for i, g in zip(checked, saved_grads):
            inputs[i]._grad = g

    def project():
        outs = evaluate()
        return math.fsum(float(np.vdot(_to_numpy(o._data), v)) for o, v in zip(outs, directions))

    # Numeric: central differences, one element at a time.
    try:
        with no_grad():
            for i in checked:
                data = inputs[i]._data
                numeric = np.zeros(data.shape)
                for idx in np.ndindex(*data.shape):
                    original = data[idx].copy()
                    data[idx] = original + eps
                    plus = project()
                    data[idx] = original - eps
                    minus = project()
                    data[idx] = original
                    numeric[idx] = (plus - minus) / (2 * eps)
                failure = _compare(i, analytic[i], numeric, atol, rtol)
                if failure:
                    if raise_exception:
                        raise GradcheckError(failure)
                    return False
    finally:
        backend.set_rng_state(state_after)
    return True


def _compare(index, analytic, numeric, atol, rtol):
    """A message for the worst element beyond tolerance, or None if all pass."""
    diff = np.abs(analytic - numeric)
    tol = atol + rtol * np.abs(numeric)
    bad = ~(diff <= tol)  # also catches NaN
    if not bad.any():
        return None
    excess = np.where(np.isnan(diff), np.inf, diff / tol)
    worst = np.unravel_index(int(np.argmax(excess)), analytic.shape)
    return (f"gradcheck: the gradient of input {index} (shape {tuple(analytic.shape)}) disagrees "
            f"with central differences at index {tuple(int(k) for k in worst)}: analytic "
            f"{float(analytic[worst])!r}, numeric {float(numeric[worst])!r}, |difference| "
            f"{diff[worst]:.3g} > atol + rtol * |numeric| = {tol[worst]:.3g}; "
            f"{int(bad.sum())} of {bad.size} elements are out of tolerance")


# -- gradient-flow monitor ---------------------------------------------------------------

