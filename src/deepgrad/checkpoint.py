"""Checkpoints: a model's weights, or the whole training state, in safetensors files.

* ``save_model`` / ``load_model``: only the state dict, under PyTorch's key names, so
  ``torch_model.load_state_dict(safetensors.torch.load_file(path))`` works, and back.
* ``save_checkpoint`` / ``load_checkpoint``: everything a resumed run needs to continue
  exactly: model (``model.`` + key), optimizer state arrays (``optimizer.<index>.<name>``)
  and, as JSON in the file's metadata, the optimizer's groups and scalar state, the
  scheduler, the trainer's position (epoch, batch, step, running sums, history), the
  random generator's state and the run's configuration.

Files are written atomically (see ``serialization.atomic_write``) and read without
pickle, with every size checked before allocation.
"""
import json

import numpy as np

from . import backend, serialization
from .serialization import CheckpointError

FORMAT = "deepgrad-checkpoint"
VERSION = 1


def save_model(model, path):
    """Write the model's state dict (PyTorch's keys) to a safetensors file."""
    serialization.save_file(dict(model.state_dict()), path, {"format": "pt"})


def load_model(model, path, strict=True):
    """Load weights saved by :func:`save_model` (or by PyTorch's safetensors) into ``model``.

    A full training checkpoint is accepted too: its ``model.`` entries are used.
    """
    tensors, metadata = serialization.load_file(path)
    if metadata.get("format") == FORMAT:
        tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    return model.load_state_dict(tensors, strict=strict)


def save_checkpoint(path, model, optimizer=None, scheduler=None, trainer=None, config=None):
    """Write the full training state to ``path`` (atomically)."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "version": str(VERSION),
            "rng": json.dumps(backend.get_rng_state())}
    if optimizer is not None:
        opt_state = optimizer.state_dict()
        scalars = {}
        for index, state in opt_state["state"].items():
            for name, value in state.items():
                if _is_array(value):  # 0-d arrays too: they round-trip exactly
                    tensors[f"optimizer.{index}.{name}"] = value
                else:
                    scalars.setdefault(str(index), {})[name] = _plain(value)
        meta["optimizer"] = json.dumps({"param_groups": _plain(opt_state["param_groups"]),
                                        "scalars": scalars, "class": type(optimizer).__name__})
    if scheduler is not None:
        meta["scheduler"] = json.dumps(_plain(scheduler.state_dict()))
    if trainer is not None:
        meta["trainer"] = json.dumps(_plain(trainer))
    if config is not None:
        meta["config"] = json.dumps(_plain(config))
    serialization.save_file(tensors, path, meta)


def load_checkpoint(path, model, optimizer=None, scheduler=None):
    """Restore what :func:`save_checkpoint` wrote; returns ``(trainer_state, config)``.

    The CPU generator of ``dg.manual_seed`` is restored too, so dropout masks and data
    order continue where they stopped. The GPU's generator (CuPy's, which draws dropout
    masks for a model on the GPU) has no state to save: a resumed GPU run with dropout
    draws other masks from the resume on.
    """
    tensors, meta = serialization.load_file(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a deepgrad training checkpoint (its metadata "
                              f"says format {meta.get('format')!r}); for plain weights use "
                              f"load_model()")
    try:
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items()
                               if k.startswith("model.")})
        if optimizer is not None:
            if "optimizer" not in meta:
                raise CheckpointError(f"{path}: the checkpoint has no optimizer state")
            saved = json.loads(meta["optimizer"])
            if saved["class"] != type(optimizer).__name__:
                raise CheckpointError(f"{path}: the checkpoint's optimizer is "
                                      f"{saved['class']}, this run uses "
                                      f"{type(optimizer).__name__}")
            state = {}
            for key, value in tensors.items():
                if key.startswith("optimizer."):
                    _, index, name = key.split(".", 2)
                    state.setdefault(int(index), {})[name] = value
            for index, values in saved["scalars"].items():
                state.setdefault(int(index), {}).update(values)
            optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
        if scheduler is not None and "scheduler" in meta:
            scheduler.load_state_dict(json.loads(meta["scheduler"]))
        backend.set_rng_state(json.loads(meta["rng"]))
        trainer = json.loads(meta["trainer"]) if "trainer" in meta else None
        config = json.loads(meta["config"]) if "config" in meta else None
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: damaged checkpoint metadata ({err})") from None
    return trainer, config


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _plain(value):
    """Convert NumPy scalars, 0-d arrays and tuples to JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if _is_array(value):
        return value.item() if value.shape == () else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
