"""Train the benchmark MLP or convnet in this process with one framework and print the
peak RSS in MB. Run by :func:`deepgrad.bench.processes.peak_memory_mb`. PyTorch is
imported only when it is measured; deepgrad's core is loaded in both cases (this
module lives in its package), which adds about 3 MB to PyTorch's figure."""
import sys

import numpy as np


def main(framework, name, steps):
    from deepgrad.bench import models
    build = models.mlp if name == "mlp" else models.convnet
    rng = np.random.default_rng(0)
    shape = (128, 784) if name == "mlp" else (64, 1, 28, 28)
    x = rng.random(shape, dtype=np.float32)
    y = rng.integers(0, 10, size=shape[0])
    if framework == "deepgrad":
        import deepgrad as dg
        model = build(dg.nn)
        opt = dg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xs, ys = dg.tensor(x), dg.tensor(y)
        loss_fn = dg.nn.CrossEntropyLoss()
    else:
        import torch
        torch.set_num_threads(int(sys.argv[4]))
        model = build(torch.nn)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xs, ys = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(steps):
        loss = loss_fn(model(xs), ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(peak_rss_mb())


def peak_rss_mb():
    """VmHWM, the peak RSS of this program. (getrusage's ru_maxrss would not do: on
    Linux it survives exec, so it would include the parent's peak before the fork.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
