"""The course's optimizers by the playground's names, built from ``deepgrad.optim``.

"momentum" and "nesterov" are SGD with PyTorch's momentum (Nesterov's form for the
latter); every other name is the class of the same name. Options missing from ``cfg``
take the network view's defaults (``config.NETWORK``); weight decay is coupled (L2)
unless ``decay == "decoupled"``. Rprop has no weight decay of its own: the caller adds
``nn.utils.l2_penalty`` to the loss instead (``needs_l2_penalty``).
"""
import deepgrad as dg

from .config import NETWORK


def needs_l2_penalty(cfg):
    """Rprop's L2 decay is written into the loss."""
    return cfg["optimizer"] == "rprop" and cfg.get("weight_decay", 0) > 0


def build(params, name, lr, cfg=None):
    """The optimizer ``name`` over ``params`` with learning rate ``lr``."""
    cfg = cfg or {}

    def opt(key):
        return cfg.get(key, NETWORK[key].default)

    wd = opt("weight_decay")
    decoupled = opt("decay") == "decoupled"
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else opt("momentum")
        return dg.optim.SGD(params, lr=lr, momentum=momentum, nesterov=name == "nesterov",
                            weight_decay=wd, decoupled_weight_decay=decoupled)
    if name == "rprop":
        return dg.optim.Rprop(params, lr=lr, etas=(opt("eta_minus"), opt("eta_plus")))
    if name == "adagrad":
        return dg.optim.Adagrad(params, lr=lr, eps=opt("eps"), weight_decay=wd)
    if name == "rmsprop":
        return dg.optim.RMSprop(params, lr=lr, alpha=opt("alpha"), eps=opt("eps"),
                                centered=opt("centered"), weight_decay=wd)
    if name == "adadelta":
        return dg.optim.Adadelta(params, lr=lr, rho=opt("rho"), eps=opt("eps"),
                                 weight_decay=wd)
    betas = (opt("beta1"), opt("beta2"))
    if name == "adam":
        return dg.optim.Adam(params, lr=lr, betas=betas, eps=opt("eps"), weight_decay=wd,
                             amsgrad=opt("amsgrad"), decoupled_weight_decay=decoupled)
    if name == "adamw":
        return dg.optim.AdamW(params, lr=lr, betas=betas, eps=opt("eps"), weight_decay=wd,
                              amsgrad=opt("amsgrad"))
    raise ValueError(f"unknown optimizer {name!r}")
