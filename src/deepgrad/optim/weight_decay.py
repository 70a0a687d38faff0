"""Weight decay, the three ways the optimizers offer it.

* **Coupled** (L2) decay, every optimizer's ``weight_decay`` but AdamW's: the gradient of
  the penalty ``weight_decay / 2 * ||p||^2`` is added to the gradient before the rule
  sees it, so it flows through momentum and the adaptive denominators::

      g = g + weight_decay * p

  The same penalty written into the loss is ``deepgrad.nn.utils.l2_penalty``: plain SGD
  on ``loss + l2_penalty(params, wd)`` takes the steps of ``SGD(weight_decay=wd)``.
* **Decoupled** decay (Loshchilov & Hutter), AdamW's and the ``decoupled_weight_decay=True``
  switch of SGD and Adam: the weights shrink toward zero beside the step, and the decay
  never enters the rule's state::

      p = p * (1 - lr * weight_decay)

* **No decay for some parameters**: :func:`param_groups_without_decay` builds the two
  parameter groups that exempt biases and normalization parameters.
"""


def coupled_decay(g, p, weight_decay):
    """``g + weight_decay * p``: the gradient with the L2 penalty's added (a new array;
    ``g`` itself, untouched, without decay)."""
    return g + weight_decay * p if weight_decay else g


def decoupled_decay_(p, lr, weight_decay):
    """``p = p * (1 - lr * weight_decay)`` in place."""
    if weight_decay:
        p *= 1 - lr * weight_decay


def followed_gradient(p, g, h):
    """The gradient a rule follows: ``-g`` when ``h.maximize``, then with the weight
    decay, added to it (coupled) or, with ``h.decoupled_weight_decay``, applied to ``p``
    directly (the weights shrink, the gradient stays)."""
    if h.maximize:
        g = -g
    if getattr(h, "decoupled_weight_decay", False):
        decoupled_decay_(p, h.lr, h.weight_decay)
        return g
    return coupled_decay(g, p, h.weight_decay)


def param_groups_without_decay(model, weight_decay, no_decay=None):
    """Two parameter groups: decayed weights, and parameters exempt from decay.

    ``model`` is anything with ``named_parameters()`` (a Module) or an iterable of
    ``(name, parameter)`` pairs. By default a parameter is exempt when it has at most one
    dimension: biases and the scales and shifts of normalization layers, whose decay
    only fights the normalization (Keras' ``exclude_from_weight_decay``, the usual
    recipe for AdamW). ``no_decay(name, param) -> bool`` overrides the test.

    Returns ``[{"params": decayed, "weight_decay": weight_decay},
    {"params": exempt, "weight_decay": 0.0}]``, ready for any optimizer; both groups are
    always present (possibly empty) so a checkpoint's group count never depends on the
    model. Other options come from the optimizer's defaults.
    """
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float)) \
            or weight_decay < 0:
        raise ValueError(f"param_groups_without_decay: weight_decay must be a non-negative "
                         f"number, got {weight_decay!r}")
    if no_decay is None:
        def no_decay(name, param):
            return param.ndim <= 1
    named = model.named_parameters() if hasattr(model, "named_parameters") else model
    decayed, exempt = [], []
    for name, param in named:
        if not getattr(param, "requires_grad", True):
            continue
        (exempt if no_decay(name, param) else decayed).append(param)
    return [{"params": decayed, "weight_decay": float(weight_decay)},
            {"params": exempt, "weight_decay": 0.0}]
