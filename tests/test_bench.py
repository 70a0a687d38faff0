"""The benchmark suite checks deepgrad against PyTorch before it times anything: here
every case runs that check at a small size (no timing is asserted anywhere)."""
import pytest

from deepgrad.bench import cases, harness, run


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
