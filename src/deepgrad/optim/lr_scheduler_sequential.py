"""``SequentialLR``: the schedule that composes others, running ``schedulers[i]`` from
``milestones[i-1]`` on and restarting each at its own epoch 0 (e.g. LinearLR warm-up,
then CosineAnnealingLR). It imports ``ReduceLROnPlateau`` only to refuse it (a metric
schedule cannot be sequenced); ``lr_scheduler.py`` re-exports it, where it has always
been found.
"""
from bisect import bisect_right

from ..checks import check_count
from .lr_scheduler_base import LRScheduler
from .lr_scheduler_plateau import ReduceLROnPlateau


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` from ``milestones[i-1]`` on (e.g. LinearLR warm-up, then
    CosineAnnealingLR). At a milestone the next scheduler restarts from its epoch 0."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR: schedulers must hold at least one scheduler")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR: schedulers[{i}] is a ReduceLROnPlateau, "
                                 f"which needs a metric and cannot be sequenced")
            if getattr(s, "optimizer", None) is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] ({type(s).__name__}) "
                                 f"belongs to another optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: milestones must have len(schedulers) - 1 = "
                             f"{len(schedulers) - 1} entries, got {len(milestones)}")
        for m in milestones:
            check_count("SequentialLR", "each milestone", m, 1)
        if sorted(milestones) != milestones:
            raise ValueError(f"SequentialLR: milestones must be increasing, got {milestones}")
        check_count("SequentialLR", "last_epoch", last_epoch, -1)
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        # Undo the step each scheduler took on construction, then take step 0 with the
        # first one only.
        self._undo(self)
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def _undo(self, sched):
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, saved in zip(self._schedulers, inner, strict=True):
            s.load_state_dict(saved)
