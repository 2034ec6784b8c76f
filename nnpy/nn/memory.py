"""Keep freed memory in the process, so that a training step does not page-fault its arrays in.

A training step allocates and frees the same large arrays every time (activations, their
gradients, im2col patches). glibc's ``malloc`` serves a block above ``M_MMAP_THRESHOLD``
(128 KiB at first) with a fresh ``mmap`` and returns it to the operating system when freed,
and trims the top of its heap above ``M_TRIM_THRESHOLD``: the next step then touches brand-new
pages, and the kernel zero-fills each one on its first write. On the 2-core development VM
that costs about as much as the arithmetic: one BatchNorm forward over a 1.6 MB activation
took 3.3 ms with the defaults and 0.6 ms with freed blocks kept; a training step of the
resnet-fashion model at batch 64 went 231 -> 173 ms, lenet 80 -> 72 ms (same process, the
thresholds switched back and forth). PyTorch's CPU builds meet the same cost; its docs advise
jemalloc or tcmalloc for it.

``keep_freed_memory()`` raises both thresholds, once per process: blocks up to 32 MiB (glibc's
largest mmap threshold) come from the heap, and the heap keeps up to 1 GiB of free memory
instead of returning it. Memory the process has used stays counted in its RSS, as with any
caching allocator. It changes the whole process, so importing nnpy never calls it: the ``nnpy``
command line does (every command), and a notebook or script that trains asks for it with
``nnpy.keep_freed_memory()``. ``NNPY_KEEP_FREED_MEMORY=0`` turns it off even then. Elsewhere
than glibc (macOS, Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20   # the largest glibc accepts on 64-bit machines
TRIM_THRESHOLD = 1 << 30

_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once); True when they were raised."""
    global _done
    if _done:
        return True
    if os.environ.get("NNPY_KEEP_FREED_MEMORY", "1").strip() == "0":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt         # the C library this Python is linked with
    except (OSError, AttributeError):   # not glibc: nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
