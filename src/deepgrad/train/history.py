"""History: the per-epoch record of a training run (like Keras' ``History``)."""


class History:
    def __init__(self):
        self.epochs = []   # epoch numbers, starting at 1
        self.history = {}  # metric name -> list of per-epoch values

    def append(self, epoch, logs):
        self.epochs.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def __getitem__(self, name):
        return self.history[name]

    def last(self, name):
        return self.history[name][-1]

    def to_dict(self):
        return {"epoch": list(self.epochs), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, table):
        """Inverse of :meth:`to_dict`."""
        history = cls()
        for i, epoch in enumerate(table.get("epoch", [])):
            history.append(epoch, {k: v[i] for k, v in table.items() if k != "epoch"})
        return history
