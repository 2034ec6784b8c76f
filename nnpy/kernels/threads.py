"""Large element-wise passes and copies split over a small persistent thread pool.

numpy runs a ufunc or a copy on one thread, but it releases the GIL inside the loop, so two
threads that each work on one half of an array keep two cores busy. BLAS already uses every
core for the matrix products; this module gives the passes between them (ReLU and its mask,
bias adds, im2col and col2im copies, pooling folds, optimizer updates) the same cores::

    split_over_threads(len(out), lambda lo, hi: np.maximum(x[lo:hi], 0, out=out[lo:hi]), out.nbytes)

Measured on the 2-core development machine (numpy 2.4): handing a part to the pool's thread
and waiting for it costs about 120 µs (the thread has to be woken up), whatever the size. A
ReLU over 5.5 MB then ran 1.35x faster, a multiply over 10 MB 1.45x, but a multiply over 1.6 MB
(in cache, 0.06 ms alone) 3x slower. So passes below ``MIN_BYTES`` (all operands together) run
on the calling thread; at 4 MiB, the resnet-fashion model's training step was 7% slower than
with no splitting at all, at 16 MiB as fast, and lenet's 2-3% faster.

A body that runs matrix products of its own (``blas_per_part``: an evaluation forward split by
samples, ``nnpy.nn.layers.evaluation``) gets BLAS on one thread while the parts run, so that the
parts and BLAS's threads do not compete for the cores; ``single_threaded_blas`` sets it through
OpenBLAS's ``openblas_set_num_threads`` (found among the loaded libraries; with another BLAS such a
body runs unsplit).

Each element is computed by the same numpy operation as without threads, so results are
bit-identical whatever the thread count (a product of a part of the rows may round differently). Reductions (sums, means) are never split here: that
would change their rounding.

A thread pool is a change to the whole process, so none starts unasked: passes run on the calling
thread until ``set_num_threads`` is called — the ``nnpy`` command line calls ``set_num_threads()``,
a script or notebook may too (``nnpy.set_num_threads()``) — or ``NNPY_NUM_THREADS`` is set.
``set_num_threads()`` without a count takes ``NNPY_NUM_THREADS``, else ``OMP_NUM_THREADS`` (what
BLAS uses), else the number of CPUs this process may run on (at most 4).

The pool's threads share the cores with OpenBLAS's, and OpenBLAS's idle workers do not sleep:
after each product they spin, waiting for the next one, for 2^28 clock ticks (0.1 s at 2.6 GHz) —
through every pass between the products. A pass split over two threads then runs three threads on
two cores. So ``set_num_threads(n ≥ 2)`` also asks OpenBLAS's workers to sleep after 2^20 ticks
(``BLAS_IDLE_SPIN``: 0.4 ms; ``blas_idle_spin``): lenet's training step at batch 64 took 0.87 and
0.89 of its time (toggled in one process), at batch 128 0.90; the MLP's, whose products follow each
other closely, 1.01 (at 2^16 ticks 1.04: its workers fell asleep between products); alexnet's
and resnet's 0.98-1.01. ``OPENBLAS_THREAD_TIMEOUT``, when set, is left as the user set it.
"""
from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .blas import openblas_function

#: passes over fewer bytes than this (all operands together) run on the calling thread
MIN_BYTES = 16 << 20
#: with the pool on, OpenBLAS's idle workers sleep after 2**BLAS_IDLE_SPIN clock ticks (the module
#: docstring); OpenBLAS's own default, 28, comes back with ``set_num_threads(1)``
BLAS_IDLE_SPIN, OPENBLAS_IDLE_SPIN = 20, 28

_state = threading.local()   # .busy: this thread is running a part already (no nesting)
_pool: ThreadPoolExecutor | None = None
_threads: int | None = None


def _default_threads() -> int:
    for var in ("NNPY_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def num_threads() -> int:
    """How many threads a large pass is split over (1: no splitting): what ``set_num_threads``
    set, else ``NNPY_NUM_THREADS``, else 1."""
    if _threads is not None:
        return _threads
    value = os.environ.get("NNPY_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else 1


def set_num_threads(n: int | None = None) -> None:
    """Split large passes over ``n`` threads from now on (1 turns splitting off; None: the
    default count, see the module docstring)."""
    global _threads, _pool
    if n is None:
        n = _default_threads()
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, not {n!r}")
    if _pool is not None:
        _pool.shutdown(wait=True)
        _pool = None
    _threads = n
    blas_idle_spin(BLAS_IDLE_SPIN if n > 1 else OPENBLAS_IDLE_SPIN)


def _forget_pool_after_fork() -> None:
    global _pool
    _pool = None      # a forked child has no worker threads: it makes its own pool on first use


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _run_part(body, lo: int, hi: int) -> None:
    _state.busy = True
    try:
        body(lo, hi)
    finally:
        _state.busy = False


def split_over_threads(n: int, body: Callable[[int, int], None], nbytes: int, blas_per_part: bool = False) -> None:
    """Call ``body(lo, hi)`` on contiguous ranges that cover ``range(n)``, one per thread.

    ``nbytes``: the bytes the whole pass touches; below ``MIN_BYTES``, with one thread, in
    reference mode (``nnpy.kernels``), or when called from inside a part, ``body(0, n)`` runs
    alone on the calling thread.
    ``body`` must write disjoint data for disjoint ranges. ``blas_per_part``: the parts run matrix
    products of their own, so BLAS runs on one thread while they do (``single_threaded_blas``);
    where its threads cannot be set, ``body(0, n)`` runs alone and BLAS keeps them.
    """
    global _pool
    from . import fast

    threads = min(num_threads(), n)
    if threads < 2 or nbytes < MIN_BYTES or not fast() or getattr(_state, "busy", False) or \
            (blas_per_part and blas_threads() is None):
        body(0, n)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="nnpy")
    bounds = [n * k // threads for k in range(threads + 1)]
    with single_threaded_blas() if blas_per_part else contextlib.nullcontext():
        futures = [_pool.submit(_run_part, body, bounds[k], bounds[k + 1]) for k in range(1, threads)]
        try:
            _run_part(body, bounds[0], bounds[1])
        finally:
            for f in futures:
                f.result()          # waits for every part; re-raises a part's exception


def _openblas():
    """(get, set) of the thread count of the OpenBLAS numpy loaded, or None (another BLAS, not
    Linux, or not found): ``openblas_get_num_threads``/``openblas_set_num_threads`` under the
    names its builds use (``nnpy.kernels.blas``)."""
    get, put = openblas_function("openblas_get_num_threads"), openblas_function("openblas_set_num_threads")
    return None if get is None or put is None else (get[0], put[0])


_blas = []      # [(get, set) or None], found once


def blas_threads():
    """(get, set) of BLAS's thread count, or None where nnpy cannot set it."""
    if not _blas:
        _blas.append(_openblas())
    return _blas[0]


@contextlib.contextmanager
def single_threaded_blas():
    """BLAS on one thread inside the block, its count restored after (a setting of the whole
    process: only the thread that starts the parts changes it)."""
    get, put = blas_threads()
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)


def blas_idle_spin(exponent: int) -> bool:
    """Let OpenBLAS's idle worker threads spin for 2**exponent clock ticks (4 … 30) before they
    sleep; False where nnpy cannot (another BLAS, or ``OPENBLAS_THREAD_TIMEOUT`` set by the user).

    OpenBLAS reads ``OPENBLAS_THREAD_TIMEOUT`` when it loads and when it starts its workers: nnpy
    sets the variable, has OpenBLAS read its environment again (``openblas_read_env``) and stops
    the workers (``blas_thread_shutdown_``, what OpenBLAS itself does before a fork); the next
    product starts them with the new setting. The variable is removed again, so that child
    processes start as they would have. Call it while no other thread runs a product.
    """
    if os.environ.get("OPENBLAS_THREAD_TIMEOUT", "").strip():
        return False
    read_env, stop_workers = openblas_function("openblas_read_env"), openblas_function("blas_thread_shutdown_")
    if read_env is None or stop_workers is None:
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(exponent)
    try:
        read_env[0]()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]
    stop_workers[0]()
    return True


def outer_axis(a) -> int:
    """The axis whose slices are the largest contiguous blocks of ``a`` (its largest stride,
    among axes longer than 1): splitting along it gives each thread its own stretch of memory."""
    axes = [k for k in range(a.ndim) if a.shape[k] > 1] or [0]
    return max(axes, key=lambda k: abs(a.strides[k]))


def along(axis: int, lo: int, hi: int, ndim: int) -> tuple:
    """The index ``[:, …, lo:hi, …]`` that slices axis ``axis`` of an ``ndim``-D array."""
    return (slice(None),) * axis + (slice(lo, hi),) + (slice(None),) * (ndim - axis - 1)


def elementwise(op, *inputs, out):
    """``op(*inputs, out=out)`` for a numpy ufunc ``op``, split along ``out``'s outer axis.

    Every input has ``out``'s shape or is a scalar (a Python or numpy number); returns ``out``.
    """
    if out.ndim == 0:
        op(*inputs, out=out)
        return out
    axis = outer_axis(out)
    arrays = [getattr(a, "ndim", 0) > 0 for a in inputs]

    def part(lo, hi):
        view = along(axis, lo, hi, out.ndim)
        op(*(a[view] if is_array else a for a, is_array in zip(inputs, arrays)), out=out[view])

    nbytes = out.nbytes + sum(a.nbytes for a, is_array in zip(inputs, arrays) if is_array)
    split_over_threads(out.shape[axis], part, nbytes)
    return out
