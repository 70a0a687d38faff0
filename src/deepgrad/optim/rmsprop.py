"""RMSprop: divide by a running root mean square of the gradient."""
from .. import backend
from ._blocked import effective_grad, lerp_
from .optimizer import Optimizer, check_bool, check_non_negative


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
            check_bool("RMSprop", name, group[name])

    def _update(self, p, g, state, group):
        xp = backend.get_array_module(p)
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, maximize = float(group["weight_decay"]), group["maximize"]
        momentum, centered = float(group["momentum"]), group["centered"]
        eps_inside = group["eps_inside_sqrt"]
        arrays = [p, g, state["square_avg"]]
        if centered:
            arrays.append(state["grad_avg"])
        if momentum > 0:
            arrays.append(state["momentum_buffer"])
        fused = self._compiled_kernels(*arrays)
        if fused:
            dt = p.dtype.type
            weight = 1.0 - alpha  # the centred mean's, as lerp_ below takes it
            from_start = abs(weight) < 0.5
            scalars = (dt(wd), maximize, dt(alpha), dt(1.0 - alpha), centered,
                       dt(weight if from_start else 1.0 - weight), from_start, eps_inside,
                       dt(eps), momentum > 0, dt(momentum), dt(-lr))

            def kernel(p, g, square_avg, *rest):
                grad_avg = rest[0].reshape(-1) if centered else fused.UNUSED[p.dtype]
                buf = rest[-1].reshape(-1) if momentum > 0 else fused.UNUSED[p.dtype]
                fused.rmsprop_update(p.reshape(-1), g.reshape(-1), square_avg.reshape(-1),
                                     grad_avg, buf, *scalars)
            self._run(kernel, tuple(arrays), 0)
            return

        def kernel(p, g, square_avg, *rest):
            xp = backend.get_array_module(p)
            *extra, s, t = rest
            grad_avg = extra.pop(0) if centered else None
            buf = extra.pop(0) if momentum > 0 else None
            g = effective_grad(p, g, t, wd, maximize)
            square_avg *= alpha
            xp.multiply(g, 1.0 - alpha, out=s)
            s *= g
            square_avg += s
            if centered:
                lerp_(grad_avg, g, 1.0 - alpha, s)
                xp.multiply(grad_avg, -1.0, out=s)
                s *= grad_avg
                s += square_avg
                variance = s
            else:
                variance = square_avg
            if eps_inside:
                xp.add(variance, eps, out=s)
                xp.sqrt(s, out=s)
            else:
                xp.sqrt(variance, out=s)
                s += eps
            xp.divide(g, s, out=s)
            if buf is not None:
                buf *= momentum
                buf += s
                xp.multiply(buf, -lr, out=s)
            else:
                s *= -lr
            p += s
        self._run(kernel, tuple(arrays), 2)
