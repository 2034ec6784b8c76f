"""The training loop and what hangs off it; the experiment runner the CLI calls."""
from .timer import Timer
from .callbacks import Callback
from .trainer import NonFiniteError, Trainer, TrainState
