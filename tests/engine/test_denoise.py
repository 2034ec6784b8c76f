"""Denoising (issue 31's showcase): the ``mnist_denoise`` dataset (seeded noisy inputs, clean
targets), the ``psnr`` metric, and a small U-Net trained from YAML through the CLI whose
``nnpy val`` prints PSNR and whose ``--report`` draws noisy / denoised / clean rows."""
import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from nnpy.cli import main
from nnpy.errors import NnpyError
from nnpy.nn.metrics import make_metric, psnr
from nnpy.registry import DATASETS
from tests.prerequisites import require_module

UNET = textwrap.dedent("""\
    name: tiny-unet
    seed: 2
    model:
      nodes:
        enc:   {type: Conv2D, filters: 4, kernel_size: 3, padding: same, inputs: input}   # (4, 28, 28)
        act1:  {type: ReLU}
        pool:  {type: MaxPool2D, pool_size: 2}                                             # (4, 14, 14)
        mid:   {type: Conv2D, filters: 4, kernel_size: 3, padding: same}
        act2:  {type: ReLU}
        up:    {type: Conv2DTranspose, filters: 4, kernel_size: 2, stride: 2}               # (4, 28, 28)
        skip:  {type: Concatenate, inputs: [up, act1]}                                     # (8, 28, 28)
        pixels: {type: Conv2D, filters: 1, kernel_size: 1}                                 # (1, 28, 28)
      output: pixels
    data:
      dataset: mnist_denoise
      options: {sigma: 0.5, seed: 0}
      limit: 200
      val_split: 40
      batch_size: 40
    loss: mse
    optimizer: {type: adam, lr: 0.01}
    train:
      epochs: 1
      metrics: [psnr, mse]
    checkpoint:
      monitor: val_psnr
    """)


def denoise(limit, **options):
    return DATASETS.make({"type": "mnist_denoise", **options}).load(limit=limit)


def test_noisy_inputs_and_clean_targets_of_mnist_shape():
    ds = denoise(50, sigma=0.5)
    clean = DATASETS.make("mnist").load(limit=50)
    assert ds.task == "regression" and ds.input_shape == (1, 28, 28)
    for split in ("train", "test"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        assert x.shape == y.shape == (50, 1, 28, 28) and x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(y, getattr(clean, f"x_{split}"))       # the target is the clean digit
        assert 0 <= x.min() and x.max() <= 1                                 # noisy, still an image
        noise = x - y
        assert 0.25 < noise.std() < 0.45        # sigma 0.5, less where clipping at 0 and 1 cuts it
        assert abs(np.corrcoef(noise[:, :, 5:10].ravel(), noise[:, :, 10:15].ravel())[0, 1]) < 0.05
    assert not np.allclose(ds.x_train - ds.y_train, ds.x_test[:50] - ds.y_test)   # splits: own noise


def test_the_noise_is_seeded_and_does_not_depend_on_the_limit():
    a, b = denoise(60, seed=3), denoise(20, seed=3)
    np.testing.assert_array_equal(a.x_train[:20], b.x_train)
    np.testing.assert_array_equal(a.x_test[:20], b.x_test)
    assert not np.array_equal(denoise(20, seed=4).x_train, b.x_train)
    np.testing.assert_array_equal(denoise(20, sigma=0).x_train, b.y_train)   # no noise: the clean image


@pytest.mark.parametrize("option, value", [("sigma", -1), ("sigma", "big"), ("seed", -2)])
def test_bad_options_name_the_option(option, value):
    with pytest.raises(NnpyError, match=option):   # ConfigError, or the registry's type check
        DATASETS.make({"type": "mnist_denoise", option: value})


def test_psnr_is_10_log10_of_one_over_the_mse():
    rng = np.random.default_rng(0)
    clean = rng.random((1, 1, 28, 28))
    noisy = clean + rng.normal(0, 0.1, clean.shape)
    mse = np.mean((noisy - clean) ** 2)
    assert psnr(noisy, clean) == pytest.approx(10 * np.log10(1 / mse), rel=1e-12)
    assert psnr(np.full((3, 4), 0.1), np.zeros((3, 4))) == pytest.approx(20.0)   # MSE 0.01 -> 20 dB
    # several images: the mean of each image's PSNR (here 20 and 40 dB), not the PSNR of the mean MSE
    pair = psnr(np.stack([np.full((2, 2), 0.1), np.full((2, 2), 0.01)]), np.zeros((2, 2, 2)))
    assert pair == pytest.approx(30.0)
    metric = make_metric("psnr")
    assert metric.higher_is_better and metric.task == "regression"
    assert np.isfinite(psnr(clean, clean))     # a perfect image: a large finite number


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unet")
    (folder / "unet.yaml").write_text(UNET)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        r = run("train", "--config", "unet.yaml")
    assert r.exit_code == 0, r.output
    assert "val_psnr" in r.output
    return folder / "checkpoints" / "tiny-unet" / "best.json"


def test_a_unet_trains_from_yaml_and_val_prints_psnr(trained):
    r = run("val", "--ckpt", trained)
    assert r.exit_code == 0, r.output
    assert "psnr" in r.output and "dB (input" in r.output
    result = json.loads(run("val", "--ckpt", trained, "--json").output)
    assert result["psnr"] == pytest.approx(np.mean(10 * np.log10(1 / np.array(per_image_mse(trained)))), rel=1e-6)
    assert 8 < result["input_psnr"] < 11               # sigma 0.5, clipped: about 9.4 dB


def per_image_mse(ckpt) -> list:
    """Each test image's MSE, recomputed here from the checkpoint's model and the dataset."""
    import nnpy

    model = nnpy.load(ckpt)
    ds = denoise(200, sigma=0.5, seed=0)
    out = model.predict(ds.x_test)
    return list(np.mean((out - ds.y_test).reshape(len(out), -1).astype(np.float64) ** 2, axis=1))


def test_the_report_draws_noisy_denoised_and_clean_rows(trained, tmp_path):
    require_module("matplotlib")
    r = run("val", "--ckpt", trained, "--report", tmp_path / "report")
    assert r.exit_code == 0, r.output
    report = (tmp_path / "report" / "report.md").read_text()
    assert "PSNR of the outputs" in report and "](denoised.png)" in report
    with Image.open(tmp_path / "report" / "denoised.png") as picture:
        assert picture.width > 8 * 112 and picture.height > 3 * 112     # 8 columns, 3 rows of 112 px tiles


def test_augmenting_the_inputs_of_image_targets_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "unet.yaml").write_text(UNET.replace("  batch_size: 40\n", "  batch_size: 40\n  augment: {shift: 2}\n"))
    r = CliRunner().invoke(main, ["train", "--config", "unet.yaml"])
    assert r.exit_code == 2, r.output
    assert "data.augment" in r.output and "targets" in r.output and "Traceback" not in r.output


def test_an_output_not_shaped_as_the_images_is_one_line_naming_the_output_node(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    without_pixels = "".join(line for line in UNET.splitlines(keepends=True) if "pixels:" not in line)
    (tmp_path / "unet.yaml").write_text(without_pixels.replace("output: pixels", "output: skip"))
    r = CliRunner().invoke(main, ["train", "--config", "unet.yaml"])
    assert r.exit_code == 2, r.output
    assert "model.nodes.skip" in r.output and "(8, 28, 28)" in r.output and "(1, 28, 28)" in r.output
    assert len(r.output.strip().splitlines()) == 1
