"""The benchmark suite checks deepgrad against PyTorch before it times anything: here
every case runs that check at a small size (no timing is asserted anywhere)."""
import io
import re

import pytest

import deepgrad as dg
from deepgrad.bench import cases, harness, run
from helpers_device import device  # noqa: F401 (fixture)


@pytest.mark.parametrize("name", sorted(cases.CASES))
def test_every_benchmark_case_agrees_with_pytorch(name):
    run.check_case(name, **cases.CHECK_ARGS[name])


def test_a_mismatch_fails_loudly():
    with pytest.raises(harness.BenchmarkMismatch, match="loss"):
        harness.check_close("loss", 1.0, 1.1)


def test_unknown_case_is_refused_with_the_list():
    with pytest.raises(ValueError, match="mlp-128"):
        run.main(["mlp-999"])


def test_import_time_and_memory_are_measured_in_fresh_processes():
    assert run.processes.import_time("deepgrad", repeats=1) > 0
    assert run.processes.peak_memory_mb("deepgrad", "mlp", steps=2) > 10


@pytest.mark.parametrize("name", sorted(cases.GPU_CASES))
def test_every_gpu_case_runs_deepgrads_side_on_the_device(device, name):
    """deepgrad on the device (emulated here, CuPy on a GPU) against PyTorch on the CPU:
    the case's own check compares them."""
    run.check_case(name, device=device, torch_device="cpu", **cases.CHECK_ARGS[name])


def test_gpu_benchmark_without_a_gpu_says_why(monkeypatch):
    monkeypatch.setattr(dg.backend, "_cupy", None)
    with pytest.raises(RuntimeError, match="--device cuda: CuPy is not installed"):
        run.main(device="cuda")
    with pytest.raises(ValueError, match="gpu-mlp-128"):
        run.main(["mlp-128"], device="cuda")


def test_a_timed_case_reports_the_median_and_range_of_the_rounds_ratios(monkeypatch):
    monkeypatch.setattr(harness, "settle", lambda fn: fn())  # no 0.3 s pauses here
    out = io.StringIO()
    run.main(["mlp-32"], repeats=9, with_processes=False, out=out)
    row = [line for line in out.getvalue().splitlines() if "batch 32" in line][0]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert re.fullmatch(r"\d+\.\d\d-\d+\.\d\d", cells[4])
    ratio, low, high = float(cells[3]), *map(float, cells[4].split("-"))
    assert low <= ratio <= high
