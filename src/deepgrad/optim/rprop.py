"""Resilient backpropagation (Rprop), PyTorch's iRprop- form."""
from .. import backend
from .optimizer import Optimizer, check_bool, check_non_negative, check_pair


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
        check_bool("Rprop", "maximize", group["maximize"])

    def _update(self, p, g, state, group):
        xp = backend.get_array_module(p)
        if not state:
            state["step"] = 0
            state["prev"] = xp.zeros_like(p)
            state["step_size"] = xp.full_like(p, group["lr"])
        state["step"] += 1
        eta_minus, eta_plus = (float(e) for e in group["etas"])
        low, high = (float(s) for s in group["step_sizes"])
        maximize = group["maximize"]

        def kernel(p, g, prev, step_size, s, t):
            xp = backend.get_array_module(p)
            if maximize:
                xp.negative(g, out=t)
                g = t
            xp.multiply(g, prev, out=s)          # its sign: same direction as last time?
            same = s > 0
            flipped = s < 0
            # the factor etaplus / etaminus / 1, multiplied in as PyTorch does (copyto
            # with where= works on NumPy and CuPy alike; ufunc where= is NumPy only)
            s.fill(1.0)
            xp.copyto(s, eta_plus, where=same)
            xp.copyto(s, eta_minus, where=flipped)
            step_size *= s
            xp.clip(step_size, low, high, out=step_size)
            xp.copyto(prev, g)
            xp.copyto(prev, 0, where=flipped)
            xp.sign(prev, out=s)
            s *= step_size
            p -= s
        self._run(kernel, (p, g, state["prev"], state["step_size"]), 2)
