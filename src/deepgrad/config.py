"""Run configuration: the options of ``deepgrad train``, from flags or a TOML file.

A config file's keys are the flags' names (``batch-size`` or ``batch_size``), so
``deepgrad train --config run.toml`` and the equivalent flags give the same run. Every
run with ``--out DIR`` writes the exact configuration it used to ``DIR/config.toml``.
"""
import tomllib

from .serialization import atomic_write

# name -> (default, type, help). The single source of truth for flags and config keys.
TRAIN_OPTIONS = {
    "model": ("mlp", str, "model: mlp, cnn (8x8 images), lenet (28x28 images)"),
    "dataset": ("digits", str, "dataset name (see `deepgrad train --list-datasets`)"),
    "data_dir": (None, str, "directory of downloaded datasets (default $DEEPGRAD_DATA "
                 "or ~/.cache/deepgrad)"),
    "hidden": (256, int, "hidden width of the MLP"),
    "depth": (2, int, "number of hidden layers of the MLP"),
    "activation": ("relu", str, "activation of the MLP: relu, sigmoid, tanh"),
    "dropout": (0.0, float, "dropout probability after each hidden layer of the MLP"),
    "optimizer": ("sgd", str, "optimizer name"),
    "lr": (0.05, float, "learning rate"),
    "momentum": (0.9, float, "momentum (sgd, rmsprop)"),
    "weight_decay": (0.0, float, "weight decay (L2 for most optimizers, decoupled for adamw)"),
    "scheduler": ("none", str, "learning-rate schedule: none, step, cosine, exponential, warmup"),
    "batch_size": (32, int, "minibatch size B"),
    "epochs": (20, int, "number of epochs (passes of N samples)"),
    "seed": (0, int, "seed of initialisation, data order and dropout"),
    "device": ("cpu", str, "where to train: cpu, or cuda (CuPy on an NVIDIA GPU)"),
    "patience": (0, int, "stop early after this many epochs without val_loss improving "
                 "(0: never)"),
    "checkpoint_every": (50, int, "save the training state every this many steps "
                         "(and at every epoch's end)"),
    "monitor_every": (0, int, "record the gradient flow every this many steps, warn about "
                      "vanishing gradients, plot gradient_flow.png (0: off)"),
    "probes": (False, bool, "every --probes-every steps record per layer the activation and "
               "gradient distributions, saturated and dead units, update/weight ratios and "
               "batch-norm statistics; with --out, write probes.json and probes_*.png there"),
    "probes_every": (10, int, "with --probes: record every this many steps"),
    "distributed": (False, bool, "data-parallel over the ranks of mpiexec (each global "
                    "batch split across ranks)"),
    "sync_batchnorm": (False, bool, "with --distributed: batch statistics over all ranks"),
}


def defaults():
    return {name: spec[0] for name, spec in TRAIN_OPTIONS.items()}


def flag(key):
    """The command-line spelling of a config key (config files accept both)."""
    return "--" + key.replace("_", "-")


def normalise_key(key):
    return key.replace("-", "_")


def check_keys(keys, source):
    unknown = sorted(k for k in keys if normalise_key(k) not in TRAIN_OPTIONS)
    if unknown:
        valid = ", ".join(k.replace("_", "-") for k in TRAIN_OPTIONS)
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {valid}")


def load_toml(path):
    """Read a config file; keys must be train options, values of the option's type."""
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config file {path}: not valid TOML ({err})") from None
    check_keys(table, f"config file {path}")
    out = {}
    for key, value in table.items():
        name = normalise_key(key)
        kind = TRAIN_OPTIONS[name][1]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ValueError(f"config file {path}: {key} must be {kind.__name__}, got "
                             f"{value!r}")
        out[name] = value
    return out


def dump_toml(config, path):
    """Write a flat config as TOML (atomically); None values are left out."""
    lines = ["# the exact configuration of this run: deepgrad train --config config.toml"]
    for name, value in config.items():
        if value is None:
            continue
        if isinstance(value, str):
            text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = repr(value)
        lines.append(f"{name.replace('_', '-')} = {text}")
    atomic_write(path, ("\n".join(lines) + "\n").encode())
