"""The plain convolution (nnpy.functional.conv) against a loop-by-loop sum, and its fast twin
(nnpy.kernels.conv, what Conv2D runs) against it, on awkward shapes: odd sizes, stride 2 and 3,
'same' padding with an odd total, 1×1 kernels, batch 1."""
import numpy as np
import pytest

import nnpy
import nnpy.functional as F
from nnpy.kernels import reference_mode
from nnpy.nn.layers import Conv2D

from ..nn.test_conv import CASES, conv_reference


def built(options, shape, dtype):
    layer = Conv2D(**options)
    layer.initialize(shape, rng=np.random.default_rng(0), dtype=dtype)
    return layer


@pytest.mark.parametrize("options,shape", CASES)
def test_plain_convolution_is_the_loop_sum_and_its_backward_matches_finite_differences(options, shape):
    layer = built(options, shape, np.float64)
    W, b = layer.params["W"], layer.params.get("b")
    x = np.random.default_rng(1).normal(size=(2, *shape))
    np.testing.assert_allclose(F.conv2d(x, W, b, layer.stride, layer.pads),
                               conv_reference(x, W, b, layer.stride, layer.pads), rtol=1e-10, atol=1e-12)
    with reference_mode():
        result = nnpy.gradcheck(layer, shape, batch=2)
    assert result.passed, str(result)


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("options,shape", CASES)
def test_the_fast_kernel_gives_the_plain_numbers(options, shape, batch, fast_kernels):
    layer = built(options, shape, np.float32)
    W, b = layer.params["W"], layer.params.get("b")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(batch, *shape)).astype(np.float32)
    y = layer.forward(x, training=True)
    dy = rng.normal(size=y.shape).astype(np.float32)
    dx = layer.backward(dy)
    y_plain = F.conv2d(x, W, b, layer.stride, layer.pads)
    dx_plain, dW_plain, db_plain = F.conv2d_backward(x, W, dy, layer.stride, layer.pads)
    np.testing.assert_allclose(y, y_plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, dx_plain, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.grads["W"], dW_plain, rtol=1e-5, atol=1e-4)
    if b is not None:
        np.testing.assert_allclose(layer.grads["b"], db_plain, rtol=1e-5, atol=1e-4)


def test_reference_mode_runs_the_plain_function(fast_kernels):
    layer = built(CASES[1][0], CASES[1][1], np.float32)
    x = np.random.default_rng(3).normal(size=(2, *CASES[1][1])).astype(np.float32)
    W, b = layer.params["W"], layer.params["b"]
    with reference_mode():
        y = layer.forward(x, training=True)
        assert np.array_equal(y, F.conv2d(x, W, b, layer.stride, layer.pads))
        dx = layer.backward(np.ones_like(y))
    assert np.array_equal(dx, F.conv2d_backward(x, W, np.ones_like(y), layer.stride, layer.pads)[0])
    assert layer.forward(x).transpose(1, 2, 3, 0).flags.c_contiguous       # outside: the fast kernel again


def batch_inner_copy(x):
    """x (N, C, H, W) with the same values, laid out (C, H, W, N) in memory, as Conv2D's outputs are."""
    return np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


@pytest.mark.parametrize("options,shape", [case for case in CASES if case[0].get("padding", "valid") != "valid"])
def test_a_batch_inner_input_is_padded_while_copied_with_the_same_numbers(options, shape, monkeypatch, fast_kernels):
    """A padded convolution of a batch-inner input reads it without a padded copy (im2col_padded;
    an NCHW input gets the padded copy): the same y, dx and dW bit for bit. A stride-1 'same'
    convolution runs on row patches instead, of x (forward, dW) and of dY padded (dx); else dx
    comes from col2im_padded."""
    import nnpy.kernels.conv as kernel_conv

    layer = built(options, shape, np.float32)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, *shape)).astype(np.float32)
    y = layer.forward(x, training=True).copy()                 # NCHW input: the padded copy
    dy = rng.normal(size=y.shape).astype(np.float32)
    dx, dW = layer.backward(dy).copy(), layer.grads["W"].copy()
    calls = []
    for name in ("im2col_padded", "col2im_padded", "row_patches"):
        original = getattr(kernel_conv, name)
        monkeypatch.setattr(kernel_conv, name, lambda *a, f=original, name=name, **k: calls.append(name) or f(*a, **k))
    assert np.array_equal(layer.forward(batch_inner_copy(x), training=True), y)
    assert np.array_equal(layer.backward(dy), dx) and np.array_equal(layer.grads["W"], dW)
    same_size_stride_1 = layer.stride == (1, 1) and layer.out_hw == tuple(shape[1:])
    assert layer.kernel._by_row_patches() == same_size_stride_1
    assert calls == (["row_patches", "row_patches"] if same_size_stride_1 else ["im2col_padded", "col2im_padded"])


@pytest.mark.parametrize("c,h,w,pads,kw", [(3, 5, 6, ((1, 1), (1, 1)), 3), (2, 4, 3, ((0, 1), (1, 0)), 2),
                                           (1, 3, 4, ((2, 0), (2, 2)), 5)])
def test_row_patches_are_the_column_shifts_of_the_padded_image_and_its_kernel_rows_views(c, h, w, pads, kw):
    from nnpy.kernels.im2col import kernel_row, row_patches

    n = 2
    x = np.random.default_rng(8).normal(size=(c, h, w, n)).astype(np.float32)
    padded = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    hp, wo = padded.shape[1], padded.shape[2] - kw + 1
    rows = row_patches(x, pads, kw, np.zeros((c, kw, hp, wo, n), np.float32))
    for j in range(kw):
        assert np.array_equal(rows[:, j], padded[:, :, j:j + wo])
    view = kernel_row(rows, 1, hp - 1)
    assert np.shares_memory(view, rows) and view.shape == (c * kw, (hp - 1) * wo * n)
    assert np.array_equal(view, rows[:, :, 1:].reshape(c * kw, -1))


GEOMETRIES = [((5, 6), (3, 3), (1, 1), ((1, 1), (1, 1))), ((7, 7), (3, 3), (2, 2), ((1, 1), (1, 1))),
              ((5, 6), (2, 3), (2, 1), ((1, 2), (0, 1))), ((4, 3), (4, 4), (1, 1), ((2, 2), (1, 1))),
              ((7, 7), (1, 1), (2, 2), ((0, 1), (0, 1))), ((5, 6), (3, 3), (3, 3), ((0, 1), (0, 1))),
              ((4, 3), (2, 3), (1, 1), ((1, 2), (0, 1)))]


@pytest.mark.parametrize("hw,kernel,stride,pads", GEOMETRIES)
def test_padding_while_copying_gives_the_padded_copy_numbers(hw, kernel, stride, pads):
    """im2col_padded = pad_into then im2col, col2im_padded = col2im into a padded image then
    crop_from, bit for bit (strides larger than the kernel, asymmetric padding, 1×1 kernels)."""
    from nnpy.kernels.im2col import (BATCH_INNER, col2im, col2im_padded, crop_from, im2col, im2col_padded,
                                     pad_into)

    (h, w), (kh, kw), (sh, sw) = hw, kernel, stride
    hp, wp = h + sum(pads[0]), w + sum(pads[1])
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 2, h, w)).astype(np.float32)
    padded = pad_into(x, pads, np.zeros((2, hp, wp, 3), np.float32), BATCH_INNER)
    expected = im2col(padded, kernel, stride, np.empty((2, kh, kw, ho, wo, 3), np.float32), BATCH_INNER)
    got = im2col_padded(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), pads, kernel, stride,
                        np.full(expected.shape, np.nan, np.float32))
    assert np.array_equal(got, expected)
    # into a zero-filled buffer whose padding is known to be zero: only the image is copied
    again = im2col_padded(np.ascontiguousarray(x.transpose(1, 2, 3, 0)), pads, kernel, stride,
                          np.zeros(expected.shape, np.float32), padding_is_zero=True)
    assert np.array_equal(again, expected)
    dcols = rng.normal(size=expected.shape).astype(np.float32)
    image = col2im(dcols, stride, np.full((2, hp, wp, 3), np.nan, np.float32), BATCH_INNER)
    expected_dx = crop_from(image, pads, np.empty(x.shape, np.float32), BATCH_INNER)
    got_dx = col2im_padded(dcols, pads, stride, np.full((2, h, w, 3), np.nan, np.float32))
    assert np.array_equal(got_dx.transpose(3, 0, 1, 2), expected_dx)


@pytest.mark.parametrize("kernel,pads", [((3, 3), ((1, 1), (1, 1))), ((2, 3), ((0, 1), (2, 0))),
                                         ((3, 2), ((2, 0), (0, 1))), ((3, 2), ((1, 1), (0, 1)))])  # 'same' sizes
def test_the_input_gradient_of_a_stride_1_convolution_is_the_flipped_kernel_over_dy(kernel, pads, fast_kernels):
    """dx as the convolution of dY padded by k − 1 − p with the flipped, transposed kernel gives
    Wᵀ @ dY summed back by col2im, to float32 rounding."""
    from nnpy.kernels.conv import Conv2DKernel
    from nnpy.kernels.im2col import col2im_padded

    (h, w), n, c, f = (5, 6), 3, 4, 5
    ho, wo = h + sum(pads[0]) - kernel[0] + 1, w + sum(pads[1]) - kernel[1] + 1
    conv = Conv2DKernel(kernel, (1, 1), pads, (h + sum(pads[0]), w + sum(pads[1])), (ho, wo))
    assert conv._by_row_patches()
    rng = np.random.default_rng(7)
    W = rng.normal(size=(f, c, *kernel)).astype(np.float32)
    conv.forward(rng.normal(size=(n, c, h, w)).astype(np.float32), W, None)
    dy = rng.normal(size=(n, f, ho, wo)).astype(np.float32)
    dx = conv.backward(dy, W, np.empty_like(W), None, needs_input_grad=True)
    dyt = np.ascontiguousarray(dy.transpose(1, 2, 3, 0)).reshape(f, -1)
    dcols = (W.reshape(f, -1).T @ dyt).reshape(c, *kernel, ho, wo, n)
    expected = col2im_padded(dcols, pads, (1, 1), np.empty((c, h, w, n), np.float32))
    np.testing.assert_allclose(dx, expected.transpose(3, 0, 1, 2), rtol=1e-5, atol=1e-5)
    assert not np.array_equal(dx, np.zeros_like(dx))


@pytest.mark.parametrize("filters,channels", [(3, 4), (40, 1)])      # K = 36 > F = 3; K = 9 < F = 40
def test_the_weight_gradient_is_dy_times_the_patches_transposed_bit_for_bit(filters, channels, fast_kernels):
    """dW = dY @ colsᵀ, computed as (cols @ dYᵀ)ᵀ when K > F: the same numbers."""
    layer = built({"filters": filters, "kernel_size": 3, "padding": 1, "stride": 2}, (channels, 6, 5), np.float32)
    rng = np.random.default_rng(6)
    y = layer.forward(rng.normal(size=(7, channels, 6, 5)).astype(np.float32), training=True)
    dy = rng.normal(size=y.shape).astype(np.float32)
    layer.backward(dy)
    dyt = np.ascontiguousarray(dy.transpose(1, 2, 3, 0)).reshape(filters, -1)
    assert np.array_equal(layer.grads["W"].reshape(filters, -1), dyt @ layer.kernel.cols.T)


@pytest.mark.parametrize("layout", [batch_inner_copy, np.ascontiguousarray])   # padded while copied / padded copy
def test_a_convolution_reusing_its_patch_buffer_gives_fresh_numbers(layout, fast_kernels):
    """The kernel's own patch buffer is reused from step to step and its padding is written only
    once: a second and third batch (batch-inner, as between two convolutions) give exactly what a
    fresh layer gives, and the padding positions of the buffer are still zero."""
    options, shape = {"filters": 4, "kernel_size": 3, "padding": 1, "stride": 2}, (3, 7, 6)   # not by row patches
    layer = built(options, shape, np.float32)
    rng = np.random.default_rng(8)
    buffers = set()
    for step in range(3):
        x = layout(rng.normal(size=(5, *shape)).astype(np.float32))
        fresh = built(options, shape, np.float32)
        for name, value in layer.params.items():
            fresh.params[name][...] = value
        assert np.array_equal(layer.forward(x, training=True), fresh.forward(x, training=True)), step
        buffers.add(id(layer.kernel._ws._arrays["cols"]))
    assert len(buffers) == 1                                      # one buffer, reused
    cols = layer.kernel._ws._arrays["cols"]                       # (C, kh, kw, Ho, Wo, N) = (3, 3, 3, 4, 3, 5)
    assert cols.shape == (3, 3, 3, 4, 3, 5)
    top_left = cols[:, 0, 0]                                      # offset (0, 0) reads row -1 and column -1 at (0, 0)
    assert not top_left[:, 0].any() and not top_left[:, :, 0].any() and top_left[:, 1:, 1:].all()


def test_two_same_convolutions_in_a_row_pass_the_gradient_check(fast_kernels):
    """Both compute dx from row patches of dY (the second's dx is the first's dy): every gradient
    against finite differences in float64."""
    spec = {"type": "Chain", "layers": [{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": 1},
                                        {"type": "Conv2D", "filters": 2, "kernel_size": (2, 3), "padding": "same"}]}
    result = nnpy.gradcheck(spec, (2, 5, 6), batch=3)
    assert result.passed, str(result)


@pytest.mark.parametrize("dtype,tolerance", [(np.float32, 1e-5), (np.float64, 1e-11)])
@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("kernel,batch", [(3, 4), ((2, 3), 1)])
def test_a_stride_1_same_convolution_on_row_patches_gives_the_plain_numbers(kernel, batch, use_bias, dtype, tolerance,
                                                                            fast_kernels):
    """Forward (the kh products summed in y, onto the bias when there is one), dW (kh products)
    and dx over row patches, no patch matrix made: the plain convolution's numbers, in float32
    and float64 (BLAS's sgemm and dgemm)."""
    layer = built({"filters": 5, "kernel_size": kernel, "padding": "same", "use_bias": use_bias}, (3, 6, 5), dtype)
    assert layer.kernel._by_row_patches()
    W, b = layer.params["W"], layer.params.get("b")
    rng = np.random.default_rng(9)
    if use_bias:
        b[...] = rng.normal(size=b.shape)
    x = batch_inner_copy(rng.normal(size=(batch, 3, 6, 5)).astype(dtype))
    y = layer.forward(x, training=True)
    dy = rng.normal(size=y.shape).astype(dtype)
    dx = layer.backward(dy)
    assert "cols" not in layer.kernel._ws._arrays and y.dtype == dtype
    dx_plain, dW_plain, db_plain = F.conv2d_backward(x, W, dy, layer.stride, layer.pads)
    np.testing.assert_allclose(y, F.conv2d(x, W, b, layer.stride, layer.pads), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(dx, dx_plain, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(layer.grads["W"], dW_plain, rtol=tolerance, atol=tolerance)
    if use_bias:
        np.testing.assert_allclose(layer.grads["b"], db_plain, rtol=tolerance, atol=tolerance)
