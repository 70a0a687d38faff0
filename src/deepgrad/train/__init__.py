"""Training: the fit loop, evaluation, metrics and History (``deepgrad.train``)."""
from .history import History
from .loop import NonFiniteLossError, evaluate, fit
from .metrics import accuracy
