"""The base class of the learning-rate schedules, ``LRScheduler``: it checks the
optimizer, stores ``group["initial_lr"]`` and ``base_lrs``, takes step 0 on
construction, writes ``group["lr"]`` on every ``step()`` (recursive form, or closed form
for ``step(epoch)``) and saves every attribute but the optimizer. It lives apart from
``lr_scheduler.py`` so that the epoch schedules there and ``SequentialLR`` and
``ReduceLROnPlateau`` (which ``lr_scheduler.py`` re-exports) all import it without an
import circle.
"""
from ..checks import check_count
from .optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses implement :meth:`get_lr` (recursive form) and may give
    ``_get_closed_form_lr`` (used by ``step(epoch)``)."""

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a deepgrad optimizer, got "
                            f"{type(optimizer).__name__}")
        check_count(type(self).__name__, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no "
                                   f"'initial_lr'; resuming with last_epoch={last_epoch} "
                                   f"needs the optimizer's state loaded first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates for ``last_epoch`` (already advanced), one per group."""
        raise NotImplementedError

    def get_last_lr(self):
        """The learning rates the last ``step()`` set, one per parameter group."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``, closed form) and set the groups' lr."""
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Every attribute except the optimizer: numbers, strings, lists, all JSON-ready."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
