"""Loss modules: thin wrappers that hold the reduction."""
from .. import ops
from ..ops.loss import _check_reduction
from .module import Module


class _Loss(Module):
    function = None

    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def forward(self, input, target):
        return type(self).function(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """log_softmax + negative log-likelihood of integer class targets."""
    function = staticmethod(ops.cross_entropy)


class NLLLoss(_Loss):
    function = staticmethod(ops.nll_loss)


class MSELoss(_Loss):
    function = staticmethod(ops.mse_loss)


class BCEWithLogitsLoss(_Loss):
    function = staticmethod(ops.binary_cross_entropy_with_logits)
