"""Training step of a small convnet: deepgrad against PyTorch, same weights and data, in
one process (PyTorch gets as many threads as NumPy's BLAS; warm-up, medians).

    conv 1->32 3x3 (padding 1), ReLU, maxpool 2, conv 32->64 3x3 (padding 1), ReLU,
    maxpool 2, flatten, linear 3136->128, ReLU, linear 128->10; 28x28 inputs,
    cross-entropy, SGD momentum 0.9.

    python benchmarks/bench_conv.py [--batch 64] [--repeats 30] [--json] [--profile]

``--profile`` prints where deepgrad's step spends its time (cProfile, top entries).
"""
import argparse

import numpy as np

import harness

import deepgrad as dg


def build_models(torch):
    model = dg.nn.Sequential(
        dg.nn.Conv2d(1, 32, 3, padding=1), dg.nn.ReLU(), dg.nn.MaxPool2d(2),
        dg.nn.Conv2d(32, 64, 3, padding=1), dg.nn.ReLU(), dg.nn.MaxPool2d(2),
        dg.nn.Flatten(), dg.nn.Linear(3136, 128), dg.nn.ReLU(), dg.nn.Linear(128, 10))
    tmodel = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(3136, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))
    tmodel.load_state_dict({k: torch.from_numpy(v.copy())
                            for k, v in model.state_dict().items()})
    return model, tmodel


def flops(batch):
    """Forward + backward FLOPs of the convolutions and linears (2 per multiply-add,
    backward twice the forward)."""
    macs = (28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 3136 * 128 + 128 * 10) * batch
    return 3 * 2 * macs


def build(batch, seed=0):
    torch = harness.setup_torch()
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    dg.manual_seed(seed)
    model, tmodel = build_models(torch)
    opt = dg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    loss_fn, tloss = dg.nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    xd, yd = dg.tensor(x), dg.tensor(y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def dg_step():
        loss = loss_fn(model(xd), yd)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    def torch_step():
        loss = tloss(tmodel(xt), yt)
        topt.zero_grad()
        loss.backward()
        topt.step()
        return loss

    # same weights and data: the first losses agree (float32 round-off)
    first = float(dg_step().item()), float(torch_step().item())
    if abs(first[0] - first[1]) > 1e-4 * max(1.0, abs(first[1])):
        raise AssertionError(f"deepgrad and PyTorch disagree on the first loss: {first}")
    return dg_step, torch_step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    if args.profile:
        import cProfile
        import pstats
        dg_step, _ = build(args.batch[0])
        for _ in range(3):
            dg_step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.repeats):
            dg_step()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return
    rows = []
    for batch in args.batch:
        dg_step, torch_step = build(batch)
        t_dg, t_torch = harness.compare(dg_step, torch_step, repeats=args.repeats)
        rows.append({"case": f"convnet step, batch {batch}", "deepgrad ms": t_dg * 1e3,
                     "torch ms": t_torch * 1e3,
                     "deepgrad GFLOP/s": flops(batch) / t_dg / 1e9,
                     "ratio": t_dg / t_torch})
    harness.report("Small convnet (conv32-pool-conv64-pool-fc128-fc10) training step", rows,
                   ["case", "deepgrad ms", "torch ms", "deepgrad GFLOP/s", "ratio"], args.json)


if __name__ == "__main__":
    main()
