"""``grad(outputs, inputs)``, PyTorch's ``torch.autograd.grad``: the gradients of the
outputs with respect to the given inputs, returned as Tensors, without changing any
``.grad``; the engine's backward walk (``run_backward``) collects them in a
``Captured``. The namespace ``autograd.py`` exports it as ``dg.autograd.grad``.
"""
from . import backend
from .tensor_core import Tensor
from .engine import Captured, run_backward


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """The gradients of ``outputs`` with respect to each of ``inputs``, returned as a
    tuple of Tensors (PyTorch's ``torch.autograd.grad``); no ``.grad`` is changed."""
    if create_graph:
        raise NotImplementedError(
            "autograd.grad(create_graph=True): deepgrad does not record the backward pass, "
            "so there are no gradients of gradients; use a float64 numerical derivative "
            "(deepgrad.diagnostics.gradcheck shows how) where you need them")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs)
    captured = Captured(inputs)
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"autograd.grad: output {i} does not require grad")
        xp = backend.get_array_module(out._data)
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(f"autograd.grad: output {i} has shape "
                                   f"{tuple(out.shape)}; pass grad_outputs for it")
            g = xp.ones_like(out._data)
        else:
            g = xp.array(g._data if isinstance(g, Tensor) else g, dtype=out.dtype, copy=True)
        keep = bool(retain_graph) or i < len(outputs) - 1
        run_backward(out, g, keep, captured)
    results = []
    for i, t in enumerate(inputs):
        found = captured.sums.get(id(t))
        if found is None and not (allow_unused or materialize_grads):
            raise RuntimeError(f"autograd.grad: input {i} was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        if found is None and materialize_grads:
            found = backend.get_array_module(t._data).zeros_like(t._data)
        results.append(None if found is None else Tensor(found))
    return tuple(results)
