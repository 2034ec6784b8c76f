"""Window geometry shared by convolution and pooling: sizes, strides and padding.

A window of size k, moved by stride s over n inputs padded by (before, after), fits
(n + before + after − k) // s + 1 times.
"""
from __future__ import annotations

import math


def pair(value, what: str) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; ``(3, 2)`` stays; anything else is a ValueError naming ``what``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and int(value) == value:
        value = (int(value), int(value))
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return int(value[0]), int(value[1])
    raise ValueError(f"{what} must be an int or a pair of ints, not {value!r}")


def check_padding(padding) -> None:
    """Raise ValueError unless ``padding`` is 'same', 'valid', an int >= 0 or a pair of them."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same', 'valid', an int or a pair, not {padding!r}")
        return
    if min(pair(padding, "padding")) < 0:
        raise ValueError(f"padding must not be negative, not {padding!r}")


def resolve_padding(padding, kernel: tuple, stride: tuple, size: tuple) -> tuple[tuple, tuple]:
    """((top, bottom), (left, right)) for ``padding`` on an input of ``size`` (H, W).

    'valid' is no padding; 'same' gives ceil(size / stride) outputs and, like
    TensorFlow, puts the odd extra row/column at the bottom/right.
    """
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        pads = []
        for n, k, s in zip(size, kernel, stride):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads[0]), tuple(pads[1])
    ph, pw = pair(padding, "padding")
    return (ph, ph), (pw, pw)


def output_size(n: int, k: int, s: int, pads: tuple) -> int:
    """Number of windows of size k and stride s on n inputs padded by ``pads``."""
    return (n + pads[0] + pads[1] - k) // s + 1


def check_padding1d(padding) -> None:
    """Raise ValueError unless ``padding`` is 'same', 'valid' or an int >= 0 (for sequences)."""
    if isinstance(padding, str) or (isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0):
        return check_padding(padding)
    raise ValueError(f"padding must be 'same', 'valid' or an int >= 0, not {padding!r}")


def resolve_padding1d(padding, kernel: int, stride: int, length: int) -> tuple[int, int]:
    """(left, right) for ``padding`` on a sequence of ``length`` ('same': the odd extra at the right)."""
    both = padding if isinstance(padding, str) else (0, padding)
    return resolve_padding(both, (1, kernel), (1, stride), (1, length))[1]
