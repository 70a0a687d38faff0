"""Real networks as their tutorials write them, timed like the other cases.

The cases of ``cases.py`` are each one model family at a few sizes; the slow spots of a
framework show in the nets people actually train first: d2l's LeNet-5 (sigmoid and
average pooling), the PyTorch CIFAR-10 tutorial net, a small VGG with BatchNorm2d,
pytorch/examples' mnist Net (log_softmax + nll_loss, dropout), MLPs with dropout or
tanh, and a LocallyConnected2d net. Each builder checks deepgrad against PyTorch first
(same initial weights via the state dict, same data, two training steps), so a timing
is never of two different computations.

    deepgrad bench --networks            # every net, the table and the geometric mean
    deepgrad bench --case lenet-256 cifar-64
    deepgrad bench --breakdown lenet-256 # which layer kind's forward or backward costs
"""
import contextlib
import math
from typing import NamedTuple

import numpy as np

import deepgrad as dg
from deepgrad import nn

from .cases import _copy_weights, eval_steps, training_steps
from .harness import setup_torch


def lenet(nn):
    """d2l's LeNet-5 (section 7.6) as d2l writes it: 5x5 convs, sigmoid, average pooling."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def cifar_net(nn):
    """The PyTorch CIFAR-10 tutorial's Net ("Training a classifier"), as a Sequential."""
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def small_vgg(nn):
    """Two VGG blocks of 3x3 conv-BatchNorm2d-ReLU pairs on 32x32x3, then one linear."""
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(
        *block(3, 32), *block(32, 32), nn.MaxPool2d(2),
        *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 10))


def mnist_net(nn):
    """pytorch/examples' mnist/main.py Net; its ``F.log_softmax(x, dim=1)`` is the last
    layer here, and the loss is nll_loss, as there."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, 1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, 1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10), nn.LogSoftmax(dim=1))


def dropout_mlp(nn):
    """784-512-256-10 with ReLU and dropout 0.5 after each hidden layer."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))


def tanh_mlp(nn):
    """784-256-256-10 with tanh: small layers, where each op's fixed cost shows."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
        nn.Linear(256, 10))


def locally_connected_net(nn):
    """A conv layer, then a LocallyConnected2d (unshared 3x3 filters, as in DeepFace's
    upper layers), then a linear classifier, on 28x28 images."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        _locally_connected(nn, 16, 16, 14, 3), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 12 * 12, 10))


def _locally_connected(nn, in_channels, out_channels, size, k):
    """deepgrad's LocallyConnected2d; PyTorch has none, so there the usual unfold +
    batched product, with deepgrad's parameter shapes so that the state dict copies."""
    if hasattr(nn, "LocallyConnected2d"):
        return nn.LocallyConnected2d(in_channels, out_channels, size, k)
    import torch
    out_size = size - k + 1
    positions = out_size * out_size

    class UnfoldLocallyConnected2d(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(out_size, out_size, out_channels,
                                                   in_channels, k, k))
            self.bias = nn.Parameter(torch.empty(out_channels, out_size, out_size))

        def forward(self, x):
            cols = torch.nn.functional.unfold(x, k)  # (N, C*k*k, P)
            w = self.weight.reshape(positions, out_channels, in_channels * k * k)
            y = torch.bmm(w, cols.permute(2, 1, 0))  # (P, out, N)
            return y.permute(2, 1, 0).reshape(len(x), out_channels, out_size,
                                              out_size) + self.bias

    return UnfoldLocallyConnected2d()


class Network(NamedTuple):
    title: str
    build: object           # build(nn) -> the model, for deepgrad.nn or torch.nn
    input_shape: tuple      # one sample's
    optimizer: str
    options: dict
    loss: str = "CrossEntropyLoss"
    atol: float = 1e-5      # the check's absolute tolerance (check_close's default)


# each with its tutorial's optimizer where the tutorial names one
NETS = {
    "lenet": Network("d2l LeNet-5", lenet, (1, 28, 28), "SGD", {"lr": 0.9}),
    "cifar": Network("CIFAR-10 tutorial net", cifar_net, (3, 32, 32), "SGD",
                     {"lr": 0.001, "momentum": 0.9}),
    # after two steps the first conv's weights differ by up to 3.5e-5 (seeds 0 and 1),
    # over check_close's default: float32 round-off of the two frameworks' different
    # summation orders, which BatchNorm2d's division by a small batch variance
    # amplifies; the batch statistics themselves are as precise as PyTorch's
    # (tests/test_batchnorm.py)
    "vgg": Network("small VGG with BatchNorm2d", small_vgg, (3, 32, 32), "SGD",
                   {"lr": 0.01, "momentum": 0.9}, atol=1e-4),
    "mnist": Network("pytorch/examples mnist Net", mnist_net, (1, 28, 28), "Adadelta",
                     {"lr": 1.0}, loss="NLLLoss"),
    "dropout-mlp": Network("MLP 784-512-256-10 with dropout 0.5", dropout_mlp,
                           (1, 28, 28), "SGD", {"lr": 0.1}),
    "tanh-mlp": Network("tanh MLP 784-256-256-10", tanh_mlp, (1, 28, 28), "SGD",
                        {"lr": 0.1}),
    "locally-connected-net": Network("conv + LocallyConnected2d net", locally_connected_net,
                                     (1, 28, 28), "SGD", {"lr": 0.01, "momentum": 0.9}),
}


def pair(net, torch, seed=0):
    """The net in both frameworks, PyTorch's with deepgrad's initial weights."""
    dg.manual_seed(seed)
    model, tmodel = net.build(nn), net.build(torch.nn)
    _copy_weights(model, tmodel, torch)
    return model, tmodel


def data(net, batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *net.input_shape), dtype=np.float32)
    return x, rng.integers(0, 10, size=batch)


@contextlib.contextmanager
def dropout_off(*models):
    """Every Dropout of the models with p = 0 inside the block, its own p again after."""
    layers = [m for model in models for m in model.modules()
              if type(m).__name__ == "Dropout"]
    rates = [m.p for m in layers]
    for m in layers:
        m.p = 0.0
    try:
        yield
    finally:
        for m, p in zip(layers, rates):
            m.p = p


def build_training(net, batch, seed=0):
    """One training step per framework, checked against each other over two steps.

    The nets' own losses (the mnist Net's is nll_loss on its log_softmax). Dropout draws
    different masks in the two frameworks, so the check runs with p = 0 and the timed
    steps with the net's own p."""
    torch = setup_torch()
    net = NETS[net]
    model, tmodel = pair(net, torch, seed)
    x, y = data(net, batch, seed)
    dg_step, torch_step = training_steps(
        model, tmodel, x, y, torch, net.optimizer, loss=net.loss, title=f"{net.title}: ",
        atol=net.atol, checking=lambda: dropout_off(model, tmodel), **net.options)
    return dg_step, torch_step, None


def build_eval(net, batch, seed=0):
    """The net's forward in eval mode under no_grad, as when measuring test accuracy."""
    torch = setup_torch()
    net = NETS[net]
    model, tmodel = pair(net, torch, seed)
    x, _ = data(net, batch, seed)
    dg_step, torch_step = eval_steps(model, tmodel, x, torch, f"{net.title}: eval output")
    return dg_step, torch_step, None


def _training_case(net, batch):
    return (f"{NETS[net].title} step, batch {batch}", build_training,
            {"net": net, "batch": batch})


def _eval_case(net, batch):
    return (f"{NETS[net].title} evaluation (no_grad), batch {batch}", build_eval,
            {"net": net, "batch": batch})


# name -> (description, builder, arguments), as cases.CASES
NETWORKS = {
    "lenet-256": _training_case("lenet", 256),
    "cifar-64": _training_case("cifar", 64),
    "vgg-bn-64": _training_case("vgg", 64),
    "mnist-net-64": _training_case("mnist", 64),
    "dropout-mlp-256": _training_case("dropout-mlp", 256),
    "tanh-mlp-32": _training_case("tanh-mlp", 32),
    "lenet-eval-1": _eval_case("lenet", 1),
    "lenet-eval-1000": _eval_case("lenet", 1000),
    "lc-net-64": _training_case("locally-connected-net", 64),
}


def geometric_mean(values):
    """The mean of ratios: a net twice as slow and one twice as fast average to 1."""
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))
