"""Resilient backpropagation (Rprop), PyTorch's iRprop- form."""
from typing import NamedTuple

from .. import backend
from ..checks import check_bool_arg, check_non_negative, check_pair
from .optimizer import Optimizer


class RpropStep(NamedTuple):
    """The hyper-parameters of one Rprop step (a group's options)."""
    eta_minus: float
    eta_plus: float
    step_size_min: float
    step_size_max: float
    maximize: bool


def rprop(p, g, prev, step_size, *, h):
    """One step of :class:`Rprop` on arrays, in place (``step_size`` is each weight's
    step, ``prev`` its last gradient)."""
    xp = backend.get_array_module(p)
    if h.maximize:
        g = -g
    s = g * prev                                      # its sign: the same as last time?
    factor = xp.ones_like(step_size)                  # in the arrays' dtype, as PyTorch
    factor[s > 0] = h.eta_plus
    factor[s < 0] = h.eta_minus
    step_size *= factor
    xp.clip(step_size, h.step_size_min, h.step_size_max, out=step_size)
    prev[...] = g                                     # g_prev = g, where g = 0 after a
    prev[s < 0] = 0                                   # sign flip
    p -= xp.sign(prev) * step_size


class Rprop(Optimizer):
    r"""Rprop as ``torch.optim.Rprop`` computes it: the iRprop- rule of Igel & Huesken.

    Only the sign of the gradient is used. Each weight has its own step size, starting at
    ``lr``; with ``etas = (eta_minus, eta_plus)`` and ``step_sizes = (min, max)``::

        g = -g                                   (if maximize)
        s = sign(g * g_prev)                     (g_prev = 0 at the first step)
        step = clip(step * eta_plus,  min, max)  where s > 0
        step = clip(step * eta_minus, min, max)  where s < 0
        g = 0                                    where s < 0  (no move after a sign flip,
                                                  and the next step counts as a fresh start)
        p = p - sign(g) * step
        g_prev = g

    So gradients 1, 1, 1, -1, 1 with lr 0.1 move the weight by 0.1, 0.12, 0.144, 0, 0.072
    (default etas). There is no weight decay, as in PyTorch. State: ``step``, ``prev``,
    ``step_size``.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes,
                                      maximize=maximize))

    def _validate(self, group):
        check_non_negative("Rprop", "lr", group["lr"])
        eta_minus, eta_plus = check_pair("Rprop", "etas", group["etas"])
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"Rprop: etas must satisfy 0 < etas[0] < 1 < etas[1], got "
                             f"{group['etas']!r}")
        low, high = check_pair("Rprop", "step_sizes", group["step_sizes"])
        if not 0.0 <= low <= high:
            raise ValueError(f"Rprop: step_sizes must satisfy 0 <= step_sizes[0] <= "
                             f"step_sizes[1], got {group['step_sizes']!r}")
        check_bool_arg("Rprop", "maximize", group["maximize"])

    rule = rprop

    def _prepare(self, p, state, group):
        if not state:
            xp = backend.get_array_module(p)
            state["step"] = 0
            state["prev"] = xp.zeros_like(p)
            state["step_size"] = xp.full_like(p, group["lr"])
        state["step"] += 1
        eta_minus, eta_plus = (float(e) for e in group["etas"])
        low, high = (float(s) for s in group["step_sizes"])
        return RpropStep(eta_minus, eta_plus, low, high, group["maximize"])
