"""History: the per-epoch record of a training run (like Keras' ``History``)."""


class History:
    """What ``fit()`` returns: ``epochs`` (from 1) and ``history``, a dict from each metric
    (``loss``, ``accuracy``, ``val_loss``...) to its per-epoch values; ``plot()`` draws
    them."""
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

    def plot(self, path=None):
        """The loss and each metric per epoch, training and validation on one axes each,
        as a matplotlib Figure (written as a PNG to ``path`` if given)."""
        from .. import plotting
        names = [k for k in self.history if not k.startswith("val_") and k not in ("time", "lr")]
        fig, axes = plotting.subplots(1, max(len(names), 1), squeeze=False,
                                      figsize=(4.2 * max(len(names), 1), 3.2))
        for ax, name in zip(axes[0], names):
            ax.plot(self.epochs, self.history[name], "o-", label="training")
            if f"val_{name}" in self.history:
                ax.plot(self.epochs, self.history[f"val_{name}"], "o-", label="validation")
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        if path is not None:
            plotting.save(fig, path)
        return fig

    def to_dict(self):
        return {"epoch": list(self.epochs), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, table):
        """Inverse of :meth:`to_dict`."""
        history = cls()
        for i, epoch in enumerate(table.get("epoch", [])):
            history.append(epoch, {k: v[i] for k, v in table.items() if k != "epoch"})
        return history
