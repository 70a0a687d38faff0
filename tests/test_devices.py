"""The same code on the GPU: every op, layer, loss and optimizer on device arrays.

Each test runs twice: on the emulated device (NumPy posing as CuPy, see
``helpers_device``; runs everywhere) and on a real GPU through CuPy (skipped without one).
Results are compared with the CPU run of the same code from the same numbers: equal
within float32 round-off, and every output, gradient, buffer and optimizer state array
on the device, none fallen back to the host.
"""
import importlib

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import backend, nn
from deepgrad.ops import conv
from deepgrad.checkpoint import load_checkpoint, load_model, save_checkpoint, save_model
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.train import fit
from helpers_device import device, emulated, emulated_cupy, on_device  # noqa: F401
from helpers_ops import _cast, _is_diff, draw
from test_ops import CASES

batch_norm_ops = importlib.import_module("deepgrad.ops.batch_norm")  # the module
pool_ops = importlib.import_module("deepgrad.ops.pool")

RTOL, ATOL = 1e-5, 1e-6  # float32 round-off: GPU libraries sum in other orders


def close(actual, expected, what):
    actual = actual.detach().numpy() if isinstance(actual, dg.Tensor) else actual
    actual = actual.get() if hasattr(actual, "get") else actual
    expected = expected.detach().numpy() if isinstance(expected, dg.Tensor) else expected
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


# -- no device: clear answers --------------------------------------------------------

def test_without_cupy_cuda_is_unavailable_and_says_why(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    assert dg.cuda.is_available() is False and dg.cuda.device_count() == 0
    dg.cuda.synchronize()  # a no-op, not an error, so timing code runs anywhere
    for make in (lambda: dg.tensor([1.0], device="cuda"), lambda: dg.zeros(2, device="cuda"),
                 lambda: nn.Linear(2, 3).to("cuda"), lambda: dg.tensor([1.0]).to("cuda"),
                 lambda: DataLoader([1, 2], device="cuda")):
        with pytest.raises(RuntimeError, match="device 'cuda' is not available: CuPy is "
                                               "not installed"):
            make()


def test_cupy_without_a_gpu_is_unavailable_and_says_why(monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
    fake = emulated_cupy()
    fake.cuda.runtime.getDeviceCount = no_driver
    monkeypatch.setattr(backend, "_cupy", fake)
    assert dg.cuda.is_available() is False
    with pytest.raises(RuntimeError, match="found no usable GPU.*no CUDA-capable device"):
        nn.Linear(2, 3).to("cuda")


@pytest.mark.parametrize("bad", ["gpu", "cuda0", "tpu:1"])
def test_unknown_device_names_itself(bad):
    with pytest.raises(ValueError, match=f"unknown device '{bad}'"):
        dg.tensor([1.0], device=bad)
    with pytest.raises(ValueError, match=f"DataLoader: unknown device '{bad}'"):
        DataLoader([1, 2], device=bad)


# -- moving tensors and modules ------------------------------------------------------

def test_tensor_to_device_and_back(device):
    x = dg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    on = x.to(device)
    assert on.device == "cuda" and on_device(on) and on.requires_grad
    assert on.to("cuda") is on and on.to("cuda:0") is on and x.to("cpu") is x
    back = on.to("cpu")
    assert back.device == "cpu" and type(back._data) is np.ndarray
    np.testing.assert_array_equal(back.data, x.data)
    assert type(on.detach().numpy()) is np.ndarray and on.tolist() == x.tolist()
    # differentiable, as PyTorch's: the gradient comes back to the CPU leaf
    (back * on.to("cpu")).sum().backward()
    assert type(x._grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, 2 * x.data)
    made = [dg.tensor([1.0], device=device), dg.zeros(2, 3, device=device),
            dg.ones(2, device=device), dg.randn(4, device=device), dg.rand(3, device=device)]
    assert all(on_device(t) and t.dtype == np.float32 for t in made)


def test_module_to_moves_parameters_gradients_and_buffers_in_place(device):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(model.parameters())
    model(dg.randn(5, 3)).sum().backward()
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    assert model.to(device) is model
    assert list(model.parameters()) == params  # same Parameter objects: optimizers keep them
    assert all(on_device(p) and on_device(p.grad) for p in params)
    state = model.state_dict()
    assert all(on_device(v) for v in state.values())
    for k, v in state.items():
        close(v, before[k], k)
    model.to("cpu")
    assert all(type(v._data) is np.ndarray for v in model.state_dict().values())
    assert model.cuda() is model and all(on_device(p) for p in params)  # PyTorch's
    assert model.cpu() is model and not any(on_device(p) for p in params)  # shorthands
    x = dg.ones(2, 3)
    assert on_device(x.cuda()) and x.cuda().cpu().device == "cpu"


def test_mixed_devices_are_refused_naming_the_op_devices_and_shapes(device):
    a = dg.ones(2, 3)
    b = dg.ones(3, device=device)
    with pytest.raises(RuntimeError, match=r"Add: expected all tensors on one device, got "
                                           r"input 0 on cpu \(shape \(2, 3\)\) and input 1 "
                                           r"on cuda \(shape \(3,\)\)"):
        a + b
    layer = nn.Linear(3, 2).to(device)
    with pytest.raises(RuntimeError, match=r"on cpu \(shape \(4, 3\)\).* on cuda"):
        layer(dg.ones(4, 3))
    assert on_device(a.to(device) + b)  # Python and NumPy scalars mix with any device
    assert on_device(b * 2.0 + np.float32(1.0))


# -- every op of the conformance suite -----------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_op_gives_the_cpu_result_on_the_device(device, case):
    """Forward and backward of each op in tests/test_ops.py, float32, CPU vs device."""
    arrays = _cast(draw(case), np.float32)
    gy_rng = np.random.default_rng(1)

    def run(dev):
        inputs = []
        for i, a in enumerate(arrays):
            data = backend.to_device(a, dev)
            inputs.append(dg.Tensor(data, requires_grad=_is_diff(case, i, a)))
        out = case.fn(*inputs)
        gy = gy_rng.standard_normal(out.shape).astype(out.dtype)
        out.backward(backend.to_device(gy, dev))
        return out, [t.grad for t in inputs if t.requires_grad]

    state = gy_rng.bit_generator.state
    out, grads = run("cpu")
    gy_rng.bit_generator.state = state
    dout, dgrads = run(device)
    assert on_device(dout) and all(on_device(g) for g in dgrads), case.name
    assert dout.dtype == out.dtype and all(g.dtype == np.float32 for g in dgrads)
    close(dout, out.data, f"{case.name}: forward")
    for i, (dg_, g) in enumerate(zip(dgrads, grads)):
        close(dg_, g, f"{case.name}: gradient {i}")


# -- layers, losses and optimizers through training steps ----------------------------

def _mlp():
    return nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 16),
                         nn.Sigmoid(), nn.Linear(16, 16), nn.LeakyReLU(0.1), nn.Linear(16, 4))


def _convnet():
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, stride=1, dilation=1), nn.ReLU(), nn.AvgPool2d(2, ceil_mode=True),
        nn.LocallyConnected2d(4, 3, input_size=(2, 2), kernel_size=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d((2, 1)), nn.Flatten(), nn.Linear(6, 4))


MODELS = {"mlp": (_mlp, (8, 12)), "convnet": (_convnet, (8, 2, 10, 10))}
OPTIMIZERS = {
    "SGD nesterov wd": (dg.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True,
                                            weight_decay=1e-3)),
    "Adam amsgrad": (dg.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    "AdamW": (dg.optim.AdamW, dict(lr=1e-2)),
    "RMSprop centered": (dg.optim.RMSprop, dict(lr=1e-2, momentum=0.5, centered=True)),
    "Adagrad": (dg.optim.Adagrad, dict(lr=0.05)),
    "Adadelta": (dg.optim.Adadelta, dict(lr=1.0)),
    "Rprop": (dg.optim.Rprop, dict(lr=1e-3)),
}


def _train(model_name, optimizer_name, device, steps=3):
    build, shape = MODELS[model_name]
    dg.manual_seed(0)
    model = build().to(device)
    opt_class, options = OPTIMIZERS[optimizer_name]
    opt = opt_class(model.parameters(), **options)
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal(shape, dtype=np.float32), device=device)
    y = dg.tensor(rng.integers(0, 4, size=shape[0]), device=device)
    losses, first_grads = [], None
    for _ in range(steps):
        loss = nn.CrossEntropyLoss(label_smoothing=0.1)(model(x), y)
        opt.zero_grad()
        loss.backward()
        if first_grads is None:
            first_grads = [dg.Tensor(p.grad).numpy() for p in model.parameters()]
        opt.step()
        losses.append(loss.item())
    model.eval()
    return model, opt, losses, model(x), first_grads


@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("optimizer_name", OPTIMIZERS)
def test_training_steps_give_the_cpu_result_on_the_device(device, model_name, optimizer_name,
                                                          monkeypatch):
    # The device runs the NumPy convolution; so must the CPU run it is compared with
    # (oneDNN's sums run in another order, and a bias before batch norm, whose gradient
    # is round-off, moves by lr per step under sign-like rules such as Adam's).
    monkeypatch.setattr(conv, "onednn_op_for", lambda *args: None)
    monkeypatch.setattr(batch_norm_ops, "onednn_op_for", lambda *args: None)  # the same
    monkeypatch.setattr(pool_ops, "onednn_op_for", lambda *args: None)  # for the others
    cpu_model, _, cpu_losses, cpu_eval, cpu_grads = _train(model_name, optimizer_name, "cpu")
    model, opt, losses, evaluated, grads = _train(model_name, optimizer_name, device)
    for i, (g, cpu_g) in enumerate(zip(grads, cpu_grads)):  # one forward and backward
        close(g, cpu_g, f"gradient of parameter {i} at the first step")
    # After updates, a GPU's other summation order can move a parameter whose gradient
    # is round-off itself by up to lr per step under sign-like rules (Adam, Rprop...);
    # the emulated device sums as the CPU does, so there the tolerance stays tight.
    lr = OPTIMIZERS[optimizer_name][1]["lr"]
    drift = ATOL if emulated() else 3 * lr
    np.testing.assert_allclose(losses, cpu_losses, rtol=RTOL if emulated() else 1e-3)
    cpu_state = cpu_model.state_dict()
    for key, value in model.state_dict().items():
        assert on_device(value), key
        np.testing.assert_allclose(dg.Tensor(value).numpy(), cpu_state[key], rtol=RTOL,
                                   atol=drift, err_msg=key)
    np.testing.assert_allclose(evaluated.detach().numpy(), cpu_eval.data, rtol=RTOL,
                               atol=ATOL if emulated() else 0.05,
                               err_msg="eval-mode output after 3 steps")
    for p in model.parameters():
        assert on_device(p.grad)
        for name, value in opt.state[id(p)].items():
            assert not hasattr(value, "shape") or on_device(value), name


@pytest.mark.parametrize("loss", [
    nn.CrossEntropyLoss(weight=None, ignore_index=1), nn.NLLLoss(reduction="sum"),
    nn.MSELoss(), nn.BCEWithLogitsLoss(reduction="none")], ids=lambda l: type(l).__name__)
def test_losses_give_the_cpu_result_on_the_device(device, loss):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4), dtype=np.float32)
    if isinstance(loss, (nn.MSELoss, nn.BCEWithLogitsLoss)):
        target = rng.random((6, 4), dtype=np.float32)
    else:
        target = rng.integers(0, 4, size=6)
    results = []
    for dev in ("cpu", device):
        xt = dg.tensor(x, requires_grad=True, device=dev)
        out = loss(xt, dg.tensor(target, device=dev))
        out.sum().backward()
        results.append((out, xt.grad))
    (out, grad), (dout, dgrad) = results
    assert on_device(dout) and on_device(dgrad)
    close(dout, out.data, "loss")
    close(dgrad, grad, "gradient")


def test_dropout_draws_on_the_device_from_the_seed(device):
    def masks():
        dg.manual_seed(7)
        x = dg.ones(200, 50, device=device)
        return [nn.functional.dropout(x, 0.3).numpy() for _ in range(2)]
    first, second = masks(), masks()
    np.testing.assert_array_equal(first[0], second[0])  # seeded: reproducible
    assert not np.array_equal(first[0], first[1])       # a fresh mask each call
    kept = (first[0] != 0).mean()
    assert abs(kept - 0.7) < 0.02 and set(np.unique(first[0])) == {0.0, np.float32(1 / 0.7)}
    x = dg.ones(4, 3, 5, 5, device=device)
    assert on_device(nn.Dropout2d(0.5)(x))


# -- data and training runs ----------------------------------------------------------

def _data(n=40):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, 12), dtype=np.float32)
    return TensorDataset(x, (x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0))


def test_data_loader_delivers_batches_on_its_device(device):
    loader = DataLoader(_data(), batch_size=16, shuffle=True, seed=1, device=device)
    cpu = DataLoader(_data(), batch_size=16, shuffle=True, seed=1)
    for (x, y), (cx, cy) in zip(loader, cpu):
        assert on_device(x) and on_device(y) and y.dtype == np.int64
        np.testing.assert_array_equal(x.numpy(), cx.data)
        np.testing.assert_array_equal(y.numpy(), cy.data)


def test_fit_moves_host_batches_to_the_models_device(device):
    """``model.to('cuda')`` is the only change: the run equals the CPU run."""
    def run(dev):
        dg.manual_seed(0)
        model = _mlp().to(dev)
        opt = dg.optim.Adam(model.parameters(), lr=1e-2)
        loader = DataLoader(_data(), batch_size=16, shuffle=True, seed=1)
        history = fit(model, nn.CrossEntropyLoss(), opt, loader, val_data=loader, epochs=3,
                      verbose=False)
        return model, history
    cpu_model, cpu_history = run("cpu")
    model, history = run(device)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):  # GPU: see the steps test
        np.testing.assert_allclose(history[key], cpu_history[key], rtol=RTOL, atol=ATOL
                                   if emulated() else 0.02)
    assert all(on_device(p) for p in model.parameters())


def test_checkpoints_move_between_devices(device, tmp_path):
    """Saved on the GPU, loaded on the CPU (and back); training continues identically."""
    model, opt, *_ = _train("mlp", "Adam amsgrad", device)
    save_model(model, tmp_path / "weights.safetensors")
    save_checkpoint(tmp_path / "run.ckpt", model, opt)
    cpu_model = _mlp()
    load_model(cpu_model, tmp_path / "weights.safetensors")
    for key, value in cpu_model.state_dict().items():
        assert type(value._data) is np.ndarray
        close(model.state_dict()[key], value, key)

    def resume(dev):
        restored = _mlp().to(dev)
        restored_opt = dg.optim.Adam(restored.parameters(), lr=1e-2, amsgrad=True)
        load_checkpoint(tmp_path / "run.ckpt", restored, restored_opt)
        x = dg.tensor(np.ones((8, 12), np.float32), device=dev)
        loss = restored(x).sum()
        restored_opt.zero_grad()
        loss.backward()
        restored_opt.step()
        return restored, restored_opt
    on_cpu, cpu_opt = resume("cpu")
    on_gpu, gpu_opt = resume(device)
    for p in on_gpu.parameters():
        assert all(on_device(v) for v in gpu_opt.state[id(p)].values() if hasattr(v, "shape"))
    for p in on_cpu.parameters():
        assert all(type(v) is np.ndarray for v in cpu_opt.state[id(p)].values()
                   if hasattr(v, "shape"))
    for key, value in on_gpu.state_dict().items():  # one Adam step: at most lr apart
        np.testing.assert_allclose(dg.Tensor(value).numpy(), on_cpu.state_dict()[key],
                                   rtol=RTOL, atol=ATOL if emulated() else 1e-2, err_msg=key)


def test_the_emulation_refuses_what_cupy_refuses(monkeypatch):
    """The emulated device must fail where CuPy fails, or the tests above prove nothing."""
    cupy = emulated_cupy()
    dev = cupy.asarray(np.ones(3, np.float32))
    assert isinstance(dev, cupy.ndarray) and not isinstance(np.ones(3), cupy.ndarray)
    for mixed in (lambda: dev + np.ones(3), lambda: np.ones(3) * dev,
                  lambda: cupy.concatenate([dev, np.ones(3)]),
                  lambda: np.add(dev, 1, out=np.empty(3))):
        with pytest.raises(TypeError, match="CuPy refuses to mix"):
            mixed()
    for result in (dev + 1, np.exp(dev), dev.sum(), cupy.zeros(2), cupy.stack([dev, dev]),
                   cupy.lib.stride_tricks.as_strided(dev, (2,), (4,)), dev.reshape(3, 1).T,
                   cupy.random.default_rng(0).random(3, dtype=np.float32)):
        assert isinstance(result, cupy.ndarray), type(result)
    assert type(dev.get()) is np.ndarray and cupy.asarray(dev) is dev


def test_cuda_module_reports_the_device(device, capsys):
    assert dg.cuda.is_available() and dg.cuda.device_count() >= 1
    assert isinstance(dg.cuda.get_device_name(), str) and dg.cuda.get_device_name()
    dg.cuda.synchronize()
    from deepgrad import cli
    assert cli.main(["info"]) == 0
    assert f"devices  cpu; cuda: {dg.cuda.get_device_name()}" in capsys.readouterr().out


def test_init_and_gradient_clipping_work_on_device_parameters(device):
    layer = nn.Linear(20, 30).to(device)
    for init in (nn.init.kaiming_uniform_, nn.init.xavier_normal_, nn.init.orthogonal_,
                 nn.init.trunc_normal_, nn.init.zeros_):
        init(layer.weight)
        assert on_device(layer.weight)
    layer.weight.grad = dg.ones(30, 20, device=device).data * 3
    total = nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
    assert abs(float(total.item()) - 3 * np.sqrt(600)) < 1e-3
    assert on_device(layer.weight.grad)
    np.testing.assert_allclose(float((layer.weight.grad ** 2).sum()), 1.0, rtol=1e-5)


def test_deepgrad_train_runs_on_the_device_and_resumes(device, tmp_path):
    """``deepgrad train --device cuda``: the CPU run's numbers; a resumed run continues."""
    import io

    from deepgrad import config
    from deepgrad.train.run import run
    cfg = {**config.defaults(), "epochs": 2, "hidden": 32, "dropout": 0.0}
    cpu = run({**cfg, "device": "cpu"}, stream=io.StringIO())
    out = str(tmp_path / "run")
    gpu = run({**cfg, "device": device}, out=out, stream=io.StringIO())
    np.testing.assert_allclose(gpu["history"]["loss"], cpu["history"]["loss"],
                               rtol=1e-4 if emulated() else 1e-3)
    assert abs(gpu["test"]["accuracy"] - cpu["test"]["accuracy"]) <= 0.01
    assert all(on_device(p) for p in gpu["model"].parameters())
    resumed = run(None, resume=out, overrides={"epochs": 3}, stream=io.StringIO())
    assert len(resumed["history"]["loss"]) == 3
    assert all(on_device(p) for p in resumed["model"].parameters())


def test_command_line_without_a_gpu_is_one_clear_line(monkeypatch, capsys):
    from deepgrad import cli
    monkeypatch.setattr(backend, "_cupy", None)
    assert cli.main(["bench", "--device", "cuda"]) == 2
    assert cli.main(["train", "--device", "cuda", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["deepgrad bench: error: --device cuda: CuPy is not installed (pip install "
                   "'deepgrad[gpu]')",
                   "deepgrad train: error: --device: device 'cuda' is not available: CuPy is "
                   "not installed (pip install 'deepgrad[gpu]')"]
