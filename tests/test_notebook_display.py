"""Progress and live curves in a notebook: one output per epoch, redrawn in place through
IPython's display handles (a fake IPython here records what a front end would get; the
notebooks in notebooks/ run them in a real kernel)."""
import sys
import types

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.train import LiveCurves, ProgressBar, fit


class _Handle:
    def __init__(self, log, obj):
        self.log, self.shown = log, [obj]
        log.append(self)

    def update(self, obj):
        self.shown.append(obj)


@pytest.fixture
def fake_kernel(monkeypatch):
    """An IPython whose shell has a kernel, and a display module that keeps every output
    and every redraw."""
    try:  # matplotlib, loaded first, looks at IPython only at its import
        from deepgrad import plotting
        plotting.figure()
    except ImportError:
        pass
    outputs = []
    display_mod = types.ModuleType("IPython.display")
    display_mod.display = lambda obj, display_id=False: _Handle(outputs, obj)
    display_mod.HTML = lambda text: ("html", text)
    display_mod.Image = lambda data, format: ("png", data)
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    ipython.display = display_mod
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_mod)
    return outputs


def _run(callbacks, epochs=2, batches=40):
    dg.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((batches * 4, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    return fit(model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.1),
               loader, val_data=loader, epochs=epochs, callbacks=callbacks,
               metrics=["accuracy"])


def test_the_bar_is_one_output_redrawn_a_few_times_a_second(fake_kernel, monkeypatch):
    clock = iter(np.arange(0.0, 1000.0, 0.05))  # each call: 50 ms later
    monkeypatch.setattr("deepgrad.train.progress.time.perf_counter", lambda: next(clock))
    bar = ProgressBar(epochs=12)
    assert bar.notebook
    _run([bar], epochs=12)
    assert len(fake_kernel) == 1  # the whole run, never a new output per redraw
    shown = fake_kernel[0].shown
    assert {kind for kind, _ in shown} == {"html"}
    # 12 epochs of 40 batches 50 ms apart: at most one redraw per 250 ms, and each
    # epoch's final line
    assert 12 <= len(shown) <= 12 * (40 * 0.05 / 0.25 + 2)
    assert any("<progress" in text for _, text in shown)
    final = shown[-1][1]
    assert "<progress" not in final and "val_accuracy" in final
    assert "(4 earlier epochs)" in final and "epoch 12/12" in final
    assert final.count("<br>") == 9 and "epoch 4/12" not in final  # the last 8 in view


def test_live_curves_redraw_one_figure_in_place(fake_kernel):
    pytest.importorskip("matplotlib")
    history = _run([LiveCurves()], epochs=3)
    assert len(fake_kernel) == 1 and len(fake_kernel[0].shown) == 3
    assert all(kind == "png" and data.startswith(b"\x89PNG") for kind, data in
               fake_kernel[0].shown)
    assert len(history["loss"]) == 3


def test_outside_a_notebook_live_curves_write_a_file_and_history_plots(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    history = _run([LiveCurves(str(path))], epochs=2)
    assert path.read_bytes().startswith(b"\x89PNG")
    fig = history.plot()
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == ["loss", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["training", "validation"]
