"""A matrix product that adds into its output, ``out += a @ b``, the one-pass update
``y ← α·x + β·y`` (``axpby``), and the OpenBLAS numpy loaded.

numpy's ``matmul`` computes ``out = a @ b``: it calls BLAS's GEMM, C ← α·A·B + β·C, with β = 0
(OpenBLAS then zeroes C before its kernel adds the product in). A sum of products, such as a
convolution's kh kernel rows (``nnpy.kernels.conv``), so needs a scratch array and an add pass
per term::

    out = a0 @ b0;   partial = a1 @ b1;   out += partial;   ...

``matmul(a, b, out, accumulate=True)`` asks GEMM for β = 1 instead: the kernel adds the product
to what ``out`` holds in its own pass over it, and neither the scratch array nor the add passes
exist. Measured on the 2-core machine (resnet-fashion model, batch 64): the three kernel rows of
each 3×3 convolution's dx summed so took the training step to 0.954 of its time.

numpy offers no β, so the GEMM of the BLAS library numpy itself loaded (OpenBLAS in numpy's
wheels: ``scipy_cblas_sgemm64_``) is called through ``ctypes``, with the operands' own memory
(a transposed operand is passed as BLAS's "transposed", never copied). Where that library is not
found (another BLAS, not Linux), or an operand's layout is one BLAS cannot take, the same sum
is made with numpy: ``out += a @ b``. Both are tested against numpy in tests/functional.
"""
from __future__ import annotations

import ctypes
import functools
import itertools

from ..backend import xp

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


@functools.lru_cache(maxsize=1)
def openblas_libraries() -> tuple:
    """The OpenBLAS libraries this process has mapped (numpy's, if it uses one), as ctypes
    libraries; none where they cannot be listed (not Linux). Read once: numpy, imported by
    ``nnpy.backend``, has loaded its BLAS before anything asks."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:
        return ()
    libraries = []
    for path in paths:
        try:
            libraries.append(ctypes.CDLL(path))      # a CDLL call releases the GIL while it runs
        except OSError:
            continue
    return tuple(libraries)


def openblas_function(name: str):
    """(function, 64-bit integers?) of OpenBLAS's ``name`` under the names its builds export it by
    (numpy's wheels: ``scipy_`` + name + ``64_``, 64-bit integers), or None."""
    for lib in openblas_libraries():
        for prefix, suffix in itertools.product(("scipy_", ""), ("64_", "_64", "")):
            function = getattr(lib, f"{prefix}{name}{suffix}", None)
            if function is not None:
                config = getattr(lib, f"{prefix}openblas_get_config{suffix}", None)
                if config is not None:
                    config.restype = ctypes.c_char_p
                return function, bool(suffix) or (config is not None and b"USE64BITINT" in config())
    return None


_gemm: dict = {}     # dtype char -> the ctypes GEMM, or None (not found); looked up once


def _float_function(cache: dict, dtype, name: str, argtypes):
    """OpenBLAS's ``cblas_s<name>`` (float32) or ``cblas_d<name>`` (float64) with its argument
    types — ``argtypes(integer, scalar)`` lists them from the C types of this build's integers and
    of the dtype's scalars — or None; looked up once per dtype into ``cache``."""
    if dtype.char not in cache:
        found = openblas_function(f"cblas_{'s' if dtype.char == 'f' else 'd'}{name}") if dtype.char in "fd" else None
        if found is not None:
            function, wide = found
            function.argtypes = argtypes(ctypes.c_int64 if wide else ctypes.c_int32,
                                         ctypes.c_float if dtype.char == "f" else ctypes.c_double)
            function.restype = None
            found = function
        cache[dtype.char] = found
    return cache[dtype.char]


def _blas_gemm(dtype):
    """OpenBLAS's cblas GEMM for float32 ('f') or float64 ('d'), with its argument types, or None."""
    return _float_function(_gemm, dtype, "gemm", lambda i, s: [
        ctypes.c_int, ctypes.c_int, ctypes.c_int, i, i, i, s, ctypes.c_void_p, i, ctypes.c_void_p, i, s,
        ctypes.c_void_p, i])


def _operand(a):
    """(BLAS's transpose flag, leading dimension) of a 2-D operand whose rows (or columns) are
    contiguous, or None when neither is (then numpy computes the product)."""
    size = a.itemsize
    (rows, cols), (row_step, col_step) = a.shape, a.strides
    if col_step == size and row_step % size == 0 and row_step >= cols * size:
        return _NO_TRANS, row_step // size
    if row_step == size and col_step % size == 0 and col_step >= rows * size:
        return _TRANS, col_step // size
    return None


def matmul(a, b, out, accumulate: bool = False):
    """out = a @ b, or out += a @ b with ``accumulate``; returns out.

    a (m, k), b (k, n), out (m, n): 2-D arrays of one float dtype; a and b may be views with
    strided rows or transposed (one axis contiguous), out must have contiguous rows.
    """
    function = _blas_gemm(out.dtype)
    m, k = a.shape
    n = b.shape[1]
    if b.shape[0] != k or out.shape != (m, n):
        raise ValueError(f"matmul: shapes {a.shape} @ {b.shape} -> {out.shape} do not match")
    layouts = (_operand(a), _operand(b), _operand(out))
    if (function is None or a.dtype != out.dtype or b.dtype != out.dtype or not out.dtype.isnative
            or min(m, n, k) < 2 or not (a.flags.aligned and b.flags.aligned and out.flags.aligned)
            or None in layouts or layouts[2][0] != _NO_TRANS or not out.flags.writeable
            or xp.may_share_memory(out, a) or xp.may_share_memory(out, b)):
        if accumulate:
            out += xp.matmul(a, b)
        else:
            xp.matmul(a, b, out=out)
        return out
    (trans_a, lda), (trans_b, ldb), (_, ldc) = layouts
    function(_ROW_MAJOR, trans_a, trans_b, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb,
             1.0 if accumulate else 0.0, out.ctypes.data, ldc)
    return out


# --- y ← α·x + β·y in one pass: an optimizer's update -----------------------------------------

_axpby: dict = {}    # dtype char -> the ctypes ?axpby, or None (not found); looked up once


def _blas_axpby(dtype):
    """OpenBLAS's cblas ?axpby for float32 ('f') or float64 ('d'), with its argument types, or None."""
    return _float_function(_axpby, dtype, "axpby", lambda i, s: [i, s, ctypes.c_void_p, i, s, ctypes.c_void_p, i])


def axpby_applies(x, y) -> bool:
    """``axpby`` can run on these arrays: one shape, one native float32/float64 dtype, both contiguous
    (a parameter, its gradient and its optimizer state, or pieces of them), OpenBLAS found."""
    return (x.shape == y.shape and x.dtype == y.dtype and y.dtype.isnative and x.flags.c_contiguous
            and y.flags.c_contiguous and y.flags.writeable and x.flags.aligned and y.flags.aligned
            and not xp.may_share_memory(x, y) and _blas_axpby(y.dtype) is not None)


def axpby(alpha: float, x, beta: float, y):
    """y ← α·x + β·y in place, in ONE pass over x and y (BLAS level 1); returns y.

    The plain numpy statement, ``y *= β; y += α·x``, is two passes (three with a scratch for
    α·x); an optimizer's update on a 2-million-weight layer is bound by that memory traffic
    (SGD with momentum on 2048×1024 weights: 1.05 → 0.68 ms alone). The rounding: OpenBLAS
    rounds β·y, then adds α·x to it with one fused multiply-add. So with α = 1 the numbers are
    numpy's bit for bit (``v ← g + m·v``), and with β = 1 ``p ← p − lr·v`` is rounded once
    where numpy rounds lr·v first (apart by at most that rounding, for a few percent of the
    numbers; PyTorch's ``p.add_(v, alpha=-lr)`` rounds once too). Only where ``axpby_applies``."""
    _blas_axpby(y.dtype)(y.size, float(alpha), x.ctypes.data, 1, float(beta), y.ctypes.data, 1)
    return y
