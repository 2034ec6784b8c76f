"""Fast versions of some of ``nnpy.functional``'s operations, and the one switch that picks them.

A fast kernel computes what its plain twin in ``nnpy.functional`` computes — bit for bit where the
order of the arithmetic is the same, else to float32 rounding — by working around numpy's costs:
memory layouts that spare transposing copies (``im2col``: the batch-inner layout), scratch arrays
kept between steps, element-wise passes split over threads (``threads``). Each is tested against
its twin in tests/functional.

``fast()`` is the one place that decides whether the kernels run. ``NNPY_REFERENCE=1`` in the
environment, or ``nnpy.reference_mode()`` in Python, runs only the plain functions: slower, and
every step of the math can be followed in a debugger while a real model trains.

Modules: ``threads`` (the thread pool), ``blas`` (a product added into its output, BLAS's β = 1;
SGD's update lines as one pass each, ``axpby``),
``im2col`` (layouts and patch copies), ``conv``, ``inference`` (the evaluation forward of conv
blocks: BatchNorm folded, ReLU and sums in place).
"""
from __future__ import annotations

import contextlib
import os

_reference = os.environ.get("NNPY_REFERENCE", "").strip().lower() in ("1", "true", "yes", "on")


def fast() -> bool:
    """True unless reference mode is on: layers then run the fast kernels."""
    return not _reference


def set_reference_mode(on: bool = True) -> None:
    """Run only the plain functions of ``nnpy.functional`` (True) or the fast kernels too (False)."""
    global _reference
    _reference = bool(on)


@contextlib.contextmanager
def reference_mode(on: bool = True):
    """``with nnpy.reference_mode(): model.fit(...)`` — the plain math inside the block only."""
    global _reference
    before, _reference = _reference, bool(on)
    try:
        yield
    finally:
        _reference = before
