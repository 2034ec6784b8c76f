"""Optimizers and learning-rate schedulers (``build_optimizer``, ``build_scheduler``: the old names of
``make_optimizer``, ``make_scheduler``, kept for users)."""
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, build_optimizer, make_optimizer
from .schedulers import (Constant, CosineLR, ExponentialLR, MultiStepLR, ReduceOnPlateau, Scheduler,
                         StepLR, build_scheduler, make_scheduler)
