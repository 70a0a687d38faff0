"""RMSprop: divide by a running root mean square of the gradient."""
from typing import NamedTuple

from .. import backend
from ..checks import check_bool_arg, check_non_negative
from .optimizer import Optimizer, lerp_
from .weight_decay import followed_gradient


class RMSpropStep(NamedTuple):
    """The hyper-parameters of one RMSprop step (a group's options)."""
    lr: float
    alpha: float
    eps: float
    weight_decay: float
    momentum: float
    centered: bool
    maximize: bool
    eps_inside_sqrt: bool


def rmsprop(p, g, square_avg, grad_avg=None, momentum_buffer=None, *, h):
    """One step of :class:`RMSprop` on arrays, in place (v is ``square_avg``, m
    ``grad_avg``, b ``momentum_buffer``)."""
    xp = backend.get_array_module(p)
    g = followed_gradient(p, g, h)
    square_avg *= h.alpha
    square_avg += (1 - h.alpha) * g * g
    if h.centered:
        lerp_(grad_avg, g, 1 - h.alpha)               # m = alpha * m + (1 - alpha) * g
        variance = square_avg - grad_avg * grad_avg
    else:
        variance = square_avg
    if h.eps_inside_sqrt:
        d = xp.sqrt(variance + h.eps)
    else:
        d = xp.sqrt(variance) + h.eps
    if h.momentum > 0:
        momentum_buffer *= h.momentum
        momentum_buffer += g / d
        p -= h.lr * momentum_buffer
    else:
        p -= h.lr * (g / d)


class RMSprop(Optimizer):
    r"""RMSprop as ``torch.optim.RMSprop`` computes it (Hinton's lecture 6e).

    With the running averages starting at zero::

        g = -g                                   (if maximize)
        g = g + weight_decay * p                 (L2 decay, coupled into the gradient)
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            m = alpha * m + (1 - alpha) * g      (running mean of g)
            d = sqrt(v - m * m) + eps
        else:
            d = sqrt(v) + eps                    (eps outside the square root)
        if momentum > 0:
            b = momentum * b + g / d             (b starts at zero)
            p = p - lr * b
        else:
            p = p - lr * g / d

    State: ``step``, ``square_avg``, ``grad_avg`` (centered), ``momentum_buffer``
    (momentum > 0).

    Switch (not in PyTorch): ``eps_inside_sqrt=True`` computes ``d = sqrt(v + eps)``
    (``sqrt(v - m * m + eps)`` if centered), the form of TensorFlow 1's RMSProp.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, *, maximize=False, eps_inside_sqrt=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered,
                                      maximize=maximize, eps_inside_sqrt=eps_inside_sqrt))

    def _validate(self, group):
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_non_negative("RMSprop", name, group[name])
        for name in ("centered", "maximize", "eps_inside_sqrt"):
            check_bool_arg("RMSprop", name, group[name])

    rule = rmsprop

    def _prepare(self, p, state, group):
        if not state:
            xp = backend.get_array_module(p)
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        return RMSpropStep(float(group["lr"]), float(group["alpha"]), float(group["eps"]),
                           float(group["weight_decay"]), float(group["momentum"]),
                           group["centered"], group["maximize"], group["eps_inside_sqrt"])
