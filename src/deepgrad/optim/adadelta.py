"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients."""
from typing import NamedTuple

from .. import backend
from ..checks import check_bool_arg, check_interval, check_non_negative
from .optimizer import Optimizer
from .weight_decay import followed_gradient


class AdadeltaStep(NamedTuple):
    """The hyper-parameters of one Adadelta step (a group's options)."""
    lr: float
    rho: float
    eps: float
    weight_decay: float
    maximize: bool


def adadelta(p, g, square_avg, acc_delta, *, h):
    """One step of :class:`Adadelta` on arrays, in place (v is ``square_avg``, u
    ``acc_delta``)."""
    xp = backend.get_array_module(p)
    g = followed_gradient(p, g, h)
    square_avg *= h.rho
    square_avg += (1 - h.rho) * g * g
    d = xp.sqrt(acc_delta + h.eps) / xp.sqrt(square_avg + h.eps) * g
    acc_delta *= h.rho
    acc_delta += (1 - h.rho) * d * d
    p -= h.lr * d


class Adadelta(Optimizer):
    r"""Adadelta as ``torch.optim.Adadelta`` computes it (Zeiler, 2012).

    With both running averages starting at zero::

        g = -g                                   (if maximize)
        g = g + weight_decay * p                 (L2 decay, coupled into the gradient)
        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g    (eps inside both square roots)
        u = rho * u + (1 - rho) * d * d
        p = p - lr * d                           (lr = 1 is Zeiler's rule)

    State: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _validate(self, group):
        for name in ("lr", "eps", "weight_decay"):
            check_non_negative("Adadelta", name, group[name])
        check_interval("Adadelta", "rho", group["rho"], 0.0, 1.0, closed_high=True)
        check_bool_arg("Adadelta", "maximize", group["maximize"])

    rule = adadelta

    def _prepare(self, p, state, group):
        if not state:
            xp = backend.get_array_module(p)
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            state["acc_delta"] = xp.zeros_like(p)
        state["step"] += 1
        return AdadeltaStep(float(group["lr"]), float(group["rho"]), float(group["eps"]),
                            float(group["weight_decay"]), group["maximize"])
