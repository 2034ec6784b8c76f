"""nnpy: a deep-learning framework written on numpy alone.

The core -- layers, losses, metrics, initializers, optimizers, schedulers, the registries --
imports with numpy alone. The training engine behind ``nnpy.Sequential``, ``nnpy.History``,
``nnpy.load`` and ``nnpy.callbacks`` also reads files (Pillow, PyYAML) and is imported the
first time one of those names is used.
"""
from .version import __version__
from .errors import CheckpointError, ConfigError, DataError, NnpyError, RegistryError, ShapeError
from .registry import (register_dataset, register_initializer, register_layer, register_loss,
                       register_metric, register_optimizer, register_scheduler, register_symbol)
from .nn import Layer, make_layer, gradcheck
from .nn.placeholders import Input
from . import layers
from .nn import losses, metrics
from .nn.initializers import make_initializer
from .nn.losses import make_loss
from .nn.memory import keep_freed_memory   # opt-in process tuning; the nnpy command calls it
from .kernels import reference_mode, set_reference_mode   # the plain math only (NNPY_REFERENCE=1)
from .kernels.threads import set_num_threads   # opt-in thread pool for large passes; the nnpy command calls it
from .optim import make_optimizer, make_scheduler
from . import optim
# deprecated: the old names of make_layer, make_initializer, make_loss, make_optimizer, make_scheduler
from .nn import build_layer
from .nn.initializers import build_initializer
from .nn.losses import build_loss
from .optim import build_optimizer, build_scheduler

_ENGINE_NAMES = ("Sequential", "Model", "History", "load", "callbacks")


def __getattr__(name: str):
    """``nnpy.Sequential``, ``nnpy.Model``, ``nnpy.History``, ``nnpy.load``, ``nnpy.callbacks``: the engine,
    imported on first use."""
    if name == "callbacks":
        import importlib
        return importlib.import_module(".callbacks", __name__)
    if name == "load":
        from .engine.checkpoint_content import load
        return load
    if name in _ENGINE_NAMES:
        from .engine import model
        return getattr(model, name)
    raise AttributeError(f"module 'nnpy' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_ENGINE_NAMES])
