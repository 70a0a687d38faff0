"""Training step of an MLP 784-512-256-10 (ReLU, cross-entropy, SGD momentum 0.9):
deepgrad against PyTorch, same weights and data, in one process.

    python benchmarks/bench_mlp.py [--batch 32 128 512] [--json]
"""
import argparse

import numpy as np

import harness

import deepgrad as dg

SIZES = (784, 512, 256, 10)


def flops(batch):
    """Forward + backward matmul FLOPs of one step (2 per multiply-add; backward 2x)."""
    macs = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:])) * batch
    return 3 * 2 * macs


def build(batch, seed=0):
    torch = harness.setup_torch()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=batch)

    dg.manual_seed(seed)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [dg.nn.Linear(a, b), dg.nn.ReLU()]
    model = dg.nn.Sequential(*layers[:-1])
    opt = dg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = dg.nn.CrossEntropyLoss()
    xd, yd = dg.tensor(x), dg.tensor(y)

    tlayers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        tlayers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    tmodel = torch.nn.Sequential(*tlayers[:-1])
    tmodel.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    tloss = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def dg_step():
        loss = loss_fn(model(xd), yd)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def torch_step():
        loss = tloss(tmodel(xt), yt)
        topt.zero_grad()
        loss.backward()
        topt.step()

    return dg_step, torch_step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 128, 512])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for batch in args.batch:
        dg_step, torch_step = build(batch)
        t_dg, t_torch = harness.compare(dg_step, torch_step, repeats=args.repeats)
        rows.append({"case": f"MLP step, batch {batch}", "deepgrad ms": t_dg * 1e3,
                     "torch ms": t_torch * 1e3,
                     "deepgrad GFLOP/s": flops(batch) / t_dg / 1e9,
                     "ratio": t_dg / t_torch})
    harness.report("MLP 784-512-256-10 training step", rows,
                   ["case", "deepgrad ms", "torch ms", "deepgrad GFLOP/s", "ratio"], args.json)


if __name__ == "__main__":
    main()
