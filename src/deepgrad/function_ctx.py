"""Functions written in PyTorch's protocol (static ``forward(ctx, ...)`` and
``backward(ctx, grad)``, run through ``Function.apply``): the node of the graph that
is also their ``ctx``."""
from .function import Function, _versions_of
from .tensor_core import Tensor
from .grad_mode import is_grad_enabled, no_grad


class FunctionCtx(Function):
    """The graph node of a user's Function and the ``ctx`` its forward and backward
    receive: ``save_for_backward``, ``saved_tensors``, ``needs_input_grad``, and any
    attribute the user sets on it."""

    saves = ("saved",)
    saves_inputs = False  # only what save_for_backward names is checked

    def __init__(self, function_class):
        self.function_class = function_class
        self.saved = ()

    @property
    def name(self):
        return self.function_class.__name__

    def __call__(self, *args):
        self.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = self.function_class.forward(self, *args)
        if isinstance(result, (tuple, list)):
            raise NotImplementedError(
                f"{self.name}.forward returned {len(result)} outputs; deepgrad's "
                f"Functions have one output tensor: split it into one Function per output")
        if not isinstance(result, Tensor):
            raise TypeError(f"{self.name}.forward must return a Tensor, got "
                            f"{type(result).__name__}")
        out = Tensor(result._data)
        if is_grad_enabled() and any(self.needs_input_grad):
            self._link(args, self.needs_input_grad, out)
            self._versions = _versions_of(self.saved, None)
        return out

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self.name}: save_for_backward takes tensors (or None), "
                                f"got {type(t).__name__}; keep other values as ctx "
                                f"attributes")
        self.saved = tensors

    @property
    def saved_tensors(self):
        return self.saved

    def mark_non_differentiable(self, *tensors):
        pass  # one output, always differentiable: nothing to record

    def set_materialize_grads(self, value):
        pass  # the one output's gradient is always an array

    def backward(self, grad):
        with no_grad():
            grads = self.function_class.backward(self, Tensor(grad))
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        if len(grads) < len(self.inputs):
            raise RuntimeError(f"{self.name}.backward returned {len(grads)} gradients, "
                               f"forward took {len(self.inputs)} inputs (return None for "
                               f"an input without a gradient)")
        arrays = []
        for i, (x, g) in enumerate(zip(self.inputs, grads)):
            if g is None or not isinstance(x, Tensor) or not x.requires_grad:
                arrays.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"{self.name}.backward: gradient {i} must be a Tensor or "
                                f"None, got {type(g).__name__}")
            if g.shape != x.shape:
                raise RuntimeError(f"{self.name}.backward: gradient {i} has shape "
                                   f"{tuple(g.shape)}, its input has {tuple(x.shape)}")
            arrays.append(g._data)
        return arrays
