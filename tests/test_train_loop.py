"""fit(), evaluate() and History."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset, blobs
from deepgrad.train import Callback, EarlyStopping, NonFiniteLossError, evaluate, fit


def _setup(lr=0.1):
    x, y = blobs(300, n_classes=3)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = dg.optim.SGD(model.parameters(), lr=lr)
    data = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
    return model, opt, data


def test_fit_records_train_and_val_numbers_per_epoch():
    model, opt, data = _setup()
    seen = []

    class Record(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(epoch)

    history = fit(model, nn.CrossEntropyLoss(), opt, data, val_data=data, epochs=3,
                  callbacks=[Record()])
    assert seen == [1, 2, 3] and history.epochs == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "time"):
        assert len(history[key]) == 3
    assert history["loss"][-1] < history["loss"][0]
    assert model.training  # evaluation restored the mode


def test_evaluate_averages_over_samples_not_batches():
    model, _, _ = _setup()
    x, y = blobs(100, n_classes=3)
    full = evaluate(model, nn.CrossEntropyLoss(), [(dg.tensor(x), dg.tensor(y))])
    batched = evaluate(model, nn.CrossEntropyLoss(),
                       DataLoader(TensorDataset(x, y), batch_size=33))
    assert batched["loss"] == pytest.approx(full["loss"], rel=1e-5)
    assert batched["accuracy"] == pytest.approx(full["accuracy"])


def test_non_finite_loss_stops_with_the_step():
    model, opt, data = _setup(lr=1e30)
    with pytest.raises(NonFiniteLossError, match=r"epoch \d+, step \d+"):
        with np.errstate(all="ignore"):
            fit(model, nn.CrossEntropyLoss(), opt, data, epochs=50, verbose=False)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    model, opt, data = _setup(lr=0.0)  # lr 0: the loss never improves after epoch 1
    stopper = EarlyStopping("loss", patience=2, min_delta=1e-6)
    history = fit(model, nn.CrossEntropyLoss(), opt, data, epochs=10, callbacks=[stopper])
    assert history.epochs == [1, 2, 3]
    assert stopper.stopped_epoch == 3


def test_scheduler_is_stepped_once_per_epoch_and_lr_logged():
    model, opt, data = _setup(lr=0.1)
    sched = dg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(model, nn.CrossEntropyLoss(), opt, data, epochs=3, scheduler=sched,
                  verbose=False)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_gradient_flow_callback_logs_the_ratio_and_plots(tmp_path, capsys):
    from deepgrad.train import GradientFlow
    x, y = blobs(200, n_classes=3)
    layers = [nn.Linear(2, 32), nn.Sigmoid()]
    for _ in range(8):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 3))
    opt = dg.optim.SGD(model.parameters(), lr=0.01)
    data = DataLoader(TensorDataset(x, y), batch_size=50)
    flow = GradientFlow(every=2, path=tmp_path / "flow.png")
    history = fit(model, nn.CrossEntropyLoss(), opt, data, epochs=2, callbacks=[flow])
    assert len(history["grad_ratio"]) == 2 and history["grad_ratio"][-1] < 0.01
    assert "vanishing gradients" in capsys.readouterr().err
    assert (tmp_path / "flow.png").read_bytes()[:4] == b"\x89PNG"
    assert not model.__dict__["_modules"]["0"]._forward_hooks  # hooks removed at the end
