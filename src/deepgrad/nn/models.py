"""Ready-made models for the command line, the examples and the lab.

Each builder returns a plain ``Sequential`` so its state-dict keys are the ones the
same ``torch.nn.Sequential`` would have.
"""
from .activation import ReLU, Sigmoid, Tanh
from .container import Sequential
from .linear import Linear

ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}


def mlp(in_features, num_classes, hidden=128, depth=2, activation="relu"):
    """``depth`` hidden layers of width ``hidden``, each Linear then the activation,
    then a Linear to ``num_classes`` outputs (logits)."""
    if not isinstance(depth, int) or depth < 0:
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


MODELS = {"mlp": mlp}
