"""The old path of ``GradientWatch`` and ``no_gradient_message``, kept for users: they are written
in ``nnpy/engine/trainer.py`` beside the loop's other gradient check (``NonFiniteError``)."""
from .trainer import GradientWatch, no_gradient_message

__all__ = ["GradientWatch", "no_gradient_message"]
