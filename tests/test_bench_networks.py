"""The real-network benchmark (bench/networks.py, bench/breakdown.py): every net builds
in both frameworks and agrees with PyTorch at a small batch, and the summaries are
right; no timing is asserted."""
import io
import math

import pytest

from deepgrad.bench import breakdown, cpuinfo, harness, networks, run


@pytest.fixture
def no_settling(monkeypatch):
    monkeypatch.setattr(harness, "settle", lambda fn: fn())


@pytest.mark.parametrize("name", sorted(networks.NETWORKS))
def test_every_network_agrees_with_pytorch_at_a_small_batch(name):
    run.check_case(name, batch=3)


def test_the_nets_are_the_tutorials_layers():
    torch = harness.setup_torch()
    lenet, tlenet = networks.pair(networks.NETS["lenet"], torch)
    assert [type(m).__name__ for m in lenet] == [type(m).__name__ for m in tlenet] == [
        "Conv2d", "Sigmoid", "AvgPool2d", "Conv2d", "Sigmoid", "AvgPool2d", "Flatten",
        "Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert sum(p.numel() for p in tlenet.parameters()) == 61706  # d2l's LeNet-5
    cifar = networks.cifar_net(torch.nn)
    assert sum(p.numel() for p in cifar.parameters()) == 62006  # the tutorial's Net


def test_a_dropout_net_is_checked_without_dropout_and_timed_with_it():
    torch = harness.setup_torch()
    model, tmodel = networks.pair(networks.NETS["mnist"], torch)
    rates = [m.p for m in model.modules() if type(m).__name__ == "Dropout"]
    assert rates == [0.25, 0.5]
    with networks.dropout_off(model, tmodel):
        assert all(m.p == 0 for m in [*model.modules(), *tmodel.modules()]
                   if type(m).__name__ == "Dropout")
    assert [m.p for m in tmodel.modules() if type(m).__name__ == "Dropout"] == rates


def test_geometric_mean():
    assert networks.geometric_mean([2.0, 0.5]) == pytest.approx(1.0)
    assert networks.geometric_mean([1.0, 4.0, 2.0]) == pytest.approx(2.0)
    assert networks.geometric_mean([3.0]) == pytest.approx(3.0)


def test_the_networks_table_ends_with_the_geometric_mean(no_settling):
    out = io.StringIO()
    run.main(["tanh-mlp-32", "lenet-eval-1"], repeats=9, out=out)
    lines = out.getvalue().splitlines()
    assert cpuinfo.cpu_description() in lines[0]
    ratios = [float(line.split("|")[4]) for line in lines if "batch" in line]
    last = [c.strip() for c in lines[-1].strip("|").split("|")]
    assert last[0] == "geometric mean over the 2 networks"
    # the table prints 3 significant digits
    assert float(last[3]) == pytest.approx(math.sqrt(ratios[0] * ratios[1]), rel=1e-2)


@pytest.mark.parametrize("case", ["lenet-256", "cifar-64"])
def test_the_breakdown_has_one_row_per_layer_kind(no_settling, case):
    rows = breakdown.layer_times(case, repeats=1, rounds=1, batch=2)
    net = networks.NETS[networks.NETWORKS[case][2]["net"]].build(networks.nn)
    kinds = list(dict.fromkeys(type(m).__name__ for m in net))
    assert [row["layer"] for row in rows] == [*kinds, "CrossEntropyLoss", "SGD step",
                                              "all (sum of the rows)"]
    assert sum(row["layers"] for row in rows[:len(kinds)]) == rows[-1]["layers"] == len(net)
    for row in rows:
        assert row["deepgrad fwd ms"] + row["deepgrad bwd ms"] > 0
        assert row["torch fwd ms"] + row["torch bwd ms"] > 0


def test_the_breakdown_of_an_evaluation_has_forwards_only(no_settling):
    rows = breakdown.layer_times("lenet-eval-1", repeats=1, rounds=1)
    net = networks.NETS["lenet"].build(networks.nn)
    kinds = list(dict.fromkeys(type(m).__name__ for m in net))
    assert [row["layer"] for row in rows] == [*kinds, "all (sum of the rows)"]
    assert rows[-1]["layers"] == len(net)
    for row in rows:
        assert row["deepgrad fwd ms"] > 0 and row["torch fwd ms"] > 0
        assert row["deepgrad bwd ms"] == row["torch bwd ms"] == 0


def test_the_breakdown_refuses_an_unknown_case():
    with pytest.raises(ValueError, match="lenet-eval-1"):
        breakdown.main(["lenet-64"])


def test_the_cpu_is_named_with_its_vector_isa(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 fma\n")
    assert cpuinfo.cpu_description(info) == "Some CPU, AVX2"
    info.write_text("model name\t: Other\nflags\t: avx2 avx512f\n")
    assert cpuinfo.cpu_description(info) == "Other, AVX-512"
    assert cpuinfo.cpu_description(tmp_path / "missing") == "unknown CPU"
