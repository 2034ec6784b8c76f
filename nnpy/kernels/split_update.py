"""The fast twin of an element-wise optimizer update: a large parameter updated in contiguous
pieces at once on several threads (``nnpy.kernels.threads``).

An optimizer whose ``update`` treats each weight on its own (``Optimizer.elementwise``: SGD,
RMSprop, Adam, AdamW) gives every weight the same arithmetic whether it sees the whole
parameter or a piece of it, so the split update equals the whole one bit for bit (SGD with
Nesterov momentum and weight decay on alexnet's 2048×1024 dense layer: 6.4 -> 4.0 ms a step on
2 threads). While a piece is updated, ``piece()`` tells the optimizer which one, so that its
state arrays (``Optimizer._slot``) and scratch arrays (``Optimizer._scratch``) are cut the same
way.
"""
from __future__ import annotations

import threading

from .threads import split_over_threads

_piece = threading.local()     # .range: (start, stop, the whole parameter) of this thread's piece
new_slot_lock = threading.Lock()


def piece():
    """(start, stop, whole parameter) of the piece this thread is updating, or None."""
    return getattr(_piece, "range", None)


def applies(p, g) -> bool:
    """Both the parameter and its gradient are contiguous (a flat view cuts them alike)."""
    return p.flags.c_contiguous and g.flags.c_contiguous


def split_update(update, name: str, p, g) -> None:
    """``update(name, p, g)`` run over contiguous pieces of p and g at once, one per thread."""
    flat_p, flat_g = p.reshape(-1), g.reshape(-1)

    def part(lo, hi):
        _piece.range = (lo, hi, p)
        try:
            update(name, flat_p[lo:hi], flat_g[lo:hi])
        finally:
            _piece.range = None
    split_over_threads(p.size, part, 4 * p.nbytes)
