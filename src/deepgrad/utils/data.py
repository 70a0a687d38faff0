"""``dg.utils.data`` is :mod:`deepgrad.data`, under PyTorch's name ``torch.utils.data``."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
