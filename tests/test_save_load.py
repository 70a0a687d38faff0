"""dg.save / dg.load (deepgrad.io): torch.save's uses on safetensors files, PyTorch
interoperability through safetensors, nested state (optimizers), refusing pickles."""
import io
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import deepgrad as dg
from deepgrad import checkpoint, nn, serialization
from deepgrad.io import STRUCTURE, load, save
from deepgrad.serialization import CheckpointError


def _np(t):
    return t.detach().numpy()


def _pair():
    def build(lib):
        return lib.Sequential(lib.Conv2d(1, 3, 3, padding=1), lib.BatchNorm2d(3), lib.ReLU(),
                              lib.Flatten(), lib.Linear(3 * 4 * 4, 5), lib.BatchNorm1d(5),
                              lib.Linear(5, 2))
    x = np.random.default_rng(0).standard_normal((4, 1, 4, 4)).astype(np.float32)
    return build(nn), build(torch.nn), x


# -- what d2l's "File I/O" section does -------------------------------------------------------

def test_d2l_file_io(tmp_path):
    x = dg.arange(4)
    save(x, tmp_path / "x-file")
    x2 = load(tmp_path / "x-file")
    assert isinstance(x2, dg.Tensor) and x2.dtype == np.int64
    np.testing.assert_array_equal(_np(x2), [0, 1, 2, 3])

    y = dg.zeros(4)
    save([x, y], tmp_path / "x-files")
    x2, y2 = load(tmp_path / "x-files")
    np.testing.assert_array_equal(_np(y2), np.zeros(4, dtype=np.float32))

    save({"x": x, "y": y}, tmp_path / "mydict")
    mydict = load(tmp_path / "mydict")
    assert list(mydict) == ["x", "y"] and mydict["y"].dtype == np.float32

    net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(3))
    X = dg.randn(2, 5)
    Y = net(X)
    save(net.state_dict(), tmp_path / "mlp.params")
    clone = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(3))
    clone.load_state_dict(load(tmp_path / "mlp.params"))
    clone.eval()
    np.testing.assert_array_equal(_np(clone(X)), _np(Y))


def test_state_dict_round_trip_keeps_keys_order_dtypes_and_values(tmp_path):
    model, _, x = _pair()
    model(dg.tensor(x))  # running statistics and a batch count to keep
    state = model.state_dict()
    save(state, tmp_path / "m.safetensors")
    loaded = load(tmp_path / "m.safetensors")
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(state)
    for key, value in state.items():
        assert type(loaded[key]) is dg.Tensor and loaded[key].dtype == value.dtype, key
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
    assert loaded["1.num_batches_tracked"].dtype == np.int64


def test_deepgrad_file_loads_into_torch_and_torch_file_into_deepgrad(tmp_path):
    model, tmodel, x = _pair()
    model(dg.tensor(x))
    model.eval()
    tmodel.eval()
    path = tmp_path / "dg.safetensors"
    save(model.state_dict(), path)
    tmodel.load_state_dict(safetensors.torch.load_file(str(path)))  # the real package
    np.testing.assert_allclose(_np(tmodel(torch.from_numpy(x))), _np(model(dg.tensor(x))),
                               rtol=1e-5, atol=1e-5)

    for p in tmodel.parameters():  # and back, with other weights
        torch.nn.init.normal_(p)
    tmodel.train()
    tmodel(torch.from_numpy(x))
    tmodel.eval()
    safetensors.torch.save_file(tmodel.state_dict(), str(tmp_path / "torch.safetensors"))
    state = load(tmp_path / "torch.safetensors")
    assert all(isinstance(v, dg.Tensor) for v in state.values())
    fresh, _, _ = _pair()
    fresh.load_state_dict(state)
    fresh.eval()
    np.testing.assert_allclose(_np(fresh(dg.tensor(x))), _np(tmodel(torch.from_numpy(x))),
                               rtol=1e-4, atol=1e-4)


# -- nested state: an optimizer mid-run -------------------------------------------------------

@pytest.mark.parametrize("make_opt", [
    lambda p: dg.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: dg.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
])
def test_checkpoint_with_optimizer_state_resumes_the_same_trajectory(tmp_path, make_opt):
    rng = np.random.default_rng(0)
    xs = [dg.tensor(rng.standard_normal((8, 3)).astype(np.float32)) for _ in range(6)]

    def build():
        dg.manual_seed(1)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        return model, make_opt(model.parameters())

    def run(model, opt, batches):
        for x in batches:
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()

    model, opt = build()
    run(model, opt, xs[:3])
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
         tmp_path / "ckpt")
    run(model, opt, xs[3:])

    model2, opt2 = build()
    ckpt = load(tmp_path / "ckpt", map_location="cpu", weights_only=True)
    assert ckpt["epoch"] == 3 and set(ckpt["optimizer"]["state"]) == {0, 1, 2, 3}
    assert ckpt["optimizer"]["param_groups"] == opt.state_dict()["param_groups"]
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    run(model2, opt2, xs[3:])
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_types_containers_and_sharing_round_trip():
    weight = nn.Parameter(dg.randn(2, 3))
    shared = np.arange(3.0)
    obj = {
        "none": None, "flag": True, "n": 7, "big": 2 ** 70, "x": 0.25, "nan": math.nan,
        "name": "run-1", "np64": np.float64(1.5), "np_int": np.int64(3),
        "np_bool": np.bool_(False), "tuple": (1, (2.0, "a")), 3: "an int key",
        1.5: "a float key", "ordered": OrderedDict([("b", 1), ("a", 2)]),
        "tensor": dg.tensor([1.0, 2.0], requires_grad=True), "param": weight,
        "arrays": [shared, shared], "f16": np.ones(2, dtype=np.float16),
        "bool": np.array([True, False]), "i32": np.arange(3, dtype=np.int32), "empty": {},
    }
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    back = load(buffer)
    assert list(back) == list(obj)
    for key in ("none", "flag", "n", "big", "x", "name", "tuple", 3, 1.5, "empty"):
        assert back[key] == obj[key] and type(back[key]) is type(obj[key]), key
    assert math.isnan(back["nan"])
    assert type(back["np64"]) is np.float64 and back["np64"] == 1.5
    assert type(back["np_int"]) is np.int64 and type(back["np_bool"]) is np.bool_
    assert type(back["ordered"]) is OrderedDict and list(back["ordered"]) == ["b", "a"]
    assert type(back["tensor"]) is dg.Tensor and back["tensor"].requires_grad
    assert type(back["param"]) is nn.Parameter and back["param"].requires_grad
    np.testing.assert_array_equal(_np(back["param"]), _np(weight))
    assert back["arrays"][0] is back["arrays"][1]  # saved once, loaded as one array
    for key in ("f16", "bool", "i32"):
        assert back[key].dtype == obj[key].dtype
        np.testing.assert_array_equal(back[key], obj[key])


def test_tensor_entries_are_named_by_their_path():
    buffer = io.BytesIO()
    save({"model": {"0.weight": np.ones(2)}, "optimizer": {"state": {0: {"m": np.ones(1)}}},
          "a.b": np.zeros(1), "a": {"b": np.zeros(2)}}, buffer)
    tensors = safetensors.numpy.load(buffer.getvalue())
    assert sorted(tensors) == ["a.b", "a.b#1", "model.0.weight", "optimizer.state.0.m"]
    buffer = io.BytesIO()
    save(dg.ones(2), buffer)
    assert list(safetensors.numpy.load(buffer.getvalue())) == ["tensor"]


# -- loading options and refusals -------------------------------------------------------------

def test_map_location_forms(tmp_path):
    path = tmp_path / "t"
    save({"w": dg.ones(2)}, path)
    for where in ("cpu", dg.device("cpu"), {"cuda:0": "cpu"}, lambda array, loc: array,
                  lambda array, loc: None):
        assert load(path, map_location=where)["w"].device == "cpu"
    seen = []
    load(path, map_location=lambda array, loc: seen.append(loc))
    assert seen == ["cpu"]
    with pytest.raises(TypeError, match="map_location"):
        load(path, map_location=3)
    if dg.backend.cuda_unavailable_reason() is not None:
        with pytest.raises(RuntimeError, match="cuda"):
            load(path, map_location="cuda")


@pytest.mark.parametrize("zip_format", [True, False])
def test_pickled_torch_files_are_refused_with_the_conversion(tmp_path, zip_format):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path,
               _use_new_zipfile_serialization=zip_format)
    for read in (lambda: load(path), lambda: load(path, weights_only=False),
                 lambda: checkpoint.load_model(nn.Linear(2, 2), path)):
        with pytest.raises(CheckpointError) as info:
            read()
        message = str(info.value)
        assert ("zip archive" if zip_format else "pickle") in message
        assert "torch.load(" in message and "safetensors.torch.save_file(" in message
    # the recipe it gives works
    state = torch.load(path, map_location="cpu", weights_only=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()},
                                str(tmp_path / "model.safetensors"))
    nn.Linear(2, 2).load_state_dict(load(tmp_path / "model.safetensors"))


def test_a_safetensors_header_that_looks_like_a_pickle_is_read():
    # A 640-byte header makes the file start with 0x80 0x02, a protocol-2 pickle's bytes.
    tensors = {"w": np.ones(3, dtype=np.float32)}
    base = len(serialization.dumps(tensors, {"pad": ""})) - 12 - 8
    data = serialization.dumps(tensors, {"pad": "x" * (640 - base)})
    assert data[:2] == b"\x80\x02" and struct.unpack("<Q", data[:8])[0] == 640
    np.testing.assert_array_equal(_np(load(io.BytesIO(data))["w"]), np.ones(3))


def test_what_cannot_be_saved_is_refused_clearly(tmp_path):
    with pytest.raises(TypeError, match=r"Sequential.*state_dict\(\)"):
        save(nn.Sequential(nn.Linear(2, 2)), tmp_path / "m")
    with pytest.raises(TypeError, match=r"'a.0'.*set"):
        save({"a": [{1, 2}]}, tmp_path / "m")
    with pytest.raises(TypeError, match="keys"):
        save({(1, 2): dg.ones(1)}, tmp_path / "m")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, tmp_path / "m")
    with pytest.raises(TypeError, match="uninitialised"):
        save(list(nn.LazyLinear(2).parameters()), tmp_path / "m")
    assert not os.listdir(tmp_path)  # nothing half-written


def test_damaged_or_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load(tmp_path / "nope")
    data = serialization.dumps({"w": np.ones(1)}, {STRUCTURE: "{not json"})
    with pytest.raises(CheckpointError, match="damaged"):
        load(io.BytesIO(data))
    data = serialization.dumps({"w": np.ones(1)},
                               {STRUCTURE: json.dumps({"t": "array", "key": "v"})})
    with pytest.raises(CheckpointError, match="'v'"):
        load(io.BytesIO(data))
    with pytest.raises(CheckpointError, match="too short"):
        load(io.BytesIO(b"abc"))


def test_saving_over_a_file_is_atomic(tmp_path):
    path = tmp_path / "w.safetensors"
    save({"w": dg.ones(2)}, path)
    save({"w": dg.zeros(3)}, path)
    assert os.listdir(tmp_path) == ["w.safetensors"]  # no temporary left behind
    assert load(path)["w"].shape == (3,)
