"""Metrics computed from a batch's outputs and targets; each returns (sum, count) so that
epoch averages are exact whatever the batch sizes."""


def accuracy(output, target):
    """Fraction of rows whose largest logit is the target class."""
    pred = output._data.argmax(axis=-1)
    return float((pred == target._data).sum()), target.shape[0]


METRICS = {"accuracy": accuracy}


def get(name):
    if callable(name):
        return name.__name__, name
    try:
        return name, METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; known: {sorted(METRICS)}") from None
