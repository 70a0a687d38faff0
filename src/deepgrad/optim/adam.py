"""Adam and AdamW: bias-corrected first and second moment estimates."""
from .. import backend
from ._blocked import effective_grad, lerp_
from .optimizer import (Optimizer, check_bool, check_interval, check_non_negative,
                        check_pair)


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
            check_bool(name, option, group[option])

    def _update(self, p, g, state, group):
        xp = backend.get_array_module(p)
        amsgrad = group["amsgrad"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        step = state["step"]
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        maximize = group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        shrink = 1.0 - lr * wd if decoupled and wd else None
        coupled_wd = 0.0 if decoupled else wd
        step_size = lr / (1 - beta1 ** step)
        bias_correction2 = 1 - beta2 ** step
        bias_correction2_sqrt = bias_correction2 ** 0.5
        eps_inside = group["eps_inside_sqrt"]
        arrays = [p, g, state["exp_avg"], state["exp_avg_sq"]]
        if amsgrad:
            arrays.append(state["max_exp_avg_sq"])
        fused = self._compiled_kernels(*arrays)
        if fused:
            dt = p.dtype.type
            weight = 1.0 - beta1  # as lerp_ below: the form torch.lerp_ takes for it
            from_start = abs(weight) < 0.5
            scalars = (dt(1.0 if shrink is None else shrink), dt(coupled_wd), maximize,
                       dt(weight if from_start else 1.0 - weight), from_start, dt(beta2),
                       dt(1.0 - beta2), amsgrad, eps_inside, dt(bias_correction2),
                       dt(bias_correction2_sqrt), dt(eps), dt(-step_size))

            def kernel(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq=None):
                top = fused.UNUSED[p.dtype] if max_exp_avg_sq is None else max_exp_avg_sq
                fused.adam_update(p.reshape(-1), g.reshape(-1), exp_avg.reshape(-1),
                                  exp_avg_sq.reshape(-1), top.reshape(-1), *scalars)
            self._run(kernel, tuple(arrays), 0)
            return

        def kernel(p, g, exp_avg, exp_avg_sq, *rest):
            xp = backend.get_array_module(p)
            *extra, s, t = rest
            if shrink is not None:
                p *= shrink
            g = effective_grad(p, g, t, coupled_wd, maximize)
            lerp_(exp_avg, g, 1.0 - beta1, s)
            exp_avg_sq *= beta2
            xp.multiply(g, 1.0 - beta2, out=s)
            s *= g
            exp_avg_sq += s
            second = exp_avg_sq
            if amsgrad:
                (second,) = extra
                xp.maximum(second, exp_avg_sq, out=second)
            if eps_inside:
                xp.divide(second, bias_correction2, out=s)
                s += eps
                xp.sqrt(s, out=s)
            else:
                xp.sqrt(second, out=s)
                s /= bias_correction2_sqrt
                s += eps
            xp.divide(exp_avg, s, out=s)
            s *= -step_size
            p += s
        self._run(kernel, tuple(arrays), 2)


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
