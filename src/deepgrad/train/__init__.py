"""Training: the Trainer and ``fit``, callbacks, progress display, metrics and History."""
from .callbacks import (Callback, EarlyStopping, GradientFlow, LiveCurves, LRSchedule,
                        MetricsLogger, ModelCheckpoint)
from .history import History
from .metrics import accuracy
from .probes import Probes
from .progress import ProgressBar
from .trainer import NonFiniteLossError, Trainer, evaluate, fit, train_step
