"""nnpy: a deep-learning framework written on numpy alone."""
__version__ = "0.1.0"

from .errors import CheckpointError, ConfigError, DataError, NnpyError, RegistryError, ShapeError
from .registry import (register_dataset, register_initializer, register_layer, register_loss,
                       register_metric, register_optimizer, register_scheduler, register_symbol)
from .nn import Layer, build_layer, gradcheck
from . import layers
from .nn import losses, metrics
from .nn.initializers import build_initializer
from .nn.losses import build_loss
from .optim import build_optimizer, build_scheduler
from . import optim
from .engine.model import History, Model, load

#: ``nnpy.Sequential([...])``: the trainable model (``compile``/``fit``/``evaluate``/``save``).
Sequential = Model
