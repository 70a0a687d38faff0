"""Adagrad: per-weight learning rates from the sum of squared gradients."""
from typing import NamedTuple

from .. import backend
from ..checks import check_bool_arg, check_non_negative
from .optimizer import Optimizer
from .weight_decay import followed_gradient


class AdagradStep(NamedTuple):
    """The hyper-parameters of one Adagrad step: a group's options and the step t."""
    lr: float
    lr_decay: float
    weight_decay: float
    eps: float
    maximize: bool
    step: int


def adagrad(p, g, sum, *, h):
    """One step of :class:`Adagrad` on arrays, in place (``sum`` is PyTorch's name for
    the accumulator)."""
    xp = backend.get_array_module(p)
    g = followed_gradient(p, g, h)
    clr = h.lr / (1 + (h.step - 1) * h.lr_decay)
    sum += g * g
    p -= clr * (g / (xp.sqrt(sum) + h.eps))


class Adagrad(Optimizer):
    r"""Adagrad as ``torch.optim.Adagrad`` computes it (Duchi et al., 2011).

    At step t (counting from 1), with the accumulator starting at
    ``initial_accumulator_value``::

        g = -g                                   (if maximize)
        g = g + weight_decay * p                 (L2 decay, coupled into the gradient)
        clr = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - clr * g / (sqrt(sum) + eps)      (eps outside the square root)

    State: ``step``, ``sum``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _validate(self, group):
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_non_negative("Adagrad", name, group[name])
        check_bool_arg("Adagrad", "maximize", group["maximize"])

    rule = adagrad

    def _prepare(self, p, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = backend.get_array_module(p).full_like(
                p, group["initial_accumulator_value"])
        state["step"] += 1
        return AdagradStep(float(group["lr"]), float(group["lr_decay"]),
                           float(group["weight_decay"]), float(group["eps"]),
                           group["maximize"], state["step"])
