"""The lab's experiments by command-line name, in the order of the course."""
import importlib

_MODULES = {
    "gd-vs-sgd": "gd_vs_sgd",
    "learning-rate": "learning_rate",
    "momentum": "momentum",
    "optimizers": "optimizers",
    "weight-decay": "weight_decay",
    "dropout": "dropout",
    "vanishing-gradients": "vanishing",
    "batch-norm": "batch_norm",
    "connectivity": "connectivity",
    "linearization": "linearization",
}


NAMES = tuple(_MODULES)


def get(name):
    """The experiment module called ``name`` (imported on first use, so ``--list`` and
    ``import deepgrad.lab`` stay instant)."""
    if name not in _MODULES:
        raise ValueError(f"deepgrad lab: unknown experiment {name!r}; known: "
                         f"{', '.join(_MODULES)}")
    return importlib.import_module(f".{_MODULES[name]}", "deepgrad.lab")
