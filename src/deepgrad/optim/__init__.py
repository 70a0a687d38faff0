"""Optimizers (``deepgrad.optim``): PyTorch's update rules and argument names.

``OPTIMIZERS`` maps the lower-case names the command line accepts to the classes;
``lr_scheduler`` holds the learning-rate schedules (and its own ``SCHEDULERS``).
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .weight_decay import param_groups_without_decay
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

OPTIMIZERS = {
    "sgd": SGD,
    "rprop": Rprop,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
}
