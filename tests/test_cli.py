"""The command line, end to end, through a real subprocess where it matters."""
import re
import subprocess
import sys

import pytest

from deepgrad import cli


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "deepgrad.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_default_train_reaches_97_percent_on_the_digits():
    proc = run_cli("train")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    epoch_lines = [ln for ln in lines if ln.startswith("epoch")]
    assert len(epoch_lines) == 20
    for ln in epoch_lines:
        for field in ("loss", "accuracy", "val_loss", "val_accuracy", "time"):
            assert f" {field} " in ln
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", proc.stdout).group(1))
    assert accuracy >= 0.97


def test_train_options_reach_the_model_and_optimizer(capsys):
    assert cli.main(["train", "--dataset", "blobs", "--hidden", "16", "--depth", "1",
                     "--epochs", "2", "--lr", "0.1", "--batch-size", "64"]) == 0
    out = capsys.readouterr().out
    # 2 -> 16 -> 3: (2*16 + 16) + (16*3 + 3) parameters
    assert "99 parameters" in out
    assert out.count("epoch ") == 2
    assert "test accuracy" in out


def test_unknown_optimizer_is_refused_with_the_valid_names():
    proc = run_cli("train", "--optimizer", "adamx")
    assert proc.returncode == 2
    assert "--optimizer" in proc.stderr and "adamx" in proc.stderr and "sgd" in proc.stderr


def test_bad_numbers_are_refused_naming_the_flag():
    proc = run_cli("train", "--lr", "-1")
    assert proc.returncode == 2
    assert "--lr" in proc.stderr and "-1" in proc.stderr


def test_info_names_versions_and_blas(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "deepgrad" in out and "blas" in out


@pytest.mark.parametrize("name, png", [("gd-vs-sgd", "gd_vs_sgd.png"),
                                       ("mlp", "mlp_classification.png")])
def test_examples_write_their_figure(tmp_path, name, png):
    args = ["example", name, "--out", str(tmp_path), "--epochs", "5"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    data = (tmp_path / png).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
