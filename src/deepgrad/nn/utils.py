"""Gradient clipping, flat parameter vectors and an explicit L2 penalty.

* :func:`clip_grad_norm_` scales all gradients together by
  ``min(1, max_norm / (total_norm + 1e-6))``, where ``total_norm`` is the p-norm of the
  vector of every gradient (PyTorch's formula, 1e-6 included).
* :func:`clip_grad_value_` clamps each gradient element into ``[-clip_value, clip_value]``.
* :func:`l2_penalty` is ``weight_decay / 2 * sum ||p||^2``; its gradient,
  ``weight_decay * p``, is exactly what ``SGD(weight_decay=...)`` adds to the gradient
  (coupled L2 decay), so ``loss + l2_penalty(params, wd)`` with plain SGD takes the same
  steps as ``loss`` with ``SGD(weight_decay=wd)``.
"""
import math
import numbers

from .. import backend, ops
from ..autograd import Tensor, no_grad


def _param_list(parameters, fn):
    if isinstance(parameters, Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return params


def _norm_type(norm_type):
    if isinstance(norm_type, str) and norm_type.lower() == "inf":
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real) \
            or not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be a positive number or 'inf', "
                         f"got {norm_type!r}")
    return float(norm_type)


def get_total_norm(grads, norm_type=2.0):
    """The p-norm of all arrays together (as if concatenated), as a float64 scalar."""
    norm_type = _norm_type(norm_type)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        return max(float(abs(g).max()) if g.size else 0.0 for g in grads)
    total = 0.0
    for g in grads:
        if norm_type == 2.0:
            flat = g.reshape(-1)
            total += float(flat @ flat)  # one BLAS dot per array, no temporary
        else:
            total += float((abs(g) ** norm_type).sum())
    return total ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients in place so their total ``norm_type``-norm is at most
    ``max_norm``; returns the total norm before clipping as a 0-d Tensor.

    The scale is ``min(1, max_norm / (total_norm + 1e-6))`` (PyTorch's formula).
    """
    params = _param_list(parameters, "clip_grad_norm_")
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a non-negative number, got "
                         f"{max_norm!r}")
    grads = [p._grad for p in params if p._grad is not None]
    total = get_total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped; pass "
                           f"error_if_nonfinite=False to scale them anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= g.dtype.type(coef)  # leaf gradients own their memory: scale in place
    dtype = grads[0].dtype if grads else backend.default_dtype
    return Tensor(backend.np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place."""
    params = _param_list(parameters, "clip_grad_value_")
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real) \
            or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a non-negative number, "
                         f"got {clip_value!r}")
    for p in params:
        if p._grad is not None:
            xp = backend.get_array_module(p._grad)
            xp.clip(p._grad, -clip_value, clip_value, out=p._grad)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D Tensor (differentiable)."""
    params = _param_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return ops.concatenate([ops.reshape(p, (-1,)) for p in params], axis=0)


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place.

    In place (rather than PyTorch's re-pointing of ``param.data``) so that optimizers
    and other references keep seeing the same arrays.
    """
    params = _param_list(parameters, "vector_to_parameters")
    array = vec._data if isinstance(vec, Tensor) else vec
    if not hasattr(array, "ndim") or array.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be a 1-D array or Tensor, got "
                         f"{type(vec).__name__} of shape {getattr(array, 'shape', None)}")
    total = sum(p.numel() for p in params)
    if array.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec has {array.shape[0]} elements, the "
                         f"parameters have {total}")
    start = 0
    with no_grad():
        for p in params:
            xp = backend.get_array_module(p._data)
            p._data[...] = xp.asarray(array[start:start + p.numel()]).reshape(p.shape)
            start += p.numel()


def l2_penalty(parameters, weight_decay):
    """``weight_decay / 2 * sum_p ||p||^2`` as a scalar Tensor in the graph.

    Its gradient with respect to each p is ``weight_decay * p``: SGD's coupled decay.
    """
    params = _param_list(parameters, "l2_penalty")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real) \
            or weight_decay < 0:
        raise ValueError(f"l2_penalty: weight_decay must be a non-negative number, got "
                         f"{weight_decay!r}")
    if not params:
        raise ValueError("l2_penalty: got no parameters")
    total = None
    for p in params:
        sq = ops.sum(p * p)
        total = sq if total is None else total + sq
    return total * (weight_decay / 2)
