"""The ``Flatten`` layer: dims ``start_dim`` to ``end_dim`` of its input merged into one
(by default all but the batch axis), which every image-to-vector net needs; the dims
are checked as PyTorch checks them. ``container.py`` re-exports it, where it has always
been found.
"""
from .. import ops
from ..checks import check_dim, check_int_arg, check_tensor
from ..ops.shape import Reshape
from .module import Module


class Flatten(Module):
    """Flatten dims start_dim..end_dim (default: all but the batch axis).

    As in PyTorch, the dims must exist in the input (a 0-d input counts as 1-D) and
    ``start_dim`` must not come after ``end_dim``.
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = check_int_arg("Flatten", "start_dim", start_dim)
        self.end_dim = check_int_arg("Flatten", "end_dim", end_dim)

    def forward(self, x):
        shape = check_tensor("Flatten", x)._data.shape
        if not shape:  # PyTorch flattens a 0-d tensor to shape (1,)
            check_dim("Flatten", self.start_dim, 0, "start_dim")
            check_dim("Flatten", self.end_dim, 0, "end_dim")
            return ops.reshape(x, (1,))
        start = check_dim("Flatten", self.start_dim, len(shape), "start_dim")
        end = check_dim("Flatten", self.end_dim, len(shape), "end_dim")
        if start > end:
            raise ValueError(f"Flatten: start_dim ({self.start_dim}) comes after end_dim "
                             f"({self.end_dim}) for an input of shape {tuple(shape)}")
        size = 1
        for n in shape[start:end + 1]:
            size *= n
        return Reshape(shape[:start] + (size,) + shape[end + 1:])(x)  # a valid shape

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
