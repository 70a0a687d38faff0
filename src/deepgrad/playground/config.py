"""The playground's parameters: one table per view, and the check every request passes.

Each :class:`Field` states a parameter's type, default, range or choices, the group it
belongs to (``data`` and ``model`` changes rebuild the network, ``train`` changes keep its
weights) and, through ``only``, the optimizers or schedules it applies to. The page builds
its controls from these tables (``GET /api/schema``), so they are written once, here.

:func:`check_network` and :func:`check_surface` accept numbers as numbers or as the
strings of a URL, and raise :class:`ConfigError` naming the parameter and the value.
"""
import math
from dataclasses import asdict, dataclass

from .surfaces import SURFACES

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rprop", "adagrad", "rmsprop", "adadelta",
              "adam", "adamw")
DECOUPLED = ("sgd", "momentum", "nesterov", "adam", "adamw")  # offer decoupled decay
MAX_LAYERS = 8
MAX_NEURONS = 32
MAX_SPEED = 1000  # steps per second a run may ask for: the bound on its share of the CPU


class ConfigError(ValueError):
    """A parameter the playground refuses; the message names it and its value."""


@dataclass(frozen=True)
class Field:
    kind: str  # "int", "float", "bool", "choice" or "list" (of choices)
    default: object
    label: str
    group: str
    low: float = None
    high: float = None
    low_open: bool = False  # low itself is refused (a learning rate of 0)
    choices: tuple = ()
    only: tuple = ()  # the optimizers (or schedules) it applies to; () for all
    only_key: str = ""  # which parameter ``only`` refers to


def _f(kind, default, label, group, **kw):
    return Field(kind, default, label, group, **kw)


NETWORK = {
    "dataset": _f("choice", "spirals", "dataset", "data",
                  choices=("spirals", "moons", "circles", "xor", "blobs")),
    "classes": _f("int", 2, "classes", "data", low=2, high=5, only=("spirals", "blobs"),
                  only_key="dataset"),
    "noise": _f("float", 0.1, "noise", "data", low=0, high=1),
    "samples": _f("int", 400, "samples", "data", low=20, high=2000),
    "test_fraction": _f("float", 0.3, "test fraction", "data", low=0.1, high=0.9),
    "seed": _f("int", 0, "seed", "data", low=0, high=2**31 - 1),
    "layers": _f("int", 2, "hidden layers", "model", low=0, high=MAX_LAYERS),
    "neurons": _f("int", 8, "neurons per layer", "model", low=1, high=MAX_NEURONS),
    "activation": _f("choice", "tanh", "activation", "model",
                     choices=("sigmoid", "tanh", "relu", "leaky_relu")),
    "batchnorm": _f("bool", False, "batch norm", "model"),
    "dropout": _f("float", 0.0, "dropout p", "model", low=0, high=0.9),
    "optimizer": _f("choice", "sgd", "optimizer", "train", choices=OPTIMIZERS),
    "lr": _f("float", 0.1, "learning rate", "train", low=0, high=10, low_open=True),
    "momentum": _f("float", 0.9, "momentum", "train", low=0, high=0.999,
                   only=("momentum", "nesterov"), only_key="optimizer"),
    "beta1": _f("float", 0.9, "beta1", "train", low=0, high=0.999,
                only=("adam", "adamw"), only_key="optimizer"),
    "beta2": _f("float", 0.999, "beta2", "train", low=0, high=0.99999,
                only=("adam", "adamw"), only_key="optimizer"),
    "amsgrad": _f("bool", False, "amsgrad", "train", only=("adam", "adamw"),
                  only_key="optimizer"),
    "alpha": _f("float", 0.99, "alpha (RMSprop)", "train", low=0, high=0.9999,
                only=("rmsprop",), only_key="optimizer"),
    "centered": _f("bool", False, "centered", "train", only=("rmsprop",),
                   only_key="optimizer"),
    "rho": _f("float", 0.9, "rho (Adadelta)", "train", low=0, high=1,
              only=("adadelta",), only_key="optimizer"),
    "eps": _f("float", 1e-8, "eps", "train", low=0, high=1, low_open=True,
              only=("adagrad", "rmsprop", "adadelta", "adam", "adamw"),
              only_key="optimizer"),
    "eta_minus": _f("float", 0.5, "eta- (Rprop)", "train", low=0, high=1, low_open=True,
                    only=("rprop",), only_key="optimizer"),
    "eta_plus": _f("float", 1.2, "eta+ (Rprop)", "train", low=1, high=5, low_open=True,
                   only=("rprop",), only_key="optimizer"),
    "weight_decay": _f("float", 0.0, "weight decay", "train", low=0, high=1),
    "decay": _f("choice", "l2", "decay kind", "train", choices=("l2", "decoupled")),
    "batch": _f("int", 10, "batch size", "train", low=1, high=2000),
    "schedule": _f("choice", "none", "lr schedule", "train",
                   choices=("none", "step", "exponential", "cosine", "warmup")),
    "step_size": _f("int", 500, "step every (steps)", "train", low=1, high=100000,
                    only=("step",), only_key="schedule"),
    "step_gamma": _f("float", 0.5, "step factor", "train", low=0, high=1, low_open=True,
                     only=("step",), only_key="schedule"),
    "exp_gamma": _f("float", 0.999, "factor per step", "train", low=0, high=1,
                    low_open=True, only=("exponential",), only_key="schedule"),
    "t_max": _f("int", 2000, "cosine period (steps)", "train", low=1, high=100000,
                only=("cosine",), only_key="schedule"),
    "warmup": _f("int", 200, "warm-up steps", "train", low=1, high=100000,
                 only=("warmup",), only_key="schedule"),
    "speed": _f("int", 100, "steps per second", "run", low=1, high=MAX_SPEED),
}

SURFACE = {
    "surface": _f("choice", "quadratic", "surface", "surface", choices=tuple(SURFACES)),
    "x0": _f("float", None, "start x", "surface"),
    "y0": _f("float", None, "start y", "surface"),
    "optimizers": _f("list", ("sgd", "momentum", "adam"), "optimizers", "surface",
                     choices=OPTIMIZERS),
    "momentum": _f("float", 0.9, "momentum", "surface", low=0, high=0.999),
    "steps": _f("int", 300, "steps", "surface", low=1, high=5000),
    "speed": _f("int", 30, "steps per second", "run", low=1, high=MAX_SPEED),
    **{f"lr_{name}": _f("float", None, f"lr {name}", "surface", low=0, high=10,
                        low_open=True) for name in OPTIMIZERS},
}


def schema():
    """Both tables and the surfaces, as JSON for the page."""
    return {"network": {k: asdict(f) for k, f in NETWORK.items()},
            "surface": {k: asdict(f) for k, f in SURFACE.items()},
            "surfaces": {k: s.describe() for k, s in SURFACES.items()}}


def _convert(name, field, value):
    """One value from JSON or a URL, converted to the field's type and range-checked."""
    if field.kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "on", "yes"):
            return True
        if str(value).lower() in ("0", "false", "off", "no", ""):
            return False
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if field.kind == "choice":
        text = str(value).lower()
        if text not in field.choices:
            raise ConfigError(f"unknown {name} {value!r}; choose one of "
                              f"{', '.join(field.choices)}")
        return text
    if field.kind == "list":
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [str(v).strip().lower() for v in items if str(v).strip()]
        for item in items:
            if item not in field.choices:
                raise ConfigError(f"unknown optimizer {item!r} in {name}; choose from "
                                  f"{', '.join(field.choices)}")
        if not items or len(set(items)) != len(items):
            raise ConfigError(f"{name} must name one or more different optimizers, got "
                              f"{value!r}")
        return tuple(items)
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if field.kind == "int":
        if number != int(number):
            raise ConfigError(f"{name} must be a whole number, got {value}")
        number = int(number)
    low_ok = field.low is None or (number > field.low if field.low_open
                                   else number >= field.low)
    if not low_ok or (field.high is not None and number > field.high):
        low = "" if field.low is None else f"{'(' if field.low_open else '['}{field.low}, "
        raise ConfigError(f"{name} must be in {low}{field.high}], got {value}")
    return number


def _check(table, raw, what):
    if not isinstance(raw, dict):
        raise ConfigError(f"a {what} configuration must be an object of parameters, got "
                          f"{type(raw).__name__}")
    unknown = sorted(set(raw) - set(table))
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r} for the {what} view; valid: "
                          f"{', '.join(table)}")
    out = {}
    for name, field in table.items():
        value = raw.get(name)
        out[name] = field.default if value is None or value == "" \
            else _convert(name, field, value)
    return out


def check_network(raw):
    """The network view's full configuration, defaults filled in, or ConfigError."""
    cfg = _check(NETWORK, raw, "network")
    n_train = cfg["samples"] - int(round(cfg["samples"] * cfg["test_fraction"]))
    if cfg["batch"] > n_train:
        raise ConfigError(f"batch must be at most the number of training samples "
                          f"({n_train}), got {cfg['batch']}")
    if cfg["weight_decay"] and cfg["decay"] == "decoupled" \
            and cfg["optimizer"] not in DECOUPLED:
        raise ConfigError(f"decoupled weight decay is offered by {', '.join(DECOUPLED)}, "
                          f"not by optimizer {cfg['optimizer']!r}; use decay=l2")
    if cfg["weight_decay"] and cfg["decay"] == "l2" and cfg["optimizer"] == "adamw":
        raise ConfigError("adamw's weight decay is decoupled by definition; use "
                          "decay=decoupled, or optimizer adam for L2 decay")
    return cfg


def check_surface(raw):
    """The optimizer view's configuration; the start defaults to the surface's own, the
    learning rates to the surface's suggestions."""
    cfg = _check(SURFACE, raw, "optimizer")
    surface = SURFACES[cfg["surface"]]
    for name, default, (low, high) in (("x0", surface.start[0], surface.x_range),
                                       ("y0", surface.start[1], surface.y_range)):
        if cfg[name] is None:
            cfg[name] = default
        elif not low <= cfg[name] <= high:
            raise ConfigError(f"{name} must be within the {cfg['surface']} surface's range "
                              f"[{low}, {high}], got {cfg[name]}")
    for name in OPTIMIZERS:
        if cfg[f"lr_{name}"] is None:
            cfg[f"lr_{name}"] = surface.lrs[name]
    return cfg
