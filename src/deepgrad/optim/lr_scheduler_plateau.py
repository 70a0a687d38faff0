"""``ReduceLROnPlateau``: the schedule that reacts to a metric rather than to the epoch
count. ``step(metric)`` cuts the lr by ``factor`` once the metric has not improved for
``patience`` epochs (with cooldown, ``min_lr`` and ``eps`` as in PyTorch). It keeps its
own state instead of the base class's step-0 protocol; ``lr_scheduler.py`` re-exports it,
where it has always been found.
"""
import math

from ..checks import check_count, check_range
from .lr_scheduler_base import LRScheduler
from .optimizer import Optimizer


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric stops improving for ``patience`` epochs.

    ``step(metric)`` once per epoch. Improvement means ``metric < best * (1 - threshold)``
    (mode 'min', threshold_mode 'rel'), ``< best - threshold`` ('abs'), and the mirror
    images for mode 'max'. After a reduction, ``cooldown`` epochs pass before bad
    epochs count again; the lr never goes below ``min_lr`` and a reduction smaller than
    ``eps`` is skipped.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected a deepgrad optimizer, got "
                            f"{type(optimizer).__name__}")
        check_range("ReduceLROnPlateau", "factor", factor, 0.0, 1.0, high_open=True,
                      expected="a number in [0, 1)")
        check_count("ReduceLROnPlateau", "patience", patience, 0)
        check_count("ReduceLROnPlateau", "cooldown", cooldown, 0)
        check_range("ReduceLROnPlateau", "threshold", threshold, 0.0,
                      expected="a non-negative number")
        check_range("ReduceLROnPlateau", "eps", eps, 0.0,
                      expected="a non-negative number")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: min_lr has {len(min_lr)} entries, the "
                                 f"optimizer has {n} parameter groups")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for value in self.min_lrs:
            check_range("ReduceLROnPlateau", "min_lr", value, 0.0,
                          expected="a non-negative number (or a list of them)")
        self.factor = factor
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)

    def step(self, metrics, epoch=None):
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (or a "
                            f"one-element Tensor), got {metrics!r:.80}") from None
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self):
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer now has {len(groups)} "
                                   f"parameter groups, min_lr was given for "
                                   f"{len(self.min_lrs)}")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
