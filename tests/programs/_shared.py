"""Harness: the values both runs share, and the comparison of their results.

This is the only code that may know which framework it talks to; the programs do not.
"""
import math
import zlib

import numpy as np


class Shared:
    """Initial weights and batches, drawn once per name from a seeded NumPy generator.

    The same ``seed`` and ``name`` give the same array in every run, whatever the
    framework, so the torch run and the deepgrad run start from identical numbers.
    """

    def __init__(self, seed=0):
        self.seed = seed

    def _rng(self, name):
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def randn(self, name, shape, scale=1.0, dtype=np.float32):
        return np.asarray(scale * self._rng(name).standard_normal(shape), dtype=dtype)

    def uniform(self, name, shape, low=0.0, high=1.0, dtype=np.float32):
        return np.asarray(self._rng(name).uniform(low, high, shape), dtype=dtype)

    def labels(self, name, n, num_classes):
        return self._rng(name).integers(0, num_classes, n).astype(np.int64)

    def load(self, torch, model, name="model", randn=()):
        """Overwrite the randomly initialised entries of ``model``'s state dict.

        ``X.weight`` with two or more dimensions and its sibling ``X.bias`` get
        PyTorch's default range U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the keys listed in
        ``randn`` get N(0, 1); running statistics restart from PyTorch's defaults (a
        dummy batch through lazy layers has moved them); every other entry (norm scales
        and shifts) keeps the framework's own deterministic default.
        """
        state = model.state_dict()
        new = {}
        for key, value in state.items():
            shape = tuple(value.shape)
            prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
            weight = state.get(prefix + "weight")
            if key.endswith("running_mean"):
                arr = np.zeros(shape, np.float32)
            elif key.endswith("running_var"):
                arr = np.ones(shape, np.float32)
            elif key.endswith("num_batches_tracked"):
                arr = np.zeros(shape, np.int64)
            elif key in randn:
                arr = self.randn(f"{name}.{key}", shape)
            elif key.endswith("weight") and len(shape) >= 2:
                bound = 1.0 / math.sqrt(int(np.prod(shape[1:])))
                arr = self.uniform(f"{name}.{key}", shape, -bound, bound)
            elif key.endswith("bias") and weight is not None and len(weight.shape) >= 2:
                bound = 1.0 / math.sqrt(int(np.prod(tuple(weight.shape)[1:])))
                arr = self.uniform(f"{name}.{key}", shape, -bound, bound)
            else:
                continue
            new[key] = torch.from_numpy(arr)
        model.load_state_dict(new, strict=False)
        return model


def to_numpy(value):
    """A program's result as plain Python and NumPy values, recursively."""
    if isinstance(value, dict):
        return {str(k): to_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "detach"):
        if type(value).__name__ == "Size":
            return ("Size", tuple(int(v) for v in value))
        return [to_numpy(v) for v in value]
    if hasattr(value, "detach"):
        return np.array(value.detach().numpy(), copy=True)
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def compare(ref, got, rtol, atol, where="result"):
    """Assert that ``got`` (deepgrad's run) matches ``ref`` (torch's run)."""
    if isinstance(ref, dict):
        assert isinstance(got, dict), f"{where}: {type(got).__name__}, torch gave a dict"
        assert list(got) == list(ref) or sorted(got) == sorted(ref), \
            f"{where}: keys {sorted(got)} != torch's {sorted(ref)}"
        for key in ref:
            compare(ref[key], got[key], rtol, atol, f"{where}[{key!r}]")
        return
    if isinstance(ref, list):
        assert isinstance(got, list) and len(got) == len(ref), \
            f"{where}: {got!r} != torch's {ref!r}"
        for i, (r, g) in enumerate(zip(ref, got)):
            compare(r, g, rtol, atol, f"{where}[{i}]")
        return
    if isinstance(ref, np.ndarray):
        assert isinstance(got, np.ndarray), \
            f"{where}: {type(got).__name__}, torch gave a tensor"
        assert got.shape == ref.shape, f"{where}: shape {got.shape} != torch's {ref.shape}"
        assert got.dtype == ref.dtype, f"{where}: dtype {got.dtype} != torch's {ref.dtype}"
        if ref.dtype.kind in "fc":
            np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, err_msg=where)
        else:
            np.testing.assert_array_equal(got, ref, err_msg=where)
        return
    # Python scalars, strings, None, ("Size", shape) pairs: same type, and equal
    # (floats to the tolerance).
    assert type(got) is type(ref), \
        f"{where}: {type(got).__name__} {got!r}, torch gave {type(ref).__name__} {ref!r}"
    if isinstance(ref, float):
        assert math.isclose(got, ref, rel_tol=rtol, abs_tol=atol), \
            f"{where}: {got!r} != torch's {ref!r}"
    else:
        assert got == ref, f"{where}: {got!r} != torch's {ref!r}"
