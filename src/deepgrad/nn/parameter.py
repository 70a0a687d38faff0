"""Parameter: a Tensor that a Module registers as learnable."""
from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad and is listed by ``Module.parameters()``."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return f"Parameter containing:\n{self.data!r}"
