"""Train a small float64 model with the Trainer; run alone or under mpiexec.

    python ddp_run.py OUT.npz [--sync-bn] [--fail-on-rank R] [--dtype float32]

Rank 0 saves the final parameters to OUT.npz. Used by tests/test_distributed.py.
"""
import argparse

import numpy as np

import deepgrad as dg
from deepgrad import distributed, nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.train import Callback, Trainer


class FailAt(Callback):
    def __init__(self, rank, step):
        self.rank, self.step = rank, step

    def on_batch_end(self, trainer, logs):
        if distributed.rank() == self.rank and trainer.step == self.step:
            raise RuntimeError(f"planted failure on rank {self.rank} at step {self.step}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--fail-on-rank", type=int)
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args()
    distributed.init()
    dtype = np.dtype(args.dtype)
    dg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((330, 10)).astype(dtype)  # 330 = 10 batches of 32 + 10
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1)
    layers = [nn.Linear(10, 16, dtype=dtype)]
    if args.sync_bn:
        layers.append(nn.BatchNorm1d(16, dtype=dtype))
    layers += [nn.Tanh(), nn.Linear(16, 3, dtype=dtype)]
    model = nn.Sequential(*layers)
    if args.sync_bn:
        distributed.convert_sync_batchnorm(model)
    opt = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                       weight_decay=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=1)
    callbacks = [FailAt(args.fail_on_rank, 3)] if args.fail_on_rank is not None else []
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, loader, callbacks=callbacks,
                      distributed=True)
    trainer.fit(5)  # 5 epochs x 11 batches = 55 steps
    assert trainer.step == 55
    if distributed.is_main():
        np.savez(args.out, **{k: v for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
