"""Long runs do not leak, and one seed gives one result in any process."""
import gc
import subprocess
import sys
import tracemalloc


import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset, load


def test_memory_is_flat_over_2000_training_steps():
    x, y = load("digits")
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 64),
                          nn.BatchNorm1d(64), nn.Tanh(), nn.Linear(64, 10))
    opt = dg.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    hook = model[0].register_forward_hook(lambda m, i, o: None)  # hooks must not leak either

    def steps(n):
        done = 0
        while done < n:
            for xb, yb in loader:
                loss = nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                done += 1
                if done == n:
                    return

    steps(200)  # warm up: optimizer state and caches exist from here on
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    steps(2000)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    hook.remove()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 256 * 1024, f"memory grew by {growth} bytes over 2000 steps"


def test_two_processes_with_one_seed_give_identical_weights(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        proc = subprocess.run([sys.executable, "-m", "deepgrad.cli", "train", "--epochs", "3",
                               "--dropout", "0.2", "--optimizer", "adam", "--lr", "0.001",
                               "--seed", "7", "--out", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        outs.append((out / "model.safetensors").read_bytes())
    assert outs[0] == outs[1]
    # and a different seed gives a different model
    proc = subprocess.run([sys.executable, "-m", "deepgrad.cli", "train", "--epochs", "1",
                           "--seed", "8", "--out", str(tmp_path / "c")], capture_output=True)
    assert (tmp_path / "c" / "model.safetensors").read_bytes() != outs[0]
