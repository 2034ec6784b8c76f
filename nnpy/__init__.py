"""nnpy: a deep-learning framework written on numpy alone."""
__version__ = "0.1.0"

from .errors import CheckpointError, ConfigError, DataError, NnpyError, RegistryError, ShapeError
from .registry import (register_dataset, register_initializer, register_layer, register_loss,
                       register_metric, register_optimizer, register_scheduler, register_symbol)
from .nn import Layer, build_layer, gradcheck, layers
from .nn import losses, metrics
from .nn.initializers import build_initializer
from .nn.layers import Sequential
from .nn.losses import build_loss
from .optim import build_optimizer, build_scheduler
from . import optim
