"""Adagrad: per-weight learning rates from the sum of squared gradients."""
from .. import backend
from ._blocked import effective_grad
from .optimizer import Optimizer, check_bool, check_non_negative


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
        check_bool("Adagrad", "maximize", group["maximize"])

    def _update(self, p, g, state, group):
        xp = backend.get_array_module(p)
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        wd, eps, maximize = float(group["weight_decay"]), float(group["eps"]), group["maximize"]
        fused = self._compiled_kernels(p, g, state["sum"])
        if fused:
            dt = p.dtype.type
            scalars = (dt(wd), maximize, dt(eps), dt(-clr))

            def kernel(p, g, total):
                fused.adagrad_update(p.reshape(-1), g.reshape(-1), total.reshape(-1),
                                     *scalars)
            self._run(kernel, (p, g, state["sum"]), 0)
            return

        def kernel(p, g, total, s, t):
            xp = backend.get_array_module(p)
            g = effective_grad(p, g, t, wd, maximize)
            xp.multiply(g, g, out=s)
            total += s
            xp.sqrt(total, out=s)
            s += eps
            xp.divide(g, s, out=s)
            s *= -clr
            p += s
        self._run(kernel, (p, g, state["sum"]), 2)
