"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from .optimizer import Optimizer, check_non_negative


class SGD(Optimizer):
    r"""PyTorch's SGD, step for step.

    With gradient g of parameter p at step t::

        g = g + weight_decay * p                  (L2 decay, coupled into the gradient)
        if momentum:
            b = g                                  (t = 1: the buffer starts as g)
            b = momentum * b + (1 - dampening) * g (t > 1)
            g = g + momentum * b  if nesterov else b
        p = p - lr * g

    ``maximize=True`` ascends instead. This is PyTorch's momentum form (lr applied after
    the buffer); Sutskever's form v = mu*v - lr*g differs when lr changes over time.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _validate(self, group):
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            check_non_negative("SGD", name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, p, g, state, group):
        if group["maximize"]:
            g = -g
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += g if dampening == 0 else (1 - dampening) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p -= group["lr"] * g
