"""Runs that survive SIGKILL: resume bit for bit, and checkpoints that are never torn."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from deepgrad import serialization

RUN = ["--hidden", "64", "--batch-size", "16", "--checkpoint-every", "7", "--dropout", "0.1",
       "--scheduler", "step"]


def train(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "deepgrad.cli", "train", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def trainer_state(path):
    try:
        _, meta = serialization.load_file(path)
    except (FileNotFoundError, serialization.CheckpointError):
        return None
    return json.loads(meta["trainer"])


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_gives_identical_weights(tmp_path):
    epochs = "12"
    reference = train("--out", str(tmp_path / "ref"), "--epochs", epochs, *RUN)
    assert reference.wait(timeout=300) == 0, reference.stderr.read()

    killed_dir = tmp_path / "killed"
    last = killed_dir / "checkpoints" / "last.safetensors"
    proc = train("--out", str(killed_dir), "--epochs", epochs, *RUN)
    state = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        state = trainer_state(last)
        if state and state["epoch"] >= 1 and state["batch"] > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    state = trainer_state(last)
    assert state["batch"] > 0, "the checkpoint to resume from must be mid-epoch"
    assert not (killed_dir / "model.safetensors").exists()

    resumed = subprocess.run([sys.executable, "-m", "deepgrad.cli", "train", "--resume",
                              str(killed_dir)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from epoch {state['epoch']}" in resumed.stdout
    a, _ = serialization.load_file(tmp_path / "ref" / "model.safetensors")
    b, _ = serialization.load_file(killed_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key  # bit for bit
    ref_metrics = json.loads((tmp_path / "ref" / "metrics.json").read_text())
    new_metrics = json.loads((killed_dir / "metrics.json").read_text())
    assert ref_metrics["loss"] == new_metrics["loss"]
    assert ref_metrics["val_accuracy"] == new_metrics["val_accuracy"]


WRITER = r"""
import sys, numpy as np
from deepgrad import serialization
path = sys.argv[1]
rng = np.random.default_rng(0)
big = rng.standard_normal(4_000_000).astype(np.float32)   # 16 MB: writes take a while
step = 0
while True:
    step += 1
    big[0] = step
    serialization.save_file({"weights": big, "step": np.array(step)}, path,
                            {"step": str(step)})
    print(step, flush=True)
"""


@pytest.mark.slow
def test_sigkill_while_writing_never_leaves_an_unreadable_checkpoint(tmp_path):
    path = tmp_path / "last.safetensors"
    rng = np.random.default_rng(1)
    for attempt in range(20):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)],
                                stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one complete checkpoint exists
        time.sleep(rng.uniform(0.0, 0.15))  # then kill at a random point of a write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        tensors, meta = serialization.load_file(path)
        assert int(meta["step"]) == int(tensors["step"]) == int(tensors["weights"][0])
        assert tensors["weights"].shape == (4_000_000,)
    leftovers = [p for p in os.listdir(tmp_path) if p != "last.safetensors"]
    # a kill during a write may leave a hidden temporary file, never a damaged checkpoint
    assert all(p.startswith(".") and p.endswith(".tmp") for p in leftovers)
