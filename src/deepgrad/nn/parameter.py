"""Parameter: a Tensor that a Module registers as learnable; UninitializedParameter: the
placeholder a lazy layer holds until its first forward tells it the shape."""
from .. import backend
from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad and is listed by ``Module.parameters()``."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data._data
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __str__(self):
        return self.__repr__()


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (PyTorch's ``UninitializedParameter``).

    It holds an empty placeholder array that carries the dtype and device the parameter
    will have (``module.to(...)`` casts and moves it like any parameter). ``materialize``
    gives it an array of the right shape and turns the object itself into a plain
    ``Parameter``, so an optimizer built on it beforehand updates the real one.
    """

    __slots__ = ()

    def __init__(self, requires_grad=True, device=None, dtype=None):
        xp = backend.array_module_for(device)
        super().__init__(xp.empty((0,), dtype=dtype or backend.default_dtype),
                         requires_grad=requires_grad)

    def materialize(self, shape, device=None, dtype=None):
        """Allocate a zero array of ``shape`` (on the placeholder's device and dtype unless
        given) and become a ``Parameter``; the layer then initialises the values."""
        device = backend.device_of(self._data) if device is None else device
        dtype = self._data.dtype if dtype is None else dtype
        self._data = backend.array_module_for(device).zeros(tuple(shape), dtype=dtype)
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"

    __str__ = __repr__


def is_lazy(param):
    """True for a parameter that a lazy layer has not materialised yet."""
    return isinstance(param, UninitializedParameter)
