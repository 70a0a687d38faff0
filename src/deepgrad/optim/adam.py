"""Adam and AdamW: bias-corrected first and second moment estimates."""
from typing import NamedTuple

from .. import backend
from ..checks import check_bool_arg, check_interval, check_non_negative, check_pair
from .optimizer import Optimizer, lerp_
from .weight_decay import followed_gradient


class AdamStep(NamedTuple):
    """The hyper-parameters of one Adam step: a group's options and the step t."""
    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    decoupled_weight_decay: bool
    amsgrad: bool
    maximize: bool
    eps_inside_sqrt: bool
    step: int


def adam(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, h):
    """One step of :class:`Adam` on arrays, in place (m is ``exp_avg``, v
    ``exp_avg_sq``)."""
    xp = backend.get_array_module(p)
    g = followed_gradient(p, g, h)
    lerp_(exp_avg, g, 1 - h.beta1)                    # m = beta1 * m + (1 - beta1) * g
    exp_avg_sq *= h.beta2
    exp_avg_sq += (1 - h.beta2) * g * g
    v = exp_avg_sq
    if h.amsgrad:
        v = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    bias_correction2 = 1 - h.beta2 ** h.step
    if h.eps_inside_sqrt:
        denom = xp.sqrt(v / bias_correction2 + h.eps)
    else:
        denom = xp.sqrt(v) / bias_correction2 ** 0.5 + h.eps
    p -= h.lr / (1 - h.beta1 ** h.step) * (exp_avg / denom)


class Adam(Optimizer):
    r"""Adam as ``torch.optim.Adam`` computes it (Kingma & Ba, 2015).

    At step t (counting from 1), with m and v starting at zero::

        g = -g                                   (if maximize)
        g = g + weight_decay * p                 (L2 decay, coupled into the gradient;
                                                  decoupled_weight_decay=False)
        p = p * (1 - lr * weight_decay)          (decoupled decay, as AdamW;
                                                  decoupled_weight_decay=True)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                    (amsgrad only; v_max starts at zero)
        denom = sqrt(v or v_max) / sqrt(1 - beta2^t) + eps   (eps outside the root,
                                                  after the bias correction of v)
        p = p - lr / (1 - beta1^t) * m / denom

    State: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).

    Switch (not in PyTorch): ``eps_inside_sqrt=True`` puts eps under the root, after the
    bias correction, as some libraries and course notes write it::

        denom = sqrt(v / (1 - beta2^t) + eps)

    (eps then acts on the scale of g squared: pick it about eps_outside squared).
    """

    _name = "Adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False,
                 eps_inside_sqrt=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      eps_inside_sqrt=eps_inside_sqrt))

    def _validate(self, group):
        name = self._name
        for option in ("lr", "eps", "weight_decay"):
            check_non_negative(name, option, group[option])
        betas = check_pair(name, "betas", group["betas"])
        for i, beta in enumerate(betas):
            check_interval(name, f"betas[{i}]", beta, 0.0, 1.0)
        for option in ("amsgrad", "maximize", "decoupled_weight_decay", "eps_inside_sqrt"):
            check_bool_arg(name, option, group[option])

    rule = adam

    def _prepare(self, p, state, group):
        if not state:
            xp = backend.get_array_module(p)
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        beta1, beta2 = (float(b) for b in group["betas"])
        return AdamStep(float(group["lr"]), beta1, beta2, float(group["eps"]),
                        float(group["weight_decay"]), group["decoupled_weight_decay"],
                        group["amsgrad"], group["maximize"], group["eps_inside_sqrt"],
                        state["step"])


class AdamW(Adam):
    r"""AdamW as ``torch.optim.AdamW`` computes it (Loshchilov & Hutter, 2019).

    Adam with decoupled weight decay: the weights shrink by ``1 - lr * weight_decay``
    before the Adam step, and the decay never enters m or v::

        p = p * (1 - lr * weight_decay)
        (then the Adam step of :class:`Adam` with weight_decay = 0)

    Note the decay is scaled by lr (PyTorch's convention), not by lr's schedule factor
    alone as in the paper. Default ``weight_decay=1e-2``.
    """

    _name = "AdamW"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, eps_inside_sqrt=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         eps_inside_sqrt=eps_inside_sqrt)
