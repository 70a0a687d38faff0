"""The lab's experiments by command-line name, in the order of the course; each
published result sits after the claim of the course it measures."""
import importlib

_MODULES = {
    "gd-vs-sgd": "gd_vs_sgd",
    "learning-rate": "learning_rate",
    "momentum": "momentum",
    "momentum-rates": "momentum_rates",
    "optimizers": "optimizers",
    "weight-decay": "weight_decay",
    "dropout": "dropout",
    "dropout-size": "dropout_size",
    "vanishing-gradients": "vanishing",
    "batch-norm": "batch_norm",
    "batch-norm-figure1": "batch_norm_figure1",
    "connectivity": "connectivity",
    "mnist1d": "mnist1d",
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
