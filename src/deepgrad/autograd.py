"""``deepgrad.autograd``, the namespace of PyTorch's ``torch.autograd``: the Tensor
(``tensor_core.py``), the Function protocol (``function.py``), ``grad()``
(``gradients.py``) and the grad-mode switches (``grad_mode.py``).

Each lives in its own module and none imports this one, so the namespace runs no import
back up. Inside deepgrad ``from ..autograd import Function, Tensor`` is the one way in.
"""
from .function import AccumulateGrad, Function
from .grad_mode import (AnomalyError, detect_anomaly, enable_grad, inference_mode,
                        is_grad_enabled, no_grad, set_grad_enabled)
from .gradients import grad
from .tensor_core import Size, Tensor, sum_to

__all__ = ["AccumulateGrad", "AnomalyError", "Function", "Size", "Tensor", "detect_anomaly",
           "enable_grad", "grad", "inference_mode", "is_grad_enabled", "no_grad",
           "set_grad_enabled", "sum_to"]
