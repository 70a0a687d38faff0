"""Dropout layers: identity in evaluation mode, inverted dropout in training mode."""
from ..ops.dropout import check_probability, dropout, dropout2d
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Masks come from deepgrad's seeded generator: ``dg.manual_seed(s)`` fixes them.
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        check_probability(type(self).__name__, p)
        self.p = float(p)
        self.inplace = bool(inplace)  # accepted for PyTorch code; computed out of place

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p`` (see dropout2d)."""

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Dropout2d(p={self.p}): expected input of shape (N, C, H, W) "
                             f"or (C, H, W), got {tuple(x.shape)}")
        return dropout2d(x, self.p, self.training)
