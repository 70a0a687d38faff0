"""Learning-rate schedules with ``torch.optim.lr_scheduler``'s semantics.

A scheduler owns ``last_epoch`` (the number of ``step()`` calls so far; -1 before
construction) and writes ``group["lr"]`` of every parameter group of its optimizer. On
construction it stores ``group["initial_lr"]`` (unless present: that is how a chain of
schedulers shares one base) and performs step 0, so ``get_last_lr()`` is the schedule's
first value. Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch (or
per iteration, if the schedule is counted in iterations).

As in PyTorch, ``step()`` updates the learning rate *recursively* from the current
``group["lr"]`` (so schedulers can be chained), and ``step(epoch)`` uses the closed
form. ``state_dict()`` holds every attribute but the optimizer; to resume, build the
optimizer and scheduler as before, then load both state dicts.

The base class ``LRScheduler`` lives in ``lr_scheduler_base.py``, ``SequentialLR`` in
``lr_scheduler_sequential.py`` and ``ReduceLROnPlateau`` in ``lr_scheduler_plateau.py``;
this module holds the epoch-indexed schedules and re-exports the rest, so
``deepgrad.optim.lr_scheduler.X`` finds every schedule.

``SCHEDULERS`` maps the command line's lower-case names to the classes.
"""
import math
from bisect import bisect_right
from collections import Counter

from ..checks import check_count, check_range
from .lr_scheduler_base import LRScheduler  # the base; also re-exported
from .lr_scheduler_plateau import ReduceLROnPlateau  # re-exported; in SCHEDULERS
from .lr_scheduler_sequential import SequentialLR  # re-exported; in SCHEDULERS


class StepLR(LRScheduler):
    """``lr = initial_lr * gamma ** (epoch // step_size)``: decay by gamma every
    ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_count("StepLR", "step_size", step_size, 1)
        check_range("StepLR", "gamma", gamma, 0.0, low_open=True,
                      expected="a positive number")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size)
                for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """``lr = initial_lr * gamma ** (number of milestones <= epoch)``; a milestone listed
    twice decays twice."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            check_count("MultiStepLR", "each milestone", m, 0)
        check_range("MultiStepLR", "gamma", gamma, 0.0, low_open=True,
                      expected="a positive number")
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def state_dict(self):
        """As the base, with the milestones as a sorted list (repeats kept), so the
        state survives JSON (a Counter's int keys would come back as strings)."""
        state = super().state_dict()
        state["milestones"] = sorted(self.milestones.elements())
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        milestones = state.pop("milestones")
        if isinstance(milestones, dict):  # a Counter, or one that went through JSON
            milestones = Counter({int(k): int(v) for k, v in milestones.items()})
        else:
            milestones = Counter(int(m) for m in milestones)
        super().load_state_dict(state)
        self.milestones = milestones

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``lr = initial_lr * gamma ** epoch``."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        check_range("ExponentialLR", "gamma", gamma, 0.0, low_open=True,
                      expected="a positive number")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``initial_lr`` to ``eta_min`` over ``T_max`` epochs:

    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``

    (no restarts; past ``T_max`` the cosine continues and the lr rises again, as in
    PyTorch). ``step()`` uses PyTorch's recursive form, which equals the formula up to
    round-off while nothing else changes the lr.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_count("CosineAnnealingLR", "T_max", T_max, 1)
        check_range("CosineAnnealingLR", "eta_min", eta_min, 0.0,
                      expected="a non-negative number")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and self.last_epoch > 0:
            return [self.eta_min + (base - self.eta_min)
                    * (1 + math.cos(self.last_epoch * math.pi / self.T_max)) / 2
                    for base in self.base_lrs]
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [lr + (base - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * self.last_epoch / self.T_max))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
                * (lr - self.eta_min) + self.eta_min
                for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Linear warm-up (or decay) of the factor on ``initial_lr`` from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then constant:

    ``lr = initial_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        check_range("LinearLR", "start_factor", start_factor, 0.0, 1.0, low_open=True,
                      expected="a number in (0, 1]")
        check_range("LinearLR", "end_factor", end_factor, 0.0, 1.0,
                      expected="a number in [0, 1]")
        check_count("LinearLR", "total_iters", total_iters, 1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        delta = self.end_factor - self.start_factor
        factor = 1.0 + delta / (self.total_iters * self.start_factor
                                + (self.last_epoch - 1) * delta)
        return [lr * factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        fraction = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * (self.start_factor + (self.end_factor - self.start_factor) * fraction)
                for base in self.base_lrs]


SCHEDULERS = {
    "step": StepLR,
    "multistep": MultiStepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "linear": LinearLR,
    "sequential": SequentialLR,
    "plateau": ReduceLROnPlateau,
}
"""Lower-case names for the command line's ``--scheduler``."""
