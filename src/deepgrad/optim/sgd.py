"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from .. import backend
from ._blocked import effective_grad
from .optimizer import Optimizer, check_bool, check_non_negative


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
            check_bool("SGD", name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")
        if group["momentum_form"] not in ("pytorch", "sutskever"):
            raise ValueError(f"SGD: momentum_form must be 'pytorch' or 'sutskever', got "
                             f"{group['momentum_form']!r}")
        if group["momentum_form"] == "sutskever" and group["dampening"] != 0:
            raise ValueError(f"SGD: momentum_form='sutskever' needs dampening = 0, got "
                             f"dampening={group['dampening']}")

    def _update(self, p, g, state, group):
        lr = float(group["lr"])
        wd = float(group["weight_decay"])
        decoupled = group["decoupled_weight_decay"]
        maximize = group["maximize"]
        momentum = float(group["momentum"])
        coupled_wd = 0.0 if decoupled else wd
        shrink = 1.0 - lr * wd if decoupled and wd else None

        if momentum and group["momentum_form"] == "sutskever":
            self._sutskever(p, g, state, lr, momentum, coupled_wd, shrink, maximize,
                            group["nesterov"])
            return
        buf = state.get("momentum_buffer")
        first = buf is None
        if momentum and first:
            buf = state["momentum_buffer"] = backend.get_array_module(p).empty_like(p)
        damp = 1.0 - float(group["dampening"])
        nesterov = group["nesterov"]
        arrays = (p, g, buf) if momentum else (p, g)
        fused = self._compiled_kernels(*arrays)
        if fused:
            dt = p.dtype.type
            scalars = (dt(-lr), dt(coupled_wd), dt(momentum), dt(damp),
                       dt(1.0 if shrink is None else shrink), maximize, nesterov, first)

            def kernel(p, g, buf=fused.UNUSED[p.dtype]):
                fused.sgd_update(p.reshape(-1), g.reshape(-1), buf.reshape(-1), *scalars)
            self._run(kernel, arrays, 0)
            return

        if not momentum:
            def kernel(p, g, s, t):
                d = effective_grad(p, g, s, coupled_wd, maximize)
                if shrink is not None:
                    p *= shrink
                xp = backend.get_array_module(p)
                xp.multiply(d, -lr, out=s)
                p += s
            self._run(kernel, (p, g), 2)
            return

        def kernel(p, g, buf, s, t):
            xp = backend.get_array_module(p)
            d = effective_grad(p, g, s, coupled_wd, maximize)
            if first:
                xp.copyto(buf, d)
            else:
                buf *= momentum
                if damp == 1.0:
                    buf += d
                else:
                    xp.multiply(d, damp, out=t)
                    buf += t
            if nesterov:
                xp.multiply(buf, momentum, out=t)
                xp.add(d, t, out=t)
                d = t
            else:
                d = buf
            if shrink is not None:
                p *= shrink
            xp.multiply(d, -lr, out=s)
            p += s
        self._run(kernel, (p, g, buf), 2)

    def _sutskever(self, p, g, state, lr, momentum, coupled_wd, shrink, maximize, nesterov):
        velocity = state.get("momentum_buffer")
        if velocity is None:
            velocity = state["momentum_buffer"] = backend.get_array_module(p).zeros_like(p)

        def kernel(p, g, v, s, t):
            xp = backend.get_array_module(p)
            d = effective_grad(p, g, s, coupled_wd, maximize)
            xp.multiply(d, -lr, out=t)           # -lr * g
            v *= momentum
            v += t
            if shrink is not None:
                p *= shrink
            if nesterov:
                xp.multiply(v, momentum, out=s)
                s += t
                p += s
            else:
                p += v
        self._run(kernel, (p, g, velocity), 2)
