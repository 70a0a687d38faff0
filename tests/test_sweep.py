"""deepgrad sweep: a grid of runs over MPI ranks or local processes."""
import csv
import shutil
import subprocess
import sys

import pytest

from deepgrad import cli, sweep


def _rows(out):
    with open(out / "sweep.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.mpi
def test_sweep_of_2_optimizers_3_rates_2_seeds_on_two_ranks(tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.run(
        [shutil.which("mpiexec"), "-n", "2", sys.executable, "-m", "deepgrad.cli", "sweep",
         "--optimizer", "sgd", "adam", "--lr", "0.01", "0.1", "1", "--seed", "0", "1",
         "--epochs", "3", "--hidden", "64", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = _rows(out)
    assert len(rows) == 12
    assert {(r["optimizer"], float(r["lr"]), int(r["seed"])) for r in rows} == {
        (o, lr, s) for o in ("sgd", "adam") for lr in (0.01, 0.1, 1.0) for s in (0, 1)}
    # runs are independent: different seeds give different models
    by_seed = {r["seed"]: r["loss"] for r in rows
               if r["optimizer"] == "sgd" and float(r["lr"]) == 0.1}
    assert by_seed["0"] != by_seed["1"]
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "| optimizer | lr |" in (out / "sweep.md").read_text()
    assert len(list((out / "runs").iterdir())) == 12


def test_sweep_from_a_toml_grid_with_local_processes(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text('optimizer = ["sgd", "rmsprop"]\nlr = [0.01, 0.05]\nepochs = 1\n'
                    'dataset = "blobs"\nhidden = 8\ndepth = 1\n')
    out = tmp_path / "out"
    assert cli.main(["sweep", "--grid", str(grid), "--jobs", "2", "--out", str(out)]) == 0
    rows = _rows(out)
    assert [(r["optimizer"], r["lr"]) for r in rows] == [
        ("sgd", "0.01"), ("sgd", "0.05"), ("rmsprop", "0.01"), ("rmsprop", "0.05")]
    assert all(r["status"] == "ok" for r in rows)


def test_a_diverging_rate_is_reported_not_fatal(tmp_path):
    runs = sweep.expand({"lr": [1e30]}, {"dataset": "blobs", "epochs": 2, "hidden": 8})
    rows = sweep.sweep(runs, str(tmp_path))
    assert rows[0]["status"].startswith("diverged")


def test_a_bad_grid_is_refused_before_any_run(tmp_path, capsys):
    assert cli.main(["sweep", "--optimizer", "sgd", "nadam", "--out", str(tmp_path)]) == 2
    assert "nadam" in capsys.readouterr().err
    grid = tmp_path / "g.toml"
    grid.write_text("learning_rate = [0.1]\n")
    assert cli.main(["sweep", "--grid", str(grid), "--out", str(tmp_path)]) == 2
