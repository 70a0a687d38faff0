"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from typing import NamedTuple

from .. import backend
from ..checks import check_bool_arg, check_non_negative
from .optimizer import Optimizer
from .weight_decay import followed_gradient


class SGDStep(NamedTuple):
    """The hyper-parameters of one SGD step (a group's options, and whether the momentum
    buffer starts now)."""
    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    decoupled_weight_decay: bool
    nesterov: bool
    maximize: bool
    momentum_form: str
    first_step: bool


def sgd(p, g, momentum_buffer=None, *, h):
    """One step of :class:`SGD` (PyTorch's momentum form) on arrays, in place."""
    g = followed_gradient(p, g, h)
    if h.momentum:
        b = momentum_buffer
        if h.first_step:
            b[...] = g
        else:
            b *= h.momentum
            b += (1 - h.dampening) * g
        g = g + h.momentum * b if h.nesterov else b
    p -= h.lr * g


def sgd_sutskever(p, g, momentum_buffer, *, h):
    """One step of :class:`SGD` with ``momentum_form="sutskever"`` (lr inside the
    velocity), on arrays, in place."""
    g = followed_gradient(p, g, h)
    v = momentum_buffer
    v *= h.momentum
    v -= h.lr * g
    if h.nesterov:
        p += h.momentum * v - h.lr * g
    else:
        p += v


class SGD(Optimizer):
    r"""PyTorch's SGD, step for step.

    With gradient g of parameter p at step t::

        g = -g                                     (if maximize)
        g = g + weight_decay * p                   (L2 decay, coupled into the gradient)
        if momentum:
            b = g                                  (t = 1: the buffer starts as g)
            b = momentum * b + (1 - dampening) * g (t > 1)
            g = g + momentum * b  if nesterov else b
        p = p - lr * g

    This is PyTorch's momentum form (lr applied after the buffer, ``momentum_form=
    "pytorch"``). Switches (not in PyTorch):

    ``momentum_form="sutskever"``: the velocity form of Sutskever et al. (2013) and of
    most course notes, with lr inside the buffer (v starts at zero)::

        v = momentum * v - lr * g
        p = p + v                                (p = p + momentum * v - lr * g if nesterov)

    It takes the same steps as PyTorch's form while lr is constant and differs when a
    schedule changes lr (old velocity keeps its old lr). It needs dampening = 0; the
    buffer (state ``momentum_buffer``) then holds v, not b.

    ``decoupled_weight_decay=True`` shrinks the weights
    directly, as AdamW does, instead of adding ``weight_decay * p`` to the gradient::

        p = p * (1 - lr * weight_decay)            (before the step above, which then
                                                    runs with weight_decay = 0)

    Without momentum the two forms are the same rule; with momentum the coupled decay
    is accumulated in the buffer and the decoupled one is not.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False, *, decoupled_weight_decay=False,
                 momentum_form="pytorch"):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      momentum_form=momentum_form))

    def _validate(self, group):
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            check_non_negative("SGD", name, group[name])
        for name in ("nesterov", "maximize", "decoupled_weight_decay"):
            check_bool_arg("SGD", name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")
        if group["momentum_form"] not in ("pytorch", "sutskever"):
            raise ValueError(f"SGD: momentum_form must be 'pytorch' or 'sutskever', got "
                             f"{group['momentum_form']!r}")
        if group["momentum_form"] == "sutskever" and group["dampening"] != 0:
            raise ValueError(f"SGD: momentum_form='sutskever' needs dampening = 0, got "
                             f"dampening={group['dampening']}")

    rule = sgd

    def _rule(self, hyper):
        if hyper.momentum and hyper.momentum_form == "sutskever":
            return sgd_sutskever
        return sgd

    def _prepare(self, p, state, group):
        momentum = float(group["momentum"])
        first_step = bool(momentum) and "momentum_buffer" not in state
        if first_step:
            xp = backend.get_array_module(p)
            # PyTorch's buffer starts as the first gradient (the step copies it in);
            # Sutskever's velocity starts at zero
            start = xp.zeros_like if group["momentum_form"] == "sutskever" else xp.empty_like
            state["momentum_buffer"] = start(p)
        return SGDStep(float(group["lr"]), momentum, float(group["dampening"]),
                       float(group["weight_decay"]), group["decoupled_weight_decay"],
                       group["nesterov"], group["maximize"], group["momentum_form"],
                       first_step)
