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


class _WeightedLoss(_Loss):
    """A class-index loss with optional class weights, kept as the buffer ``weight`` (as
    PyTorch does, so it appears in the state dict), and an ``ignore_index``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return type(self).function(input, target, weight=self._buffers["weight"],
                                   ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + negative log-likelihood of integer class targets, with PyTorch's
    ``weight``, ``ignore_index`` and ``label_smoothing`` (see ``ops.loss.CrossEntropy``)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return ops.cross_entropy(input, target, self._buffers["weight"], self.ignore_index,
                                 self.reduction, self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """The negative log-likelihood of class indices under log-probabilities
    (:func:`deepgrad.nn.functional.nll_loss`): ``weight``, ``ignore_index`` and
    ``reduction`` as in PyTorch."""
    function = staticmethod(ops.nll_loss)


class MSELoss(_Loss):
    """The mean squared error ``mean((input - target) ** 2)`` (``reduction='sum'`` or
    ``'none'`` as in PyTorch)."""
    function = staticmethod(ops.mse_loss)


class BCEWithLogitsLoss(_Loss):
    """The binary cross-entropy of ``sigmoid(input)`` against targets in [0, 1],
    computed from the logits stably
    (:func:`deepgrad.nn.functional.binary_cross_entropy_with_logits`)."""
    function = staticmethod(ops.binary_cross_entropy_with_logits)
