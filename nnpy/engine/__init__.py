"""The training loop and what hangs off it; the experiment runner the CLI calls."""
from .timer import Timer
from .trainer import Callback, NonFiniteError, Trainer, TrainState
