"""Data-parallel training over MPI, run for real through mpiexec -n 2."""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from deepgrad import serialization

SCRIPT = os.path.join(os.path.dirname(__file__), "mpi", "ddp_run.py")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.mpi


def mpiexec(n, *args, timeout=120):
    assert MPIEXEC, "mpiexec is missing: pip install '.[mpi]' installs mpich"
    return subprocess.run([MPIEXEC, "-n", str(n), *args], capture_output=True, text=True,
                          timeout=timeout)


def single(*args, timeout=120):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def _compare(a_path, b_path, rtol):
    a, b = np.load(a_path), np.load(b_path)
    assert a.files == b.files
    for key in a.files:
        np.testing.assert_allclose(b[key], a[key], rtol=rtol, atol=0, err_msg=key)


@pytest.mark.parametrize("sync_bn", [False, True])
def test_two_ranks_take_the_single_process_steps_at_float64(tmp_path, sync_bn):
    extra = ["--sync-bn"] if sync_bn else []
    one = single(sys.executable, SCRIPT, str(tmp_path / "one.npz"), *extra)
    assert one.returncode == 0, one.stderr
    two = mpiexec(2, sys.executable, SCRIPT, str(tmp_path / "two.npz"), *extra)
    assert two.returncode == 0, two.stderr
    _compare(tmp_path / "one.npz", tmp_path / "two.npz", rtol=1e-12)


def test_two_ranks_at_float32_agree_within_round_off(tmp_path):
    one = single(sys.executable, SCRIPT, str(tmp_path / "one.npz"), "--dtype", "float32")
    two = mpiexec(2, sys.executable, SCRIPT, str(tmp_path / "two.npz"), "--dtype", "float32")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    _compare(tmp_path / "one.npz", tmp_path / "two.npz", rtol=1e-4)


def test_a_failure_on_one_rank_ends_every_rank_quickly(tmp_path):
    start = time.monotonic()
    proc = mpiexec(2, sys.executable, SCRIPT, str(tmp_path / "x.npz"), "--fail-on-rank", "1",
                   timeout=60)
    assert proc.returncode != 0
    assert time.monotonic() - start < 30
    assert "planted failure on rank 1" in proc.stderr
    assert "[rank 1/2]" in proc.stderr


def _weights(directory):
    tensors, _ = serialization.load_file(os.path.join(directory, "model.safetensors"))
    return tensors


@pytest.mark.slow
def test_a_two_rank_checkpoint_resumes_on_one_or_two_ranks(tmp_path):
    cli = [sys.executable, "-m", "deepgrad.cli", "train"]
    common = ["--hidden", "32", "--batch-size", "64", "--distributed"]
    ref = mpiexec(2, *cli, *common, "--epochs", "4", "--out", str(tmp_path / "ref"))
    assert ref.returncode == 0, ref.stderr
    half = mpiexec(2, *cli, *common, "--epochs", "2", "--out", str(tmp_path / "a"))
    assert half.returncode == 0, half.stderr
    shutil.copytree(tmp_path / "a", tmp_path / "b")

    two = mpiexec(2, *cli, "--resume", str(tmp_path / "a"), "--epochs", "4")
    assert two.returncode == 0, two.stderr
    assert "resuming from epoch 2" in two.stdout
    one = single(*cli, "--resume", str(tmp_path / "b"), "--epochs", "4")
    assert one.returncode == 0, one.stderr

    reference = _weights(tmp_path / "ref")
    for key, value in _weights(tmp_path / "a").items():  # same ranks: bit for bit
        assert np.array_equal(value, reference[key]), key
    for key, value in _weights(tmp_path / "b").items():  # 1 rank: float32 round-off
        np.testing.assert_allclose(value, reference[key], rtol=1e-4, atol=1e-6, err_msg=key)
