"""One optimizer step on a 10M-parameter model: deepgrad against torch.optim.

The model is three large float32 arrays (2000x2000, 2000x2000, 1000x2000 = 10M values)
with fixed gradients; both libraries start from the same values. torch.optim runs its
default implementation for CPU tensors (``foreach``/``fused`` left at None; the table
says which one that picked) with as many threads as NumPy's BLAS. deepgrad's updates
are NumPy ufuncs run in cache-sized blocks; the "whole arrays" rows run the same
ufuncs on whole arrays (``block_bytes=None``) to show what blocking buys.

    python benchmarks/bench_optim.py [--repeats 30] [--json]
"""
import argparse

import numpy as np

import harness

import deepgrad as dg

SHAPES = [(2000, 2000), (2000, 2000), (1000, 2000)]

CASES = {
    "Adam": ("Adam", dict(lr=1e-3)),
    "SGD momentum 0.9": ("SGD", dict(lr=1e-2, momentum=0.9)),
}


def build(optimizer, options, block_bytes="default", seed=0):
    torch = harness.setup_torch()
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal(s, dtype=np.float32) for s in SHAPES]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in SHAPES]
    params = [dg.nn.Parameter(x.copy()) for x in starts]
    tparams = [torch.tensor(x.copy(), requires_grad=True) for x in starts]
    for p, tp, g in zip(params, tparams, grads):
        p.grad = g.copy()
        tp.grad = torch.from_numpy(g.copy())
    opt = getattr(dg.optim, optimizer)(params, **options)
    if block_bytes != "default":
        opt.block_bytes = block_bytes
    topt = getattr(torch.optim, optimizer)(tparams, **options)
    # same data, same rule: the first steps agree to float32 round-off
    for _ in range(2):
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)
    return opt.step, topt.step


def torch_implementation(torch):
    from torch.optim.optimizer import _default_to_fused_or_foreach
    fused, foreach = _default_to_fused_or_foreach([torch.zeros(1)], differentiable=False)
    return "fused" if fused else "foreach" if foreach else "for-loop (single tensor)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-unblocked", action="store_true",
                        help="skip the whole-array rows")
    args = parser.parse_args(argv)
    torch = harness.setup_torch()
    n = sum(int(np.prod(s)) for s in SHAPES)
    rows = []
    for label, (optimizer, options) in CASES.items():
        variants = [("", "default")] + ([] if args.no_unblocked else
                                        [(" (whole arrays)", None)])
        for suffix, block in variants:
            dg_step, torch_step = build(optimizer, options, block)
            t_dg, t_torch = harness.compare(dg_step, torch_step, repeats=args.repeats)
            rows.append({"case": f"{label}{suffix}, {n / 1e6:.0f}M params",
                         "deepgrad ms": t_dg * 1e3, "torch ms": t_torch * 1e3,
                         "deepgrad GB/s": _traffic(optimizer, options, n) / t_dg / 1e9,
                         "ratio": t_dg / t_torch})
    title = (f"Optimizer step, float32 (torch.optim {torch_implementation(torch)}, "
             f"{torch.get_num_threads()} threads)")
    harness.report(title, rows, ["case", "deepgrad ms", "torch ms", "deepgrad GB/s",
                                 "ratio"], args.json)


def _traffic(optimizer, options, n):
    """Bytes a step must move at least: arrays read + arrays written, float32."""
    if optimizer == "Adam":
        return 4 * n * (4 + 3)  # read p, g, m, v; write p, m, v
    return 4 * n * (3 + 2)      # read p, g, buf; write p, buf


if __name__ == "__main__":
    main()
