"""Every built-in layer; importing this package registers them all."""
from .containers import Residual, Sequential
from .dense import Dense

__all__ = ["Dense", "Residual", "Sequential"]
