"""The Numba loops behind :mod:`deepgrad.optim._compiled` (imported only through it, so
``import deepgrad`` never loads Numba).

Each loop is one optimizer's reference step (``sgd.py``, ``adam.py``, ``rmsprop.py``,
``adagrad.py``, ``adadelta.py``) run element by element in one pass over parameter,
gradient and state, where NumPy makes one pass per operation, each streaming its
operands through memory once a training step has pushed them out of the caches. The
operations and their order are the reference's, one rounding each (Numba does not fuse
a product and a sum unless asked), so the results are the same bits. Scalars come in
the arrays' dtype, as NumPy converts them; the switches do not change within a loop.
"""
import numba
import numpy as np

# error_model="numpy": a float division by zero gives inf or NaN as in NumPy; Numba's
# default checks every division to raise ZeroDivisionError, and that check keeps a loop
# with a division from being vectorised.
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

EMPTY_STATE = {np.dtype(t): np.empty(0, t) for t in (np.float32, np.float64)}
"""What a loop gets for a state array its options leave out (SGD's momentum buffer
without momentum, Adam's maximum without amsgrad...): an empty array of its own, never
read, its branch being off. Another state array in its place would give the same
numbers, but the compiler must then allow for the two overlapping, and that keeps the
loop from being vectorised."""


@_jit
def _gradient(p, g, weight_decay, maximize):
    """The gradient a rule uses: negated if maximizing, plus the coupled decay
    ``weight_decay * p`` (``weight_decay.coupled_decay``)."""
    grad = -g if maximize else g
    return grad + weight_decay * p if weight_decay != 0 else grad


@_jit
def _moving_square(v, grad, beta, one_minus_beta):
    """``v * beta + (1 - beta) * grad * grad``: the running average of squares of Adam,
    RMSprop and Adadelta, rounded as their references round it."""
    return v * beta + one_minus_beta * grad * grad


@_jit
def _lerp(m, grad, weight, from_start):
    """``m`` moved toward ``grad`` as torch.lerp_ rounds it (``optimizer.lerp_``):
    ``m + w * (grad - m)`` for w < 0.5 (``from_start``), else ``grad - (1 - w) * (grad
    - m)``, ``weight`` being the factor used."""
    return m + weight * (grad - m) if from_start else grad - weight * (grad - m)


@_jit
def sgd_update(p, g, momentum_buffer, lr, momentum, one_minus_dampening, weight_decay,
               decay_factor, maximize, nesterov, first_step):
    """PyTorch's SGD step; the buffer (unused when momentum == 0) is filled from the
    gradient at the ``first_step``; ``decay_factor`` is 1 without decoupled decay."""
    for i in range(p.size):
        grad = _gradient(p[i], g[i], weight_decay, maximize)
        if momentum != 0:
            if first_step:
                b = grad
            else:
                b = momentum_buffer[i] * momentum + one_minus_dampening * grad
            momentum_buffer[i] = b
            grad = grad + momentum * b if nesterov else b
        p[i] = p[i] * decay_factor - lr * grad


@_jit
def adam_update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, decay_factor, weight_decay,
                maximize, beta1_weight, beta1_from_start, beta2, one_minus_beta2, amsgrad,
                eps_inside_sqrt, bias_correction2, bias_correction2_sqrt, eps, step_size):
    """Adam's step (``max_exp_avg_sq`` unused without amsgrad); the first moment moves
    by ``_lerp`` with ``beta1_weight``."""
    for i in range(p.size):
        decayed = p[i] * decay_factor
        grad = _gradient(decayed, g[i], weight_decay, maximize)
        m = _lerp(exp_avg[i], grad, beta1_weight, beta1_from_start)
        exp_avg[i] = m
        v = _moving_square(exp_avg_sq[i], grad, beta2, one_minus_beta2)
        exp_avg_sq[i] = v
        if amsgrad:
            top = max_exp_avg_sq[i]
            v = top if top >= v or top != top else v  # np.maximum: a NaN wins
            max_exp_avg_sq[i] = v
        if eps_inside_sqrt:
            denom = np.sqrt(v / bias_correction2 + eps)
        else:
            denom = np.sqrt(v) / bias_correction2_sqrt + eps
        p[i] = decayed - step_size * (m / denom)


@_jit
def rmsprop_update(p, g, square_avg, grad_avg, momentum_buffer, lr, alpha,
                   one_minus_alpha, grad_avg_weight, grad_avg_from_start, eps,
                   weight_decay, momentum, centered, maximize, eps_inside_sqrt):
    """RMSprop's step (``grad_avg`` unused unless centered, ``momentum_buffer`` without
    momentum); the centred mean moves by ``_lerp`` with ``grad_avg_weight``."""
    for i in range(p.size):
        grad = _gradient(p[i], g[i], weight_decay, maximize)
        v = _moving_square(square_avg[i], grad, alpha, one_minus_alpha)
        square_avg[i] = v
        if centered:
            m = _lerp(grad_avg[i], grad, grad_avg_weight, grad_avg_from_start)
            grad_avg[i] = m
            v = v - m * m
        d = np.sqrt(v + eps) if eps_inside_sqrt else np.sqrt(v) + eps
        move = grad / d
        if momentum > 0:
            move = momentum_buffer[i] * momentum + move
            momentum_buffer[i] = move
        p[i] = p[i] - lr * move


@_jit
def adagrad_update(p, g, total, lr, eps, weight_decay, maximize):
    """Adagrad's step, ``lr`` the step's decayed rate; ``total`` is the state ``sum``."""
    for i in range(p.size):
        grad = _gradient(p[i], g[i], weight_decay, maximize)
        t = total[i] + grad * grad
        total[i] = t
        p[i] = p[i] - lr * (grad / (np.sqrt(t) + eps))


@_jit
def adadelta_update(p, g, square_avg, acc_delta, lr, rho, one_minus_rho, eps,
                    weight_decay, maximize):
    """Adadelta's step: ``d = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``."""
    for i in range(p.size):
        grad = _gradient(p[i], g[i], weight_decay, maximize)
        v = _moving_square(square_avg[i], grad, rho, one_minus_rho)
        square_avg[i] = v
        u = acc_delta[i]
        d = np.sqrt(u + eps) / np.sqrt(v + eps) * grad
        acc_delta[i] = _moving_square(u, d, rho, one_minus_rho)
        p[i] = p[i] - lr * d
