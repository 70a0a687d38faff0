"""Ready-made models for the command line, the examples and the lab, and parameter
counting from layer specifications.

``MODELS`` maps a name to a builder; every builder takes keyword arguments and returns a
``Sequential`` whose state-dict keys equal those of the same ``torch.nn.Sequential``.

``count_parameters`` answers "how big would this layer be?" from its arguments alone,
so the course's example (a 200x200 image, 40,000 hidden units) costs no memory: a fully
connected layer would need 1.6e9 weights (6.4 GB of float32), a 10x10 locally connected
one 4e6, a convolution with one shared 10x10 filter 100.
"""
from ..checks import check_count
from .activation import ReLU, Sigmoid, Tanh
from .container import Flatten, Sequential
from .conv import Conv2d
from .linear import Linear
from .locally_connected import LocallyConnected2d
from .module import Module
from .pool import MaxPool2d

ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}



def _check_positive(who, **values):
    for name, value in values.items():
        check_count(who, name, value)


def lenet(in_channels=1, num_classes=10, image_size=28):
    """LeNet-5 with ReLU and max pooling::

        conv 5x5 (padding 2) -> 6, relu, maxpool 2 -> conv 5x5 -> 16, relu, maxpool 2
        -> flatten -> 120 -> relu -> 84 -> relu -> num_classes

    For 28x28 inputs the feature map before the classifier is 16x5x5, as in the original
    on 32x32. ``image_size`` must be at least 12 so the second conv fits.
    """
    _check_positive("lenet", in_channels=in_channels, num_classes=num_classes,
                    image_size=image_size)
    side = (image_size // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"lenet: image_size must be at least 12, got {image_size}")
    return Sequential(
        Conv2d(in_channels, 6, 5, padding=2), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(16 * side * side, 120), ReLU(),
        Linear(120, 84), ReLU(),
        Linear(84, num_classes),
    )


def cnn(in_channels=1, num_classes=10, image_size=8, width=16):
    """A small convnet for the 8x8 digits (any size divisible by 4)::

        conv 3x3 (padding 1) -> width, relu, maxpool 2
        -> conv 3x3 (padding 1) -> 2*width, relu, maxpool 2 -> flatten -> num_classes
    """
    _check_positive("cnn", in_channels=in_channels, num_classes=num_classes,
                    image_size=image_size, width=width)
    if image_size % 4:
        raise ValueError(f"cnn: image_size must be divisible by 4, got {image_size}")
    side = image_size // 4
    return Sequential(
        Conv2d(in_channels, width, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(width, 2 * width, 3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(2 * width * side * side, num_classes),
    )


def mlp(in_features, num_classes, hidden=128, depth=2, activation="relu"):
    """``depth`` hidden layers of width ``hidden``, each Linear then the activation,
    then a Linear to ``num_classes`` outputs (logits). Takes flat (N, in_features) input;
    ``depth=0`` is multinomial logistic regression."""
    _check_positive("mlp", in_features=in_features, num_classes=num_classes, hidden=hidden)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"mlp: depth must be a non-negative integer, got {depth!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"mlp: unknown activation {activation!r}; known: "
                         f"{sorted(ACTIVATIONS)}")
    layers, width = [], in_features
    for _ in range(depth):
        layers += [Linear(width, hidden), ACTIVATIONS[activation]()]
        width = hidden
    layers.append(Linear(width, num_classes))
    return Sequential(*layers)


MODELS = {"lenet": lenet, "cnn": cnn, "mlp": mlp}


# -- counting parameters without building anything -------------------------------------

def _linear_count(in_features, out_features, bias=True):
    return in_features * out_features + (out_features if bias else 0)


PARAMETER_COUNTS = {
    "Linear": _linear_count,
    "Conv2d": Conv2d.parameter_count,
    "LocallyConnected2d": LocallyConnected2d.parameter_count,
}


def count_parameters(spec):
    """The number of learnable numbers, without allocating them.

    ``spec`` is a layer specification ``(name, kwargs)`` with name in
    ``PARAMETER_COUNTS`` (``"Linear"``, ``"Conv2d"``, ``"LocallyConnected2d"``) and the
    layer's constructor arguments, e.g.
    ``("Conv2d", dict(in_channels=1, out_channels=1, kernel_size=10, bias=False))``; or a
    list of such pairs (summed); or a built Module (its parameters' sizes).
    """
    if isinstance(spec, Module):
        return spec.num_parameters()
    if isinstance(spec, list):
        return sum(count_parameters(item) for item in spec)
    if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)):
        raise TypeError(f"count_parameters: expected (layer_name, kwargs), a list of them or "
                        f"a Module, got {spec!r}")
    name, kwargs = spec
    if name not in PARAMETER_COUNTS:
        raise ValueError(f"count_parameters: unknown layer {name!r}; known: "
                         f"{sorted(PARAMETER_COUNTS)}")
    try:
        return PARAMETER_COUNTS[name](**kwargs)
    except TypeError as err:
        raise TypeError(f"count_parameters: bad arguments for {name}: {err}") from None
