"""The one place where nnpy reaches its array library.

Layers, losses and optimizers write ``from nnpy.backend import xp`` and use ``xp``
where they would write ``np``. Today ``xp`` is numpy; a backend with the same
array API (CuPy) can be swapped in here without touching every layer.
"""
import numpy

xp = numpy

_default_dtype = numpy.dtype("float32")


def default_dtype() -> numpy.dtype:
    """The floating dtype new parameters and data get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype: ``"float32"`` (default) or ``"float64"``."""
    global _default_dtype
    dt = numpy.dtype(dtype)
    if dt not in (numpy.float32, numpy.float64):
        raise ValueError(f"default dtype must be float32 or float64, not {dt}")
    _default_dtype = dt
