"""A whole training run from a configuration: what ``deepgrad train`` does.

``run(config, out=None, resume=None)`` loads the dataset, builds the model, optimizer and
schedule, checks that the model fits the data before the first step, trains with a
progress display, and with an output directory leaves there:

* ``config.toml``: the exact configuration used (``--config`` reproduces the run);
* ``checkpoints/last.safetensors``: the full training state, every ``checkpoint_every``
  steps and at each epoch's end (``--resume DIR`` continues from it, bit for bit);
* ``model.safetensors``: the final weights under PyTorch's keys;
* ``metrics.csv``, ``metrics.json``, ``loss.png``, ``accuracy.png``;
* with ``--probes``: ``probes.json`` and ``probes_*.png`` (:class:`Probes`, every
  ``probes_every`` steps), and TensorBoard event files in ``tensorboard/`` when a
  SummaryWriter is importable.
"""
import os
import time

import numpy as np

from .. import backend, checkpoint, config as config_mod, distributed, nn, optim
from ..autograd import Tensor, no_grad
from ..data import DataLoader, TensorDataset, load, train_test_split
from ..nn.models import MODELS
from .callbacks import EarlyStopping, GradientFlow, MetricsLogger, ModelCheckpoint
from .probes import Probes
from .progress import ProgressBar
from .trainer import Trainer, evaluate

SCHEDULE_NAMES = ("none", "step", "cosine", "exponential", "warmup", "plateau")


def validate(cfg):
    """Check a full configuration; every problem names the option and the valid values."""
    config_mod.check_keys(cfg, "configuration")
    choices = {"model": sorted(MODELS), "optimizer": sorted(optim.OPTIMIZERS),
               "scheduler": list(SCHEDULE_NAMES), "activation": ["relu", "sigmoid", "tanh"],
               "dataset": sorted(__import__("deepgrad.data", fromlist=["DATASETS"]).DATASETS)}
    for key, valid in choices.items():
        if cfg[key] not in valid:
            raise ValueError(f"{config_mod.flag(key)}: {cfg[key]!r} is not one of "
                             f"{', '.join(valid)}")
    for key in ("hidden", "batch_size", "epochs", "checkpoint_every", "probes_every"):
        if cfg[key] <= 0:
            raise ValueError(f"{config_mod.flag(key)} must be positive, got {cfg[key]}")
    for key in ("depth", "patience", "monitor_every"):
        if cfg[key] < 0:
            raise ValueError(f"{config_mod.flag(key)} must be >= 0, got {cfg[key]}")
    if not cfg["lr"] > 0:
        raise ValueError(f"--lr must be positive, got {cfg['lr']}")
    for key in ("momentum", "weight_decay"):
        if not cfg[key] >= 0:
            raise ValueError(f"{config_mod.flag(key)} must be >= 0, got {cfg[key]}")
    if not 0 <= cfg["dropout"] < 1:
        raise ValueError(f"--dropout must be in [0, 1), got {cfg['dropout']}")
    try:
        backend.array_module_for(cfg["device"])
    except (ValueError, RuntimeError) as err:
        raise ValueError(f"--device: {err}") from None


def build_model(cfg, sample_shape, num_classes):
    """The model named in ``cfg`` for inputs of ``sample_shape`` (without the batch axis)."""
    name = cfg["model"]
    if name == "mlp":
        features = int(np.prod(sample_shape))
        model = MODELS["mlp"](features, num_classes, hidden=cfg["hidden"], depth=cfg["depth"],
                              activation=cfg["activation"])
        if cfg["dropout"]:
            model = _with_dropout(model, cfg["dropout"])
        if len(sample_shape) > 1:  # images into an MLP: flatten first
            model = nn.Sequential(nn.Flatten(), *model)
        return model
    if len(sample_shape) != 3:
        raise ValueError(f"model {name!r} needs images (channels, height, width) but dataset "
                         f"{cfg['dataset']!r} has samples of shape {tuple(sample_shape)}")
    try:
        return MODELS[name](in_channels=sample_shape[0], num_classes=num_classes,
                            image_size=sample_shape[1])
    except ValueError as err:
        raise ValueError(f"model {name!r} does not fit dataset {cfg['dataset']!r} (samples "
                         f"of shape {tuple(sample_shape)}): {err}") from None


def _with_dropout(model, p):
    layers = []
    for layer in model:
        layers.append(layer)
        if not isinstance(layer, nn.Linear):  # after each hidden activation
            layers.append(nn.Dropout(p))
    return nn.Sequential(*layers)


def check_fits(model, cfg, x, num_classes):
    """Run one sample through the model before training; refuse with both shapes named."""
    with no_grad():
        try:
            out = model.eval()(Tensor(x[:1]))
        except ValueError as err:
            raise ValueError(f"model {cfg['model']!r} does not fit dataset {cfg['dataset']!r}"
                             f" (samples of shape {tuple(x.shape[1:])}): {err}") from None
        finally:
            model.train()
    if out.shape != (1, num_classes):
        raise ValueError(f"model {cfg['model']!r} gives outputs of shape {tuple(out.shape[1:])}"
                         f" but dataset {cfg['dataset']!r} has {num_classes} classes")


def make_optimizer(cfg, model):
    cls = optim.OPTIMIZERS[cfg["optimizer"]]
    options = {"lr": cfg["lr"], "weight_decay": cfg["weight_decay"]}
    if cfg["optimizer"] in ("sgd", "rmsprop"):
        options["momentum"] = cfg["momentum"]
    if cfg["optimizer"] == "rprop":
        options.pop("weight_decay")
        if cfg["weight_decay"]:
            raise ValueError("--weight-decay: rprop has no weight decay option")
    return cls(model.parameters(), **options)


def make_scheduler(cfg, optimizer):
    """The named schedule, set for the run's length (per epoch)."""
    lrs, name, epochs = optim.lr_scheduler, cfg["scheduler"], cfg["epochs"]
    if name == "none":
        return None
    if name == "step":
        return lrs.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "cosine":
        return lrs.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "exponential":
        return lrs.ExponentialLR(optimizer, gamma=0.9)
    if name == "warmup":
        return lrs.LinearLR(optimizer, start_factor=0.1, total_iters=max(1, min(5, epochs // 4)))
    return lrs.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)


def prepare(cfg):
    """Data loaders, model, optimizer and scheduler for ``cfg`` (seeded)."""
    validate(cfg)
    backend.manual_seed(cfg["seed"])
    x, y = load(cfg["dataset"], "train", root=cfg["data_dir"])
    x_test, y_test = load(cfg["dataset"], "test", root=cfg["data_dir"])
    x_train, y_train, x_val, y_val = train_test_split(x, y, 0.1, seed=cfg["seed"])
    num_classes = int(max(y.max(), y_test.max())) + 1
    model = build_model(cfg, x.shape[1:], num_classes)
    check_fits(model, cfg, x, num_classes)
    if cfg["sync_batchnorm"]:
        distributed.convert_sync_batchnorm(model)
    model.to(cfg["device"])  # the Trainer brings each batch to the model's device
    optimizer = make_optimizer(cfg, model)
    scheduler = make_scheduler(cfg, optimizer)
    loaders = {
        "train": DataLoader(TensorDataset(x_train, y_train), batch_size=cfg["batch_size"],
                            shuffle=True, seed=cfg["seed"]),
        "val": DataLoader(TensorDataset(x_val, y_val), batch_size=512),
        "test": DataLoader(TensorDataset(x_test, y_test), batch_size=512),
    }
    return loaders, model, optimizer, scheduler


def run(cfg, out=None, resume=None, stream=None, overrides=None):
    """Train as configured; returns ``{"history", "test", "model", "seconds"}`` (and
    ``"probes"``, the :class:`Probes` callback, with ``cfg["probes"]``).

    With ``resume=DIR`` the configuration is DIR's, updated by ``overrides`` (more
    epochs, or a change between one process and ``--distributed``).
    """
    if resume is not None:
        cfg = resume_config(resume)
        cfg.update(overrides or {})
        out = resume
    if cfg["distributed"]:
        distributed.init()
    # in a data-parallel run rank 0 prints and writes, every rank trains
    main = not cfg["distributed"] or distributed.is_main()
    loaders, model, optimizer, scheduler = prepare(cfg)
    callbacks = [ProgressBar(cfg["epochs"], stream=stream)] if main else []
    if cfg["patience"]:
        callbacks.append(EarlyStopping("val_loss", patience=cfg["patience"]))
    if cfg["monitor_every"] and main:
        figure = os.path.join(out, "gradient_flow.png") if out is not None else None
        callbacks.append(GradientFlow(cfg["monitor_every"], figure, stream=stream))
    probes = None
    if cfg["probes"] and main:  # the run's directory; without --out, kept in memory only
        probes = Probes(cfg["probes_every"], out, stream=stream)
        callbacks.append(probes)
    if out is not None and main:
        os.makedirs(out, exist_ok=True)
        config_mod.dump_toml(cfg, os.path.join(out, "config.toml"))
        callbacks += [ModelCheckpoint(os.path.join(out, "checkpoints"),
                                      every_steps=cfg["checkpoint_every"], config=cfg),
                      MetricsLogger(out)]
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, loaders["train"],
                      loaders["val"], callbacks=callbacks, scheduler=scheduler,
                      distributed=cfg["distributed"])

    def print_line(text):
        if main:
            print(text, file=stream, flush=True)

    if trainer.sync is not None:
        print_line(f"data parallel over {distributed.world_size()} ranks: each global batch "
                   f"of {cfg['batch_size']} split across them")
    if resume is not None:
        state, _ = checkpoint.load_checkpoint(last_checkpoint(resume), model, optimizer, scheduler)
        trainer.load_state_dict(state)
        print_line(f"resuming from epoch {trainer.epoch}, batch {trainer.batch} "
                   f"(step {trainer.step})")
    else:
        print_line(f"training {cfg['model']} on {cfg['dataset']}: "
                   f"{len(loaders['train'].dataset)} train, {len(loaders['val'].dataset)} "
                   f"validation, {len(loaders['test'].dataset)} test samples, "
                   f"{model.num_parameters():,} parameters")
    start = time.perf_counter()
    history = trainer.fit(cfg["epochs"])
    test = evaluate(model, nn.CrossEntropyLoss(), loaders["test"])
    seconds = time.perf_counter() - start
    if out is not None and main:
        checkpoint.save_model(model, os.path.join(out, "model.safetensors"))
        plot_history(history, out)
    print_line(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
               f"({seconds:.1f}s)")
    result = {"history": history, "test": test, "model": model, "seconds": seconds}
    if probes is not None:
        result["probes"] = probes
    return result


def last_checkpoint(directory):
    path = os.path.join(directory, "checkpoints", "last.safetensors")
    if not os.path.exists(path):
        raise ValueError(f"resume: no checkpoint at {path}; was the run started with --out "
                         f"{directory}?")
    return path


def resume_config(directory):
    path = os.path.join(directory, "config.toml")
    if not os.path.exists(path):
        raise ValueError(f"resume: {directory} has no config.toml; it is not a run directory")
    cfg = config_mod.defaults()
    cfg.update(config_mod.load_toml(path))
    return cfg


def history_figure(history, key):
    """A figure of ``key`` (and ``val_`` + key) per epoch from a History."""
    from .. import plotting
    label = {"loss": "cross-entropy loss"}.get(key, key)
    fig, ax = plotting.subplots(figsize=(6, 4))
    ax.plot(history.epochs, history[key], marker="o", label=f"train {key}")
    if f"val_{key}" in history.history:
        ax.plot(history.epochs, history[f"val_{key}"], marker="s", label=f"validation {key}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.set_title(f"{label} per epoch")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plot_history(history, out):
    """``loss.png`` and ``accuracy.png``: train and validation curves of this run."""
    from .. import plotting
    for key in ("loss", "accuracy"):
        plotting.save(history_figure(history, key), os.path.join(out, f"{key}.png"))
