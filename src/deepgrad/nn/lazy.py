"""Lazy layers: the input size is read from the first input (PyTorch's ``LazyLinear``,
``LazyConv2d``, ``LazyBatchNorm1d``, ``LazyBatchNorm2d``).

d2l builds its nets as ``nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))``,
calls ``net(X)`` once on a dummy batch, then ``net.apply(init_fn)`` with an ``init_fn``
that tests ``type(m) == nn.Linear``. As in PyTorch:

* until its first forward a lazy layer holds :class:`UninitializedParameter` placeholders
  (``in_features=0`` in its repr); ``parameters()`` lists them, so an optimizer may be
  built before the first batch: the placeholders become the real parameters in place;
* the first forward reads the missing size from the input, allocates, initialises as the
  eager layer does (the same formula and the same draws from the seeded generator), and
  turns the layer into the eager class (``type(layer) is Linear`` afterwards);
* ``load_state_dict`` into a lazy layer takes the shapes from the state dict.

Where PyTorch hands out placeholder values, deepgrad refuses with an error that says to
run the model once: ``state_dict()``, ``num_parameters()`` and the ``nn.init`` functions
on a layer that has not seen an input.
"""
from .. import backend
from ..autograd import Tensor
from ..checks import check_count, check_input
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .linear import Linear
from .module import Module
from .parameter import UninitializedParameter


class LazyModuleMixin:
    """Shape inference on the first call; ``cls_to_become`` is the eager class.

    A subclass implements ``initialize_parameters(input)`` (materialise from an input and
    initialise) and ``_materialize_from_state(state_dict, prefix)`` (materialise from
    saved shapes). Being an instance of this mixin means "not materialised yet": the class
    changes to ``cls_to_become`` when the shapes are known.
    """

    cls_to_become = None
    _lazy_uninitialized = True  # read by Module.state_dict / load_state_dict

    def has_uninitialized_params(self):
        return True  # materialising changes the class, so a lazy instance has some

    def forward(self, *args, **kwargs):
        self.initialize_parameters(*args, **kwargs)
        self._become_eager()
        return self.forward(*args, **kwargs)  # now the eager class's forward

    def _become_eager(self):
        self.__class__ = self.cls_to_become

    def reset_parameters(self):
        """Nothing to reset before the shapes are known (the first forward initialises)."""


def _tensor(who, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(x).__name__}")
    return x


def _shape_of(state, key, ndim):
    """The shape of ``state[key]`` when it is there with ``ndim`` dims, else None."""
    value = state.get(key)
    shape = tuple(getattr(value, "shape", ()))
    return shape if value is not None and len(shape) == ndim else None


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear layer whose ``in_features`` is the last size of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        check_count("LazyLinear", "out_features", out_features)
        self.in_features, self.out_features = 0, out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def initialize_parameters(self, x):
        who = f"LazyLinear(out_features={self.out_features})"
        if _tensor(who, x).ndim == 0:
            raise ValueError(f"{who}: expected input of shape (..., in_features), got ()")
        self._materialize(x.shape[-1])
        Linear.reset_parameters(self)

    def _materialize(self, in_features):
        check_count("LazyLinear", "in_features (the input's last size)", in_features)
        self.in_features = in_features
        self.weight.materialize((self.out_features, in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))

    def _materialize_from_state(self, state, prefix):
        shape = _shape_of(state, prefix + "weight", 2)
        if shape is not None:
            self._materialize(shape[1])
            self._become_eager()


class LazyConv2d(LazyModuleMixin, Conv2d):
    """A Conv2d whose ``in_channels`` is the channel count (axis 1) of its first input."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        Module.__init__(self)
        self._set_options("LazyConv2d", out_channels, kernel_size, stride, padding,
                          dilation, groups, padding_mode)
        self.in_channels = 0
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def initialize_parameters(self, x, **kwargs):
        who = f"LazyConv2d({self.out_channels}, kernel_size={self.kernel_size})"
        check_input(who, _tensor(who, x)._data)
        self._materialize(x.shape[1])
        Conv2d.reset_parameters(self)

    def _materialize(self, in_channels):
        self._set_in_channels("LazyConv2d", in_channels)
        self.weight.materialize((self.out_channels, in_channels // self.groups)
                                + self.kernel_size)
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))

    def _materialize_from_state(self, state, prefix):
        shape = _shape_of(state, prefix + "weight", 4)
        if shape is not None:
            self._materialize(shape[1] * self.groups)
            self._become_eager()


class _LazyBatchNorm(LazyModuleMixin):
    """Batch norm whose ``num_features`` is the channel count (axis 1) of its first input;
    running statistics and affine parameters wait for it, the batch counter does not."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        Module.__init__(self)
        self._set_options(eps, momentum, affine, track_running_stats)
        self.num_features = 0
        xp = backend.array_module_for(device)
        dtype = dtype or backend.default_dtype
        if self.affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            self.register_buffer(name, None)
        if self.track_running_stats:  # placeholders that carry dtype and device
            self.register_buffer("running_mean", xp.empty((0,), dtype=dtype))
            self.register_buffer("running_var", xp.empty((0,), dtype=dtype))
            self.register_buffer("num_batches_tracked", xp.array(0, dtype=xp.int64))

    def initialize_parameters(self, x):
        who = f"{type(self).__name__}()"
        if _tensor(who, x).ndim not in self._ndims:
            raise ValueError(f"{who}: expected input of shape {self._expected_lazy}, got "
                             f"{tuple(x.shape)}")
        self._materialize(x.shape[1])
        self.cls_to_become.reset_parameters(self)

    def _materialize(self, num_features):
        check_count(type(self).__name__, "num_features (the input's size on axis 1)",
                      num_features)
        self.num_features = num_features
        for p in (self.weight, self.bias):
            if p is not None:
                p.materialize((num_features,))
        for name in ("running_mean", "running_var"):
            placeholder = self._buffers[name]
            if placeholder is not None:
                xp = backend.get_array_module(placeholder)
                self._buffers[name] = xp.zeros(num_features, dtype=placeholder.dtype)

    def _materialize_from_state(self, state, prefix):
        for name in ("weight", "bias", "running_mean", "running_var"):
            shape = _shape_of(state, prefix + name, 1)
            if shape is not None:
                self._materialize(shape[0])
                self._become_eager()
                return


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """BatchNorm1d with ``num_features`` from the first input, (N, C) or (N, C, L)."""

    cls_to_become = BatchNorm1d
    _expected_lazy = "(N, C) or (N, C, L)"


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """BatchNorm2d with ``num_features`` from the first input, (N, C, H, W)."""

    cls_to_become = BatchNorm2d
    _expected_lazy = "(N, C, H, W)"
