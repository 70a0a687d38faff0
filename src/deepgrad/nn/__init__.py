"""Neural-network layers, losses and the Module base (``deepgrad.nn``)."""
from . import functional, init, utils
from .activation import Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import (Flatten, ModuleDict, ModuleList, ParameterDict, ParameterList,
                        Sequential)
from .conv import Conv2d
from .dropout import Dropout, Dropout2d
from .lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyConv2d, LazyLinear
from .linear import Linear
from .locally_connected import LocallyConnected2d
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .model_summary import ModelSummary, summary
from .module import Module
from .parameter import Parameter, UninitializedParameter
from .pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from . import models
from .models import count_parameters
