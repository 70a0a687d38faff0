"""``dg.utils``: where PyTorch programs look for ``utils.data``."""
from . import data  # noqa: F401
