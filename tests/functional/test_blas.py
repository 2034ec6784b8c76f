"""blas.matmul (out = a @ b, or out += a @ b through BLAS's β = 1) against numpy's product, on the
operand layouts the convolution kernels pass: strided rows, transposed views, float32 and float64;
and the numpy fallback it takes where BLAS cannot be called."""
import numpy as np
import pytest

from nnpy.kernels import blas
from nnpy.kernels.im2col import kernel_row


def operands(dtype, m=7, k=9, n=11):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype),
            rng.normal(size=(m, n)).astype(dtype))


def layouts(a, b):
    """The same a and b as contiguous arrays, transposed views, and views with strided rows."""
    yield "contiguous", a, b
    yield "transposed", np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    wide_a, wide_b = np.zeros((a.shape[0], a.shape[1] + 5), a.dtype), np.zeros((b.shape[0], b.shape[1] + 3), b.dtype)
    wide_a[:, 2:2 + a.shape[1]], wide_b[:, 1:1 + b.shape[1]] = a, b
    yield "strided rows", wide_a[:, 2:2 + a.shape[1]], wide_b[:, 1:1 + b.shape[1]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("accumulate", [False, True])
def test_matmul_is_numpys_product_added_or_not_for_every_operand_layout(dtype, accumulate):
    a, b, c = operands(dtype)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for name, a_view, b_view in layouts(a, b):
        out = c.copy()
        assert blas.matmul(a_view, b_view, out, accumulate=accumulate) is out
        expected = a @ b + c if accumulate else a @ b
        np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance, err_msg=name)


def test_matmul_writes_into_an_output_with_strided_rows_only_its_own_elements():
    a, b, _ = operands(np.float32)
    wide = np.full((7, 15), 3.0, np.float32)
    blas.matmul(a, b, wide[:, 2:13], accumulate=True)
    np.testing.assert_allclose(wide[:, 2:13], a @ b + 3.0, rtol=1e-5, atol=1e-5)
    assert (wide[:, :2] == 3.0).all() and (wide[:, 13:] == 3.0).all()


def test_kernel_rows_of_row_patches_are_taken_as_they_are():
    """The products of the convolution kernels: a kernel row of row patches (C·kw rows a padded
    image's stride apart) and its transpose."""
    rows = np.random.default_rng(1).normal(size=(3, 2, 6, 4, 5)).astype(np.float32)   # (C, kw, Hp, Wo, N)
    view = kernel_row(rows, 1, 4)                                                     # (6, 80), rows strided
    weights = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    out = np.ones((4, 80), np.float32)
    np.testing.assert_allclose(blas.matmul(weights, view, out, accumulate=True), weights @ view + 1, rtol=1e-5,
                               atol=1e-5)
    dy = np.random.default_rng(3).normal(size=(4, 80)).astype(np.float32)
    np.testing.assert_allclose(blas.matmul(view, dy.T, np.empty((6, 4), np.float32)), view @ dy.T, rtol=1e-5,
                               atol=1e-5)


def test_numpys_openblas_is_called_where_numpy_uses_openblas():
    """Where numpy loaded an OpenBLAS (numpy's wheels) its GEMMs are found and the products run in
    BLAS with β = 1; elsewhere the numpy fallback runs."""
    uses_openblas = bool(blas.openblas_libraries())
    assert (blas._blas_gemm(np.dtype(np.float32)) is not None) == uses_openblas
    assert (blas._blas_gemm(np.dtype(np.float64)) is not None) == uses_openblas
    assert blas._blas_gemm(np.dtype(np.int64)) is None


@pytest.mark.parametrize("case", ["no BLAS", "overlapping", "a column of one", "gathered rows", "int"])
def test_the_numpy_fallback_gives_the_same_sum(case, monkeypatch):
    a, b, c = operands(np.float32)
    if case == "no BLAS":
        monkeypatch.setattr(blas, "_gemm", {"f": None})
    elif case == "overlapping":                # out shares memory with b: BLAS would read what it writes
        b = np.random.default_rng(4).normal(size=(9, 9)).astype(np.float32)
        c = b[:7]
    elif case == "a column of one":
        a, b = a[:, :1], b[:1]
    elif case == "gathered rows":              # neither axis contiguous
        a = np.random.default_rng(5).normal(size=(14, 18)).astype(np.float32)[::2, ::2]
    else:
        a, b, c = (v.round().astype(np.int64) for v in (a, b, c))
    expected = a @ b + c
    out = c.copy() if case != "overlapping" else c
    np.testing.assert_allclose(blas.matmul(a, b, out, accumulate=True), expected, rtol=1e-5, atol=1e-5)


def test_mismatched_shapes_are_refused():
    a, b, _ = operands(np.float32)
    with pytest.raises(ValueError, match="do not match"):
        blas.matmul(a, b, np.empty((7, 10), np.float32))


# ---- axpby: y ← α·x + β·y in one pass (the SGD update) ------------------------------------------

SIZES = [1, 2, 7, 8, 15, 16, 17, 31, 33, 64, 1000, 10_001, 65_537]
needs_openblas = pytest.mark.skipif(not blas.openblas_libraries(), reason="numpy does not use OpenBLAS here")


@needs_openblas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpby_with_alpha_one_is_numpys_two_passes_bit_for_bit(dtype):
    """v ← g + m·v: numpy's ``v *= m; v += g`` exactly, at every length (vector body and tail)."""
    rng = np.random.default_rng(0)
    for n in SIZES:
        g, v = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
        expected = v * dtype(0.9)
        expected += g
        assert blas.axpby_applies(g, v)
        np.testing.assert_array_equal(blas.axpby(1.0, g, dtype(0.9), v), expected, err_msg=str(n))


@needs_openblas
def test_axpby_with_beta_one_rounds_the_sum_once():
    """p ← p − lr·v in float32: p − lr·v computed exactly (float64) and rounded once; numpy's
    statement, which rounds lr·v first, differs from it by no more than that rounding, and does
    differ for some numbers (a different rounding, not an accident of one length)."""
    rng = np.random.default_rng(0)
    lr = np.float32(0.05)
    differs = 0
    for n in SIZES:
        v, p = rng.normal(size=n).astype(np.float32), rng.normal(size=n).astype(np.float32)
        once = (p.astype(np.float64) - np.float64(lr) * v.astype(np.float64)).astype(np.float32)
        twice = p - lr * v
        fast = blas.axpby(-lr, v, 1.0, p.copy())
        np.testing.assert_array_equal(fast, once, err_msg=str(n))
        assert np.all(np.abs(fast - twice) <= np.spacing(np.abs(lr * v)) + np.spacing(np.abs(twice)))
        differs += int(np.sum(fast != twice))
    assert differs > 0


@pytest.mark.parametrize("case", ["no BLAS", "strided", "mixed dtypes", "shared memory", "float16"])
def test_axpby_does_not_apply_where_blas_cannot_take_the_arrays(case, monkeypatch):
    x, y = np.ones(10, np.float32), np.ones(10, np.float32)
    if case == "no BLAS":
        monkeypatch.setattr(blas, "_axpby", {"f": None})
    elif case == "strided":
        x = np.ones(20, np.float32)[::2]
    elif case == "mixed dtypes":
        x = x.astype(np.float64)
    elif case == "shared memory":
        x = y
    else:
        x, y = x.astype(np.float16), y.astype(np.float16)
    assert not blas.axpby_applies(x, y)
