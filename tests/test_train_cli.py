"""deepgrad train as a daily tool: output dir, config files, progress display, refusals."""
import json
import os
import pty
import re
import subprocess
import sys
import time

import pytest

from deepgrad import cli

QUICK = ["--dataset", "blobs", "--hidden", "16", "--depth", "1", "--epochs", "2"]


def test_out_dir_has_config_checkpoint_metrics_plots_and_model(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *QUICK, "--out", str(out)]) == 0
    names = set(os.listdir(out))
    assert {"config.toml", "checkpoints", "metrics.csv", "metrics.json", "loss.png",
            "accuracy.png", "model.safetensors"} <= names
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epoch"] == [1, 2] and len(metrics["val_loss"]) == 2
    assert (out / "metrics.csv").read_text().splitlines()[0].startswith("epoch,loss,accuracy")

    # the saved config reproduces the run exactly
    again = tmp_path / "again"
    assert cli.main(["train", "--config", str(out / "config.toml"), "--out", str(again)]) == 0
    assert json.loads((again / "metrics.json").read_text())["loss"] == metrics["loss"]

    capsys.readouterr()
    assert cli.main(["eval", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_flags_override_the_config_file(tmp_path, capsys):
    conf = tmp_path / "c.toml"
    conf.write_text('dataset = "blobs"\nhidden = 16\ndepth = 1\nepochs = 3\nbatch-size = 64\n')
    assert cli.main(["train", "--config", str(conf), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("epoch 1/1") == 1 and "epoch 2" not in out


def test_unknown_config_key_lists_the_valid_ones(tmp_path, capsys):
    conf = tmp_path / "c.toml"
    conf.write_text("epochz = 3\n")
    assert cli.main(["train", "--config", str(conf)]) == 2
    err = capsys.readouterr().err
    assert "epochz" in err and "batch-size" in err and "learning" not in err


def test_unknown_flag_lists_the_valid_ones():
    proc = subprocess.run([sys.executable, "-m", "deepgrad.cli", "train", "--epochz", "3"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--epochz" in proc.stderr and "--epochs" in proc.stderr


def test_model_that_does_not_fit_the_data_is_refused_before_training(capsys):
    assert cli.main(["train", "--model", "lenet", "--dataset", "digits-images"]) == 2
    err = capsys.readouterr().err
    assert "lenet" in err and "(1, 8, 8)" in err
    assert cli.main(["train", "--model", "cnn", "--dataset", "digits"]) == 2
    err = capsys.readouterr().err
    assert "cnn" in err and "(64,)" in err


def test_non_finite_loss_stops_with_a_message_and_keeps_the_last_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "blobs", "--lr", "1e30", "--epochs", "30",
                     "--checkpoint-every", "1", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert re.search(r"loss became (nan|inf) at epoch \d+, step \d+", err)
    from deepgrad import serialization
    tensors, _ = serialization.load_file(out / "checkpoints" / "last.safetensors")
    import numpy as np
    assert all(np.isfinite(v).all() for v in tensors.values())


def _read_all(fd, proc, timeout=120):
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append((time.monotonic(), data.decode(errors="replace")))
    proc.wait(timeout=30)
    return chunks


@pytest.mark.slow
def test_progress_bar_redraws_in_place_on_a_terminal_at_most_ten_times_a_second():
    leader, follower = pty.openpty()
    args = ["--hidden", "512", "--depth", "3", "--batch-size", "8", "--epochs", "2",
            "--dataset", "digits"]
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "deepgrad.cli", "train", *args],
                            stdout=follower, stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = _read_all(leader, proc)
    seconds = time.monotonic() - started  # longer than the drawing: a safe upper bound
    os.close(leader)
    assert proc.returncode == 0
    text = "".join(c for _, c in chunks)
    redraws = text.count("\r") - 2  # minus the two clears before the epoch lines
    assert redraws >= 2, text  # the bar was drawn in place
    assert "it/s" in text and "ETA" in text
    # at most one redraw per 0.1 s, plus the first of each epoch; drawing at every
    # batch would be 2 x 162 redraws
    assert redraws <= 10 * seconds + 2
    assert len(re.findall(r"epoch \d/2  loss", text)) == 2


def test_piped_output_is_one_clean_line_per_epoch():
    proc = subprocess.run([sys.executable, "-m", "deepgrad.cli", "train", *QUICK],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert "\r" not in proc.stdout and "\x1b" not in proc.stdout
    lines = proc.stdout.splitlines()
    assert [ln.split("  ")[0] for ln in lines if ln.startswith("epoch")] == ["epoch 1/2",
                                                                           "epoch 2/2"]


def test_history_plots_show_the_runs_own_numbers():
    from deepgrad.train import History
    from deepgrad.train.run import history_figure
    history = History()
    for epoch, (a, b) in enumerate([(0.5, 0.4), (0.7, 0.65), (0.9, 0.8)], 1):
        history.append(epoch, {"accuracy": a, "val_accuracy": b})
    ax = history_figure(history, "accuracy").axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "accuracy" and ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train accuracy",
                                                                   "validation accuracy"]
    train, val = ax.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3] and list(train.get_ydata()) == [0.5, 0.7, 0.9]
    assert list(val.get_ydata()) == [0.4, 0.65, 0.8]
