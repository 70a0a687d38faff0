"""``dg.backends``: answers to the backend checks tutorials make (``backends.mps``,
``backends.cudnn``)."""
from . import cudnn, mps  # noqa: F401
