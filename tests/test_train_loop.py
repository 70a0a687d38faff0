"""fit(), evaluate() and History."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.data import DataLoader, TensorDataset, blobs
from deepgrad.train import NonFiniteLossError, evaluate, fit


def _setup(lr=0.1):
    x, y = blobs(300, n_classes=3)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = dg.optim.SGD(model.parameters(), lr=lr)
    data = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, seed=0)
    return model, opt, data


def test_fit_records_train_and_val_numbers_per_epoch():
    model, opt, data = _setup()
    seen = []
    history = fit(model, nn.CrossEntropyLoss(), opt, data, val_data=data, epochs=3,
                  log=lambda epoch, logs: seen.append(epoch))
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
            fit(model, nn.CrossEntropyLoss(), opt, data, epochs=50, log=lambda e, l: None)
