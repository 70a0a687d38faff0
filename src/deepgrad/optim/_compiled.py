"""The optimizers' compiled updates (optional: Numba), chosen by ``Optimizer.step``.

For SGD, Adam/AdamW, RMSprop, Adagrad and Adadelta a Numba loop (``_numba_updates.py``)
computes the reference step in one pass over parameter, gradient and state instead of
one per operation, with the same bits. :func:`update` gives it for a reference rule and
its arrays, or None when the reference is to run: no Numba, ``DEEPGRAD_COMPILED=0`` in
the environment, arrays other than row-major NumPy float32 or float64 ones of one
dtype, or a rule without a loop (Rprop, Sutskever's momentum). The tests hold every
loop to its reference, bit for bit.

The callers below turn a step's named hyper-parameters into the loop's, in the arrays'
dtype (as NumPy converts a Python float against a float32 array).
"""
import numpy as np

from .. import backend
from ..backend import COMPILED_DTYPES

_loops = None  # the module of compiled loops, or False when unavailable


def loops():
    """The compiled loops, or None (no Numba, or switched off)."""
    global _loops
    if _loops is None:
        _loops = backend.load_compiled("deepgrad.optim._numba_updates")
    return _loops or None


def update(rule, arrays, h):
    """The compiled form of the reference step ``rule`` with hyper-parameters ``h``, as a
    function of the same arrays (``update(**arrays)``), or None."""
    caller = _CALLERS.get(rule.__name__)
    dtype = arrays["p"].dtype
    if caller is None or dtype not in COMPILED_DTYPES or not all(
            type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous
            for a in arrays.values()):
        return None
    compiled = loops()
    return caller(compiled, h, dtype.type) if compiled else None


def _flat(a):
    return a.reshape(-1)


def _lerp_weight(weight, dt):
    """``lerp_``'s factor and form for ``weight``: (w, True) below 0.5, else (1 - w,
    False), as torch.lerp_ rounds."""
    from_start = abs(weight) < 0.5
    return dt(weight if from_start else 1.0 - weight), from_start


def _decay(h, dt):
    """(factor the weights are multiplied by, coupled decay added to the gradient)."""
    if h.decoupled_weight_decay:
        return dt(1.0 - h.lr * h.weight_decay if h.weight_decay else 1.0), dt(0.0)
    return dt(1.0), dt(h.weight_decay)


def _sgd(loops, h, dt):
    decay_factor, weight_decay = _decay(h, dt)
    settings = dict(lr=dt(h.lr), momentum=dt(h.momentum),
                    one_minus_dampening=dt(1.0 - h.dampening), weight_decay=weight_decay,
                    decay_factor=decay_factor, maximize=h.maximize, nesterov=h.nesterov,
                    first_step=h.first_step)
    empty = loops.EMPTY_STATE[np.dtype(dt)]

    def update(p, g, momentum_buffer=None):
        buffer = _flat(momentum_buffer) if h.momentum else empty
        loops.sgd_update(_flat(p), _flat(g), buffer, **settings)
    return update


def _adam(loops, h, dt):
    decay_factor, weight_decay = _decay(h, dt)
    beta1_weight, beta1_from_start = _lerp_weight(1.0 - h.beta1, dt)
    bias_correction2 = 1 - h.beta2 ** h.step
    settings = dict(decay_factor=decay_factor, weight_decay=weight_decay,
                    maximize=h.maximize, beta1_weight=beta1_weight,
                    beta1_from_start=beta1_from_start, beta2=dt(h.beta2),
                    one_minus_beta2=dt(1.0 - h.beta2), amsgrad=h.amsgrad,
                    eps_inside_sqrt=h.eps_inside_sqrt,
                    bias_correction2=dt(bias_correction2),
                    bias_correction2_sqrt=dt(bias_correction2 ** 0.5), eps=dt(h.eps),
                    step_size=dt(h.lr / (1 - h.beta1 ** h.step)))
    empty = loops.EMPTY_STATE[np.dtype(dt)]

    def update(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq=None):
        maximum = _flat(max_exp_avg_sq) if h.amsgrad else empty
        loops.adam_update(_flat(p), _flat(g), _flat(exp_avg), _flat(exp_avg_sq), maximum,
                          **settings)
    return update


def _rmsprop(loops, h, dt):
    grad_avg_weight, grad_avg_from_start = _lerp_weight(1.0 - h.alpha, dt)
    settings = dict(lr=dt(h.lr), alpha=dt(h.alpha), one_minus_alpha=dt(1.0 - h.alpha),
                    grad_avg_weight=grad_avg_weight,
                    grad_avg_from_start=grad_avg_from_start, eps=dt(h.eps),
                    weight_decay=dt(h.weight_decay), momentum=dt(h.momentum),
                    centered=h.centered, maximize=h.maximize,
                    eps_inside_sqrt=h.eps_inside_sqrt)
    empty = loops.EMPTY_STATE[np.dtype(dt)]

    def update(p, g, square_avg, grad_avg=None, momentum_buffer=None):
        loops.rmsprop_update(_flat(p), _flat(g), _flat(square_avg),
                             _flat(grad_avg) if h.centered else empty,
                             _flat(momentum_buffer) if h.momentum > 0 else empty,
                             **settings)
    return update


def _adagrad(loops, h, dt):
    clr = h.lr / (1 + (h.step - 1) * h.lr_decay)
    settings = dict(lr=dt(clr), eps=dt(h.eps), weight_decay=dt(h.weight_decay),
                    maximize=h.maximize)

    def update(p, g, sum):
        loops.adagrad_update(_flat(p), _flat(g), _flat(sum), **settings)
    return update


def _adadelta(loops, h, dt):
    settings = dict(lr=dt(h.lr), rho=dt(h.rho), one_minus_rho=dt(1.0 - h.rho),
                    eps=dt(h.eps), weight_decay=dt(h.weight_decay), maximize=h.maximize)

    def update(p, g, square_avg, acc_delta):
        loops.adadelta_update(_flat(p), _flat(g), _flat(square_avg), _flat(acc_delta),
                              **settings)
    return update


_CALLERS = {"sgd": _sgd, "adam": _adam, "rmsprop": _rmsprop, "adagrad": _adagrad,
            "adadelta": _adadelta}
