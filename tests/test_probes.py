"""Training probes (issue 19): the recorded numbers against the model, computed again
independently; the figures and probes.json; TensorBoard when a writer is importable;
hooks removed and training unchanged; ``deepgrad train --probes``."""
import json
import math
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import backend, cli, nn, optim
from deepgrad.nn import functional as F
from deepgrad.train import Probes, Trainer
from deepgrad.train import probes as probes_mod
from deepgrad.train import tensorboard

QUICK = ["--dataset", "blobs", "--hidden", "16", "--depth", "1", "--epochs", "2"]


def _batches(count, n=8, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(dg.tensor(rng.standard_normal((n, features)).astype(np.float32)),
             dg.tensor(rng.integers(0, classes, n))) for _ in range(count)]


def _fit(model, batches, probes=None, lr=0.1, epochs=1, momentum=0.0, val=None):
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, batches, val,
                      callbacks=[probes] if probes is not None else [])
    trainer.fit(epochs)
    return trainer


def _norm(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    return math.sqrt(float(a @ a))


def _weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def test_activation_histograms_and_stats_are_those_of_the_layer_output():
    backend.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    w, b = model[0].weight._data.copy(), model[0].bias._data.copy()
    batches = _batches(1)
    probes = Probes(every=1, bins=12)
    _fit(model, batches, probes)
    rec = probes.records
    assert rec["steps"] == [0] and list(rec["layers"]) == ["0", "1", "2"]
    y = batches[0][0]._data.astype(np.float64) @ w.T.astype(np.float64) + b
    act = rec["layers"]["0"]["activation"][0]
    assert act["count"] == y.size == 8 * 5 and sum(act["hist"]["counts"]) == y.size
    assert len(act["hist"]["counts"]) == 12
    assert act["mean"] == pytest.approx(y.mean(), abs=1e-6)
    assert act["std"] == pytest.approx(y.std(), abs=1e-6)
    assert act["min"] == pytest.approx(y.min(), abs=1e-6)
    assert act["max"] == pytest.approx(y.max(), abs=1e-6)
    expected, _ = np.histogram(y, bins=12, range=(act["hist"]["lo"], act["hist"]["hi"]))
    assert np.abs(np.array(act["hist"]["counts"]) - expected).sum() <= 2  # float32 edges
    relu = rec["layers"]["1"]["activation"][0]
    assert relu["min"] == 0.0 and sum(relu["hist"]["counts"]) == 40
    for name, layer in rec["layers"].items():  # every output element is counted
        for stats in layer["activation"] + layer["gradient"]:
            assert sum(stats["hist"]["counts"]) == stats["count"] and stats["nonfinite"] == 0


def test_gradients_match_the_output_grads_and_dot_grad_computed_again():
    backend.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 3))
    twin = nn.Sequential(nn.Linear(6, 7), nn.Tanh(), nn.Linear(7, 3))
    twin.load_state_dict(model.state_dict())
    batches = _batches(1)
    probes = Probes(every=1)
    _fit(model, batches, probes)
    rec = probes.records

    # again, without probes: each layer's output gradient kept by retain_grad
    x, y = batches[0]
    outputs, h = [], x
    for layer in twin:
        h = layer(h)
        h.retain_grad()
        outputs.append(h)
    F.cross_entropy(h, y).backward()
    for i, out in enumerate(outputs):
        grad = rec["layers"][str(i)]["gradient"][0]
        g = out.grad.numpy()
        assert grad["norm"] == pytest.approx(_norm(g), rel=1e-6)
        assert grad["mean"] == pytest.approx(g.mean(), abs=1e-9)
        assert grad["count"] == g.size == sum(grad["hist"]["counts"])
    # the last layer's by hand: (softmax - one-hot) / N
    logits = outputs[-1].detach().numpy().astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(8), y.numpy()] -= 1
    assert rec["layers"]["2"]["gradient"][0]["norm"] == pytest.approx(_norm(p / 8), rel=1e-5)
    # parameter gradients: .grad of the trained model (the step does not change it) and
    # of the twin's backward
    for name, param in model.named_parameters():
        recorded = rec["parameters"][name]["grad_norm"][0]
        assert recorded == pytest.approx(_norm(param.grad.numpy()), rel=1e-12)
        assert recorded == pytest.approx(_norm(twin.get_parameter(name).grad.numpy()),
                                         rel=1e-6)


def test_update_ratio_of_plain_sgd_is_lr_times_grad_norm_over_weight_norm():
    backend.manual_seed(2)
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    before = _weights(model)
    probes = Probes(every=1)
    lr = 0.05
    _fit(model, _batches(1), probes, lr=lr)
    for name, param in model.named_parameters():
        series = probes.records["parameters"][name]
        by_hand = lr * _norm(param.grad.numpy()) / _norm(before[name])
        assert series["update_ratio"][0] == pytest.approx(by_hand, rel=1e-5)
        assert series["weight_norm"][0] == pytest.approx(_norm(before[name]), rel=1e-12)
        assert series["update_norm"][0] == pytest.approx(
            _norm(param._data.astype(np.float64) - before[name]), rel=1e-12)


def test_dead_relu_fraction_of_a_crafted_layer():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    with dg.no_grad():
        model[0].weight.data = dg.zeros(8, 6)
        model[0].bias.data = dg.tensor(np.array([-1, -1, -1, 1, 1, 1, 1, 1], np.float32))
    probes = Probes(every=1)
    _fit(model, _batches(1), probes)
    relu = probes.records["layers"]["1"]
    assert relu["kind"] == "relu" and relu["dead"] == [3 / 8] and relu["saturated"] == [None]
    assert probes.records["layers"]["0"]["dead"] == [None]  # a Linear is not a ReLU

    # per channel position of a feature map: one of two channels never fires
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    with dg.no_grad():
        conv[0].bias.data = dg.tensor(np.array([-1000.0, 1000.0], np.float32))
    rng = np.random.default_rng(0)
    images = [(dg.tensor(rng.standard_normal((4, 1, 6, 6)).astype(np.float32)),
               dg.tensor(rng.integers(0, 3, 4)))]
    probes = Probes(every=1)
    _fit(conv, images, probes)
    assert "2" not in probes.records["layers"]  # Flatten only reshapes
    assert probes.records["layers"]["1"]["dead"] == [0.5]


def test_saturation_of_sigmoid_and_tanh_layers_with_large_weights():
    backend.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 10), nn.Sigmoid(), nn.Linear(10, 10), nn.Tanh(),
                          nn.Linear(10, 3))
    with dg.no_grad():
        model[0].weight.data = model[0].weight * 200
        model[2].weight.data = model[2].weight * 200
    batches = _batches(1)
    with dg.no_grad():  # the expected fractions, from the same forward
        s = model[1](model[0](batches[0][0]))
        t = model[3](model[2](s))
    s, t = s.numpy(), t.numpy()
    probes = Probes(every=1)
    _fit(model, batches, probes)
    layers = probes.records["layers"]
    expected_s = float(((s < 0.01) | (s > 0.99)).mean())
    expected_t = float((np.abs(t) > 0.99).mean())
    assert expected_s > 0.8 and expected_t > 0.8
    assert layers["1"]["saturated"] == [pytest.approx(expected_s)]
    assert layers["3"]["saturated"] == [pytest.approx(expected_t)]
    assert layers["1"]["dead"] == [None] and layers["0"]["saturated"] == [None]


def test_batchnorm_stats_match_the_layer_buffers_and_the_batch():
    backend.manual_seed(4)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3))
    batches = _batches(3)
    probes = Probes(every=1)
    _fit(model, batches, probes)
    bn = probes.records["batchnorm"]["1"]
    assert bn["type"] == "BatchNorm1d" and len(bn["running_mean"]) == 3
    for key in ("running_mean", "running_var"):
        buffer = model[1]._buffers[key]
        assert bn[key][-1] == {"mean": pytest.approx(float(buffer.mean())),
                               "min": pytest.approx(float(buffer.min())),
                               "max": pytest.approx(float(buffer.max()))}

    # momentum 1: the running statistics are the batch's, step by step
    backend.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3, momentum=1.0), nn.ReLU(),
                          nn.Flatten(), nn.Linear(3 * 4 * 4, 3))
    rng = np.random.default_rng(1)
    images = [(dg.tensor(rng.standard_normal((4, 1, 6, 6)).astype(np.float32) * 3 + 1),
               dg.tensor(rng.integers(0, 3, 4))) for _ in range(2)]
    conv_w, conv_b = model[0].weight._data.copy(), model[0].bias._data.copy()
    probes = Probes(every=1)
    _fit(model, images, probes)
    bn = probes.records["batchnorm"]["1"]
    for i in range(2):
        for a, b in (("running_mean", "batch_mean"), ("running_var", "batch_var")):
            for stat in ("mean", "min", "max"):
                assert bn[a][i][stat] == pytest.approx(bn[b][i][stat], rel=1e-5, abs=1e-6)
    # the first step's batch, by hand: the convolution's output per channel
    x = images[0][0].numpy().astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
    out = np.einsum("nchwij,kcij->nkhw", windows, conv_w) + conv_b[None, :, None, None]
    mean = out.mean(axis=(0, 2, 3))
    std = out.std(axis=(0, 2, 3), ddof=1)
    assert bn["batch_mean"][0]["mean"] == pytest.approx(mean.mean(), abs=1e-5)
    assert bn["batch_std"][0]["max"] == pytest.approx(std.max(), rel=1e-5)


def test_every_n_steps_training_forwards_only_and_hooks_removed():
    backend.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    probes = Probes(every=3)
    batches = _batches(7)
    _fit(model, batches, probes, val=batches[:2])
    assert probes.records["steps"] == [0, 3, 6]  # validation forwards are not probed
    assert all(len(layer["activation"]) == 3 for layer in probes.records["layers"].values())
    assert all(not m._forward_hooks for m in model.modules())
    assert all(not p._hooks for p in model.parameters())
    with dg.no_grad():
        model(batches[0][0])
    model(batches[0][0]).sum().backward()  # hooks gone: nothing more is recorded
    assert probes.records["steps"] == [0, 3, 6]


def test_training_with_probes_is_bit_identical():
    def train(with_probes, tmp=None):
        backend.manual_seed(6)
        model = nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.Sigmoid(),
                              nn.Dropout(0.3), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 3))
        probes = Probes(every=1, out_dir=tmp) if with_probes else None
        trainer = _fit(model, _batches(5), probes, momentum=0.9, epochs=2)
        return _weights(model), trainer.history.to_dict(), backend.get_rng_state()

    plain, probed = train(False), train(True)
    assert plain[0].keys() == probed[0].keys()
    for key in plain[0]:
        assert np.array_equal(plain[0][key], probed[0][key]), key
    assert plain[1]["loss"] == probed[1]["loss"]
    assert str(plain[2]) == str(probed[2])  # no random numbers drawn


def _check_labelled(fig):
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes
    for ax in axes:
        assert ax.get_xlabel() == "step" and ax.get_ylabel() and ax.get_title()
        if ax.lines or ax.collections:
            assert ax.get_legend() is not None, ax.get_title()


def test_figures_have_labels_and_are_written_with_probes_json(tmp_path, capsys):
    backend.manual_seed(7)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8),
                          nn.Tanh(), nn.Linear(8, 3))
    out = tmp_path / "probes"
    probes = Probes(every=2, out_dir=out, tensorboard=False)
    _fit(model, _batches(6), probes, epochs=2)
    figs = probes.figures()
    assert set(figs) == set(probes_mod.FIGURES)
    for fig in figs.values():
        _check_labelled(fig)
    ratio_ax = figs["probes_update_ratio.png"].axes[0]
    assert ratio_ax.get_yscale() == "log" and "ratio" in ratio_ax.get_title().lower()
    acts = figs["probes_activations.png"]
    assert [ax.get_title() for ax in acts.axes[:6]] == [
        "activations of 0 (Linear)", "activations of 1 (BatchNorm1d)",
        "activations of 2 (ReLU)", "activations of 3 (Linear)", "activations of 4 (Tanh)",
        "activations of 5 (Linear)"]
    assert any(ax.get_label() == "<colorbar>" for ax in acts.axes)

    names = {"probes.json", *probes_mod.FIGURES}
    assert set(os.listdir(out)) == names  # written atomically: no temporary file left
    for name in probes_mod.FIGURES:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    saved = json.loads((out / "probes.json").read_text())
    assert saved == probes.to_dict() and saved["steps"] == [0, 2, 4, 6, 8, 10]
    assert set(probes_mod.figures(saved)) == set(figs)  # a saved run is plotted again
    assert "probes: wrote probes.json" in capsys.readouterr().out

    # no BatchNorm, no batch-norm figure
    plain = Probes(every=1)
    _fit(nn.Sequential(nn.Linear(6, 3)), _batches(2), plain)
    assert "probes_batchnorm.png" not in plain.figures()
    for fig in plain.figures().values():
        _check_labelled(fig)


class _FakeWriter:
    made = []

    def __init__(self, logdir):
        self.logdir, self.scalars, self.histograms, self.closed = logdir, [], [], False
        _FakeWriter.made.append(self)

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_histogram_raw(self, tag, **kwargs):
        self.histograms.append((tag, kwargs))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_tensorboard_scalars_and_histograms_when_a_writer_is_importable(tmp_path,
                                                                       monkeypatch):
    _FakeWriter.made = []
    monkeypatch.setattr(tensorboard, "find_writer", lambda: (_FakeWriter, None))
    model = nn.Sequential(nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
    probes = Probes(every=2, out_dir=tmp_path, bins=10)
    _fit(model, _batches(4), probes)
    (writer,) = _FakeWriter.made
    assert writer.logdir == os.path.join(tmp_path, "tensorboard") and writer.closed
    assert os.path.isdir(tmp_path / "tensorboard")
    tags = {(tag, step) for tag, _, step in writer.scalars}
    assert {("update_ratio/0.weight", 0), ("update_ratio/2.bias", 2), ("dead/1", 2),
            ("loss", 0), ("grad_norm/0.weight", 2)} <= tags
    ratio = probes.records["parameters"]["0.weight"]["update_ratio"][1]
    assert ("update_ratio/0.weight", ratio, 2) in writer.scalars
    hists = dict((tag, kw) for tag, kw in writer.histograms if kw["global_step"] == 0)
    act = probes.records["layers"]["0"]["activation"][0]
    h = hists["activations/0"]
    assert h["num"] == act["count"] == 32 and h["bucket_counts"] == act["hist"]["counts"]
    assert len(h["bucket_limits"]) == 10 and h["bucket_limits"][-1] == act["hist"]["hi"]
    assert h["sum"] == pytest.approx(act["mean"] * 32)
    assert "gradients/2" in hists


def test_tensorboard_reads_the_real_event_files(tmp_path):
    """The real writer (tensorboardX, in the tensorboard extra), read back by
    TensorBoard's own loader: what ``tensorboard --logdir`` shows."""
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    writer, reason = tensorboard.find_writer()
    assert writer is not None, reason
    backend.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 3))
    probes = Probes(every=2, out_dir=tmp_path, bins=12)
    _fit(model, _batches(5), probes)
    events = accumulator.EventAccumulator(str(tmp_path / "tensorboard"),
                                          size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss", "update_ratio/0.weight", "saturated/1", "grad_norm/2.bias"} <= set(
        tags["scalars"])
    assert {"activations/0", "activations/1", "gradients/2"} <= set(tags["histograms"])
    rec = probes.records
    loss = events.Scalars("loss")
    assert [e.step for e in loss] == rec["steps"] == [0, 2, 4]
    assert [e.value for e in loss] == pytest.approx(rec["loss"], rel=1e-6)
    saturated = [e.value for e in events.Scalars("saturated/1")]
    assert saturated == pytest.approx(rec["layers"]["1"]["saturated"], abs=1e-7)
    for step, hist in zip(rec["steps"], rec["layers"]["1"]["activation"]):
        (shown,) = [h for h in events.Histograms("activations/1") if h.step == step]
        value = shown.histogram_value
        assert value.num == hist["count"] == 8 * 4  # samples x units
        assert list(value.bucket) == hist["hist"]["counts"]
        assert value.min == pytest.approx(hist["min"]) and value.max == pytest.approx(hist["max"])
        assert value.sum == pytest.approx(hist["mean"] * 32, rel=1e-5)


def test_without_a_writer_tensorboard_is_skipped_with_one_line(tmp_path, monkeypatch,
                                                              capsys):
    monkeypatch.setattr(tensorboard, "find_writer", lambda: (None, "none installed"))
    _fit(nn.Sequential(nn.Linear(6, 3)), _batches(1), Probes(every=1, out_dir=tmp_path))
    lines = [line for line in capsys.readouterr().out.splitlines() if "TensorBoard" in line]
    assert lines == ["probes: no TensorBoard event files (none installed)"]
    assert not (tmp_path / "tensorboard").exists()
    writer, reason = tensorboard.find_writer()  # in this environment, whatever it has
    assert (writer is None) == isinstance(reason, str)


def test_probes_reject_bad_arguments():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="every"):
            Probes(every=bad)
    with pytest.raises(ValueError, match="bins"):
        Probes(bins=0)


def test_deepgrad_train_probes_writes_probes_json_and_figures(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", *QUICK, "--probes", "--probes-every", "5", "--out",
                     str(out)]) == 0
    names = set(os.listdir(out))
    assert {"probes.json", "probes_activations.png", "probes_gradients.png",
            "probes_saturation.png", "probes_update_ratio.png", "metrics.json"} <= names
    saved = json.loads((out / "probes.json").read_text())
    steps = saved["steps"]
    assert steps[:3] == [0, 5, 10] and all(s % 5 == 0 for s in steps)
    relu = saved["layers"]["1"]
    assert relu["kind"] == "relu" and len(relu["dead"]) == len(steps)
    assert "probes = true" in (out / "config.toml").read_text()
    assert "probes: wrote probes.json" in capsys.readouterr().out

    # off by default
    plain = tmp_path / "plain"
    assert cli.main(["train", *QUICK, "--epochs", "1", "--out", str(plain)]) == 0
    assert not any(name.startswith("probes") for name in os.listdir(plain))

    capsys.readouterr()
    assert cli.main(["train", *QUICK, "--probes", "--probes-every", "0"]) == 2
    assert "--probes-every must be positive" in capsys.readouterr().err
