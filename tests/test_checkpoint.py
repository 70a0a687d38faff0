"""Checkpoints: PyTorch interoperability, optimizer round trips, refusing bad files."""
import json
import struct

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import deepgrad as dg
from deepgrad import checkpoint, nn, serialization
from deepgrad.serialization import CheckpointError


def _mlp_pair():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    return model, tmodel, np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)


def _convnet_pair():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                 torch.nn.Linear(4 * 4 * 4, 5))
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    return model, tmodel, x


@pytest.mark.parametrize("pair", [_mlp_pair, _convnet_pair])
def test_deepgrad_weights_load_into_torch_and_back(tmp_path, pair):
    model, tmodel, x = pair()
    path = tmp_path / "model.safetensors"
    checkpoint.save_model(model, path)
    tmodel.load_state_dict(safetensors.torch.load_file(str(path)))  # the real package
    with dg.no_grad():
        ours = model(dg.tensor(x)).numpy()
    np.testing.assert_allclose(tmodel(torch.from_numpy(x)).detach().numpy(), ours,
                               rtol=1e-5, atol=1e-6)

    # and back: torch weights saved by safetensors load into a fresh deepgrad model
    for p in tmodel.parameters():
        torch.nn.init.normal_(p)
    safetensors.torch.save_file(tmodel.state_dict(), str(tmp_path / "torch.safetensors"))
    fresh, _, _ = pair()
    checkpoint.load_model(fresh, tmp_path / "torch.safetensors")
    with dg.no_grad():
        ours = fresh(dg.tensor(x)).numpy()
    np.testing.assert_allclose(tmodel(torch.from_numpy(x)).detach().numpy(), ours,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(dg.optim.OPTIMIZERS))
def test_training_checkpoint_restores_optimizer_and_rng(tmp_path, name):
    def make():
        dg.manual_seed(3)
        model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Dropout(0.2), nn.Linear(7, 2))
        opt = dg.optim.OPTIMIZERS[name](model.parameters(), lr=0.01)
        return model, opt

    x = dg.tensor(np.random.default_rng(0).standard_normal((16, 5), dtype=np.float32))
    y = dg.tensor(np.arange(16) % 2)

    def steps(model, opt, n):
        for _ in range(n):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    model, opt = make()
    steps(model, opt, 5)
    checkpoint.save_checkpoint(tmp_path / "c.safetensors", model, opt, trainer={"step": 5})
    steps(model, opt, 5)
    expected = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    model, opt = make()
    trainer, _ = checkpoint.load_checkpoint(tmp_path / "c.safetensors", model, opt)
    assert trainer == {"step": 5}
    steps(model, opt, 5)
    for key, value in model.state_dict().items():
        assert np.array_equal(value, expected[key]), key


def _valid_bytes():
    return serialization.dumps({"w": np.ones((2, 3), np.float32)}, {"format": "pt"})


def _with_header(header, body=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


BAD_FILES = {
    "empty": b"",
    "shorter than the length field": b"\x01\x02",
    "truncated body": _valid_bytes()[:-5],
    "header longer than the file": struct.pack("<Q", 10 ** 6) + b"{}",
    "header not JSON": struct.pack("<Q", 4) + b"\xff\xfe{{",
    "a pickle": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.",
    "header is a list": _with_header([1, 2]),
    "unknown dtype": _with_header({"w": {"dtype": "F8X", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "huge shape": _with_header({"w": {"dtype": "F32", "shape": [10 ** 6, 10 ** 6],
                                      "data_offsets": [0, 4]}}, b"\0" * 4),
    "negative dimension": _with_header({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "offsets past the end": _with_header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
    "metadata not strings": _with_header({"__metadata__": {"a": 1}}),
}


@pytest.mark.parametrize("what", sorted(BAD_FILES))
def test_bad_files_are_refused_with_a_clear_error(tmp_path, what):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(BAD_FILES[what])
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        serialization.load_file(path)


def test_a_weights_file_is_not_taken_for_a_training_checkpoint(tmp_path):
    model = nn.Linear(2, 2)
    checkpoint.save_model(model, tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="not a deepgrad training checkpoint"):
        checkpoint.load_checkpoint(tmp_path / "w.safetensors", model)


def test_shape_mismatch_names_the_key(tmp_path):
    checkpoint.save_model(nn.Linear(3, 2), tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match=r"weight.*\(2, 3\).*\(2, 4\)"):
        checkpoint.load_model(nn.Linear(4, 2), tmp_path / "w.safetensors")


def test_same_state_gives_the_same_bytes(tmp_path):
    dg.manual_seed(1)
    a = serialization.dumps(nn.Linear(3, 3).state_dict())
    dg.manual_seed(1)
    assert serialization.dumps(nn.Linear(3, 3).state_dict()) == a
    assert safetensors.numpy.load(a)["weight"].shape == (3, 3)


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    mask = os.umask(0o022)
    try:
        checkpoint.save_model(nn.Linear(2, 2), tmp_path / "w.safetensors")
    finally:
        os.umask(mask)
    assert (tmp_path / "w.safetensors").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
