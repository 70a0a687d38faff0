"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients."""
from .. import backend
from ._blocked import effective_grad
from .optimizer import Optimizer, check_bool, check_interval, check_non_negative


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
        check_bool("Adadelta", "maximize", group["maximize"])

    def _update(self, p, g, state, group):
        xp = backend.get_array_module(p)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            state["acc_delta"] = xp.zeros_like(p)
        state["step"] += 1
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        wd, maximize = float(group["weight_decay"]), group["maximize"]
        arrays = (p, g, state["square_avg"], state["acc_delta"])
        fused = self._compiled_kernels(*arrays)
        if fused:
            dt = p.dtype.type
            scalars = (dt(wd), maximize, dt(rho), dt(1.0 - rho), dt(eps), dt(-lr))

            def kernel(p, g, square_avg, acc_delta):
                fused.adadelta_update(p.reshape(-1), g.reshape(-1), square_avg.reshape(-1),
                                      acc_delta.reshape(-1), *scalars)
            self._run(kernel, arrays, 0)
            return

        def kernel(p, g, square_avg, acc_delta, s, t, u):
            xp = backend.get_array_module(p)
            g = effective_grad(p, g, u, wd, maximize)
            square_avg *= rho
            xp.multiply(g, 1.0 - rho, out=s)
            s *= g
            square_avg += s
            xp.add(square_avg, eps, out=s)
            xp.sqrt(s, out=s)                    # std
            xp.add(acc_delta, eps, out=t)
            xp.sqrt(t, out=t)
            t /= s
            t *= g                               # delta
            acc_delta *= rho
            xp.multiply(t, 1.0 - rho, out=s)
            s *= t
            acc_delta += s
            t *= -lr
            p += t
        self._run(kernel, arrays, 3)
