"""The benchmark cases. Each ``build_*`` returns ``(deepgrad_step, torch_step, flops)``
after checking that both compute the same thing; ``CASES`` names every timed case.

All cases are float32 with the same initial weights and data in both frameworks.
"""
import contextlib

import numpy as np

import deepgrad as dg
from deepgrad import nn

from . import models
from .harness import check_close, setup_torch
from .models import MLP_SIZES


def _copy_weights(model, tmodel, torch):
    tmodel.load_state_dict({k: torch.from_numpy(dg.Tensor(v).numpy()) for k, v in
                            model.state_dict().items()})


def training_steps(model, tmodel, x, y, torch, opt_name="SGD", device="cpu",
                    torch_device=None, loss="CrossEntropyLoss", title="", atol=1e-5,
                    checking=contextlib.nullcontext, **options):
    """One training step function per framework, checked against each other over two
    steps (inside ``checking()``: a net with dropout turns it off there, as the two
    frameworks draw different masks). ``loss`` names the loss class of both ``nn``s;
    ``title`` goes before the checks' names.

    On a GPU each step ends by waiting for the device, so a step's time is its whole
    work, not the time to queue it."""
    opt = getattr(dg.optim, opt_name)(model.parameters(), **options)
    topt = getattr(torch.optim, opt_name)(tmodel.parameters(), **options)
    loss_fn, tloss = getattr(nn, loss)(), getattr(torch.nn, loss)()
    xd, yd = dg.tensor(x, device=device), dg.tensor(y, device=device)
    torch_device = torch_device or device
    xt, yt = torch.from_numpy(x).to(torch_device), torch.from_numpy(y).to(torch_device)
    torch_sync = torch.cuda.synchronize if torch_device != "cpu" else lambda: None

    def dg_step():
        loss = loss_fn(model(xd), yd)
        opt.zero_grad()
        loss.backward()
        opt.step()
        dg.cuda.synchronize()
        return loss

    def torch_step():
        loss = tloss(tmodel(xt), yt)
        topt.zero_grad()
        loss.backward()
        topt.step()
        torch_sync()
        return loss

    with checking():  # same weights and data: losses and weights stay together
        for step in range(2):
            check_close(f"{title}loss at step {step}", dg_step().item(),
                        torch_step().item())
    state = tmodel.state_dict()
    for key, value in model.state_dict().items():
        check_close(f"{title}{key} after 2 steps", value, state[key].cpu().numpy(),
                    atol=atol)
    return dg_step, torch_step


def _pair(build, torch, device="cpu", torch_device=None, **kwargs):
    """The same model in both frameworks, with deepgrad's initial weights, on a device."""
    model, tmodel = build(nn, **kwargs), build(torch.nn, **kwargs)
    _copy_weights(model, tmodel, torch)
    return model.to(device), tmodel.to(torch_device or device)


def _mlp_flops(batch, sizes=MLP_SIZES):
    """Matmul FLOPs of a training step: forward 2*m*n*k per layer, backward twice that."""
    return 3 * 2 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def build_mlp(batch, batch_norm=False, sizes=MLP_SIZES, seed=0, device="cpu",
              torch_device=None):
    torch = setup_torch()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], size=batch)
    dg.manual_seed(seed)
    where = {"device": device, "torch_device": torch_device}
    model, tmodel = _pair(models.mlp, torch, batch_norm=batch_norm, sizes=sizes, **where)
    steps = training_steps(model, tmodel, x, y, torch, lr=0.01, momentum=0.9, **where)
    return (*steps, _mlp_flops(batch, sizes))


def build_conv(batch, seed=0, device="cpu", torch_device=None):
    """conv 1->32 3x3, ReLU, maxpool 2, conv 32->64 3x3, ReLU, maxpool 2, linear
    3136->128, ReLU, linear 128->10 on 28x28 images; SGD momentum 0.9."""
    torch = setup_torch()
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    dg.manual_seed(seed)
    where = {"device": device, "torch_device": torch_device}
    model, tmodel = _pair(models.convnet, torch, **where)
    steps = training_steps(model, tmodel, x, y, torch, lr=0.01, momentum=0.9, **where)
    macs = (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10) * batch
    return (*steps, 3 * 2 * macs)


def build_locally_connected(batch, seed=0):
    """LocallyConnected2d(16 -> 32, 16x16 input, 3x3): forward + backward. PyTorch has no
    such layer; its side is the usual unfold + batched-matmul construction."""
    torch = setup_torch()
    c_in, c_out, size, k = 16, 32, 16, 3
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, size, size), dtype=np.float32)
    dg.manual_seed(seed)
    layer = nn.LocallyConnected2d(c_in, c_out, size, k, padding=1)
    out_h = out_w = size
    positions = out_h * out_w
    w = np.array(layer.weight._data)
    b = np.array(layer.bias._data)
    tw = torch.tensor(w.reshape(positions, c_out, c_in * k * k), requires_grad=True)
    tb = torch.tensor(b.reshape(c_out, positions).T.copy(), requires_grad=True)
    xd = dg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)

    def dg_step():
        out = layer(xd)
        out.backward(np.ones(out.shape, np.float32))
        return out

    def torch_step():
        cols = torch.nn.functional.unfold(xt, k, padding=1)  # (N, Cin*k*k, P)
        out = torch.bmm(tw, cols.permute(2, 1, 0))            # (P, Cout, N)
        out = out + tb[:, :, None]
        out = out.permute(2, 1, 0).reshape(batch, c_out, out_h, out_w)
        out.backward(torch.ones_like(out))
        return out

    check_close("LocallyConnected2d output", dg_step().detach().numpy(),
                torch_step().detach().numpy())
    macs = batch * positions * c_out * c_in * k * k
    return dg_step, torch_step, 3 * 2 * macs


# 10M parameters in three arrays, as a large model's layers would be
OPTIM_SHAPES = [(2000, 2000), (2000, 2000), (1000, 2000)]


def build_optimizer(name, seed=0, shapes=OPTIM_SHAPES, **options):
    torch = setup_torch()
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    params = [nn.Parameter(x.copy()) for x in starts]
    tparams = [torch.tensor(x.copy(), requires_grad=True) for x in starts]
    for p, tp, g in zip(params, tparams, grads):
        p._grad = g.copy()
        tp.grad = torch.from_numpy(g.copy())
    opt = getattr(dg.optim, name)(params, **options)
    topt = getattr(torch.optim, name)(tparams, **options)  # torch's default implementation
    for _ in range(2):
        opt.step()
        topt.step()
    for i, (p, tp) in enumerate(zip(params, tparams)):
        check_close(f"{name} parameter {i} after 2 steps", p._data, tp.detach().numpy())
    return opt.step, topt.step, None


def eval_steps(model, tmodel, x, torch, what):
    """One forward per framework in eval mode under no_grad (as when measuring test
    accuracy) on the same batch ``x``, checked against each other."""
    model.eval()
    tmodel.eval()
    xd, xt = dg.tensor(x), torch.from_numpy(x)

    def dg_step():
        with dg.no_grad():
            return model(xd)

    def torch_step():
        with torch.no_grad():
            return tmodel(xt)

    check_close(what, dg_step().numpy(), torch_step().numpy())
    return dg_step, torch_step


def build_eval(batch, seed=0):
    """Evaluation throughput: the MLP's forward under no_grad, in samples per second."""
    torch = setup_torch()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, MLP_SIZES[0]), dtype=np.float32)
    dg.manual_seed(seed)
    model, tmodel = _pair(models.mlp, torch)
    dg_step, torch_step = eval_steps(model, tmodel, x, torch, "eval output")
    return dg_step, torch_step, 2 * batch * sum(a * b for a, b in
                                                zip(MLP_SIZES[:-1], MLP_SIZES[1:]))


def _mlp_case(batch, sizes=MLP_SIZES, batch_norm=False):
    model = "MLP with BatchNorm1d" if batch_norm else "MLP " + "-".join(map(str, sizes))
    kwargs = {"batch": batch, **({"sizes": sizes} if sizes != MLP_SIZES else {}),
              **({"batch_norm": True} if batch_norm else {})}
    return f"{model} step, batch {batch}", build_mlp, kwargs


def _conv_case(batch):
    return f"convnet step, batch {batch}", build_conv, {"batch": batch}


# name -> (description, builder, arguments)
CASES = {
    **{f"mlp-{batch}": _mlp_case(batch) for batch in (32, 128, 512)},
    "bn-mlp-128": _mlp_case(128, batch_norm=True),
    **{f"conv-{batch}": _conv_case(batch) for batch in (64, 256)},
    "locally-connected": ("LocallyConnected2d 16->32, 16x16, fwd+bwd, batch 32",
                          build_locally_connected, {"batch": 32}),
    "adam-10m": ("Adam step, 10M parameters", build_optimizer,
                 {"name": "Adam", "lr": 1e-3}),
    "sgd-10m": ("SGD momentum step, 10M parameters", build_optimizer,
                {"name": "SGD", "lr": 1e-2, "momentum": 0.9}),
    "eval-1024": ("MLP evaluation (no_grad), batch 1024", build_eval, {"batch": 1024}),
}

# GPU cases (``deepgrad bench --device cuda``): deepgrad on CuPy against PyTorch's eager
# CUDA step, both synchronised after every step
WIDE_MLP = (4096, 4096, 4096, 4096, 10)
GPU_CASES = {
    **{f"gpu-mlp-{batch}": _mlp_case(batch) for batch in (128, 1024, 8192)},
    "gpu-mlp-4096-wide": _mlp_case(4096, sizes=WIDE_MLP),
    **{f"gpu-conv-{batch}": _conv_case(batch) for batch in (64, 512)},
}

# every case at a small size, for the test that checks results without timing
_SMALL = {build_mlp: {"batch": 8}, build_conv: {"batch": 4},
          build_locally_connected: {"batch": 2}, build_eval: {"batch": 16},
          build_optimizer: {"shapes": [(30, 20), (7,)]}}
CHECK_ARGS = {name: dict(_SMALL[build])
              for name, (_, build, _) in {**CASES, **GPU_CASES}.items()}
CHECK_ARGS["gpu-mlp-4096-wide"]["sizes"] = (64, 64, 64, 64, 10)
