"""Nothing lost on a long run (issue 24): 5,000 training steps of a small convnet fed by
a DataLoader with two worker processes, re-created every epoch (about 80 pools started
and stopped), with PyTorch-style Tensor gradients (``p.grad``, clipped through
``clip_grad_norm_``) and momentum SGD.

Measured: the resident memory (VmRSS) at step 500, when every cache, the optimizer's
state and the allocator's arenas exist, and at step 5,000; the open file descriptors
before the loader is made and after the run; the live child processes after the run.

The bound on growth, 4 MiB over 4,500 steps, is 0.9 KiB a step: less than one batch
(8 images of 1x8x8 float32 and 8 labels, 2.1 KiB, before any Tensor overhead) and far
less than one step's graph (its activations are about 10 KiB), so keeping either once
per step fails it, while the allocator's noise passes (measured here: +0.2 MiB from step
500 to 5,000, at about 8 ms a step, 40 s in all). Run with ``pytest -s`` to see the
figures.
"""
import os
import time

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from helpers_processes import children

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc")]

STEPS, WARM_UP = 5000, 500
GROWTH_BOUND = 4 * 2 ** 20  # bytes; see the module docstring


def rss():
    """This process's resident memory in bytes (VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def open_fds():
    return sorted(int(fd) for fd in os.listdir("/proc/self/fd"))


def test_5000_steps_with_workers_keep_memory_fds_and_processes_flat():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 1, 8, 8)).astype(np.float32)
    y = (x.reshape(512, -1)[:, :10].argmax(1)).astype(np.int64)  # a learnable rule
    dg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 10))
    opt = dg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    children_before, fds_before = children(), open_fds()
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=0,
                        num_workers=2)

    memory, losses, step, epochs = {}, [], 0, 0
    start = time.monotonic()
    while step < STEPS:
        epochs += 1
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            assert isinstance(model[0].weight.grad, dg.Tensor)
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses.append(loss.item())
            step += 1
            if step % 500 == 0:
                memory[step] = rss()
            if step == STEPS:
                break
    seconds = time.monotonic() - start
    del loader, xb, yb  # the iterator of the last epoch went with the loop
    children_after, fds_after = children(), open_fds()
    deadline = time.monotonic() + 5
    while children_after and time.monotonic() < deadline:  # workers finishing their exit
        time.sleep(0.05)
        children_after = children()

    growth = memory[STEPS] - memory[WARM_UP]
    print(f"\n{STEPS} steps ({epochs} epochs, a worker pool of 2 per epoch) in "
          f"{seconds:.1f} s ({1000 * seconds / STEPS:.2f} ms a step)")
    print("VmRSS by step: " + ", ".join(f"{s}: {m / 2 ** 20:.1f} MiB"
                                        for s, m in sorted(memory.items())))
    print(f"RSS at step {WARM_UP}: {memory[WARM_UP] / 2 ** 20:.1f} MiB, at step {STEPS}: "
          f"{memory[STEPS] / 2 ** 20:.1f} MiB, growth {growth / 2 ** 20:+.2f} MiB "
          f"({growth / (STEPS - WARM_UP):+.0f} bytes a step; bound "
          f"{GROWTH_BOUND / 2 ** 20:.0f} MiB)")
    print(f"open fds: {len(fds_before)} before the loader, {len(fds_after)} after the run; "
          f"child processes: {len(children_before)} before, {len(children_after)} after")
    print(f"loss: first 100 steps {np.mean(losses[:100]):.3f}, last 100 "
          f"{np.mean(losses[-100:]):.3f}")

    assert step == STEPS
    assert np.mean(losses[-100:]) < np.mean(losses[:100]), "the model did not train"
    assert growth < GROWTH_BOUND, f"RSS grew by {growth} bytes from step {WARM_UP}"
    assert fds_after == fds_before, f"file descriptors left open: {set(fds_after) - set(fds_before)}"
    assert children_after == children_before, f"worker processes left: {children_after}"
