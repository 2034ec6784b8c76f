"""Optimizers and learning-rate schedulers."""
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, build_optimizer
from .schedulers import (Constant, CosineLR, ExponentialLR, MultiStepLR, ReduceOnPlateau, Scheduler,
                         StepLR, build_scheduler)
