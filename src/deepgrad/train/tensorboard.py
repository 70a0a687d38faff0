"""TensorBoard event files for :class:`deepgrad.train.probes.Probes`, when a writer is
importable: ``tensorboardX``, or ``torch.utils.tensorboard`` (which needs the
``tensorboard`` package installed beside torch; torch alone is not enough). Neither is a
dependency of deepgrad: without them the probes skip the event files and say so in one
line.

tensorboardX is tried first: it does not import torch, so the training process loads no
second framework just to write a log.
"""
import importlib.util

__all__ = ["find_writer", "EventWriter"]


def find_writer():
    """``(SummaryWriter class, None)``, or ``(None, reason)`` when none is importable."""
    reasons = []
    if importlib.util.find_spec("tensorboardX") is not None:
        try:
            from tensorboardX import SummaryWriter
            return SummaryWriter, None
        except Exception as err:  # a broken install: say why, try the other
            reasons.append(f"tensorboardX failed to import ({err})")
    else:
        reasons.append("tensorboardX is not installed")
    if importlib.util.find_spec("tensorboard") is None:
        reasons.append("torch.utils.tensorboard needs the tensorboard package, which is "
                       "not installed")
    elif importlib.util.find_spec("torch") is None:
        reasons.append("torch is not installed")
    else:
        try:
            from torch.utils.tensorboard import SummaryWriter
            return SummaryWriter, None
        except Exception as err:
            reasons.append(f"torch.utils.tensorboard failed to import ({err})")
    return None, "; ".join(reasons)


class EventWriter:
    """Scalars and histograms of the probes' records through a ``SummaryWriter``."""

    def __init__(self, writer_class, logdir):
        self.writer = writer_class(logdir)  # first argument: log_dir (torch), logdir (X)
        self.logdir = logdir

    def scalar(self, tag, value, step):
        if value is not None:
            self.writer.add_scalar(tag, value, step)

    def histogram(self, tag, stats, step):
        """One histogram from a probe's distribution record (fixed bins, no raw values):
        ``add_histogram_raw`` with the bins' right edges and counts."""
        if stats is None or stats.get("hist") is None:
            return
        hist = stats["hist"]
        counts = hist["counts"]
        num = sum(counts)
        if not num:
            return
        width = (hist["hi"] - hist["lo"]) / len(counts)
        limits = [hist["lo"] + width * (i + 1) for i in range(len(counts))]
        limits[-1] = hist["hi"]
        mean, std = stats["mean"], stats["std"]
        self.writer.add_histogram_raw(
            tag, min=stats["min"], max=stats["max"], num=num, sum=mean * num,
            sum_squares=(std * std + mean * mean) * num, bucket_limits=limits,
            bucket_counts=list(counts), global_step=step)

    def close(self):
        self.writer.flush()
        self.writer.close()
