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

# The trainable model needs the engine (and through it Pillow and PyYAML); it is imported
# on first use, so ``import nnpy.nn`` / ``import nnpy.autograd`` work without them.
_FROM_ENGINE = {"History": "History", "Model": "Model", "load": "load",
                "Sequential": "Model"}  # ``nnpy.Sequential([...])``: the trainable model


def __getattr__(name: str):
    if name in _FROM_ENGINE:
        from .engine import model
        value = getattr(model, _FROM_ENGINE[name])
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nnpy' has no attribute '{name}'")
