"""nnpy.viz through the command line on tiny runs: ``plot`` (curves and ``--filters``),
``val --report``, ``demo --explain``, and the one-line error when matplotlib is missing.

Every picture is opened with Pillow: a PNG of plausible size that is not blank.
"""
import csv
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from nnpy.cli import main
from nnpy.viz.grids import kernel_tiles

REPO = Path(__file__).resolve().parents[1]
INSTALL_HINT = 'pip install -e ".[plot]"'


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def train(root: Path, config: str, *overrides: str) -> tuple[Path, Path]:
    """Train in ``root`` (also the working folder); return (run folder, best checkpoint)."""
    sets = [a for o in (*overrides, f"log.dir={root / 'runs'}", f"checkpoint.dir={root / 'ckpt'}")
            for a in ("--set", o)]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        r = run("train", "--config", REPO / "configs" / config, *sets)
    assert r.exit_code == 0, r.output
    (run_dir,) = (root / "runs").glob("*/*/")
    return run_dir, root / "ckpt" / "best.json"


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """A 2-epoch MLP on 300 MNIST images: (run folder, checkpoint)."""
    return train(tmp_path_factory.mktemp("mlp"), "mlp.yaml", "data.limit=300", "data.val_split=50",
                 "train.epochs=2", "model.hidden=[16]")


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """A 1-epoch LeNet with 4 first-layer kernels: its checkpoint."""
    return train(tmp_path_factory.mktemp("lenet"), "lenet.yaml", "data.limit=200", "data.val_split=50",
                 "train.epochs=1", "model.widths=[4,4]", "model.fc=8")[1]


@pytest.fixture
def no_matplotlib(monkeypatch):
    """``import matplotlib`` fails, as when the plot extra is not installed."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def assert_picture(path: Path, min_width: int, min_height: int) -> Image.Image:
    """A real PNG at least this big whose pixels are not all (nearly) the same."""
    assert path.is_file(), f"{path} was not written"
    with Image.open(path) as img:
        assert img.format == "PNG"
        img.load()
    assert img.width >= min_width and img.height >= min_height, img.size
    assert img.width <= 4000 and img.height <= 4000, img.size
    assert np.asarray(img.convert("L"), dtype=np.float64).std() > 10, f"{path} looks blank"
    return img


def digit_image(path: Path) -> Path:
    """A dark 7 drawn on light paper, as a person might photograph it."""
    img = Image.new("RGB", (120, 160), (235, 232, 225))
    ImageDraw.Draw(img).line([(25, 30), (95, 30), (50, 135)], fill=(30, 30, 40), width=12)
    img.save(path)
    return path


# --- nnpy plot: training curves ---------------------------------------------------------------

def test_plot_curves_of_one_run_and_of_several(mlp, tmp_path):
    pytest.importorskip("matplotlib")
    run_dir, _ = mlp
    r = run("plot", run_dir)
    assert r.exit_code == 0, r.output
    assert_picture(run_dir / "curves.png", 900, 250)

    # a second run without validation (empty val columns), in another folder, overlaid
    other = tmp_path / "other" / "no-val"
    other.mkdir(parents=True)
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    with open(other / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "val_loss": "", "val_metric": ""} for row in rows)
    r = run("plot", run_dir, other, "--out", tmp_path / "compare.png")
    assert r.exit_code == 0, r.output
    assert "compare.png" in r.output
    assert_picture(tmp_path / "compare.png", 900, 250)


def test_plot_explains_a_folder_without_metrics(mlp):
    r = run("plot", mlp[0].parent)          # runs/mlp/ rather than runs/mlp/<stamp>/
    assert r.exit_code == 2 and "no metrics.csv" in r.stderr and mlp[0].name in r.stderr
    assert run("plot").exit_code == 2                                   # nothing to draw
    assert run("plot", mlp[0], "--filters", mlp[1]).exit_code == 2     # one or the other


# --- nnpy val --report --------------------------------------------------------------------------

def test_val_report_writes_figures_and_markdown(mlp, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "report"
    r = run("val", "--ckpt", mlp[1], "--report", out)
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.output and "report.md" in r.output
    assert_picture(out / "confusion.png", 400, 400)
    assert_picture(out / "mistakes.png", 400, 150)
    md = (out / "report.md").read_text()
    for text in ("accuracy", "error", "| class | samples | accuracy |", "](confusion.png)",
                 "](mistakes.png)", "300 samples"):
        assert text in md, text
    assert md.count("\n| ") >= 10 + 3                 # a row per digit, plus the measures


def test_val_report_of_a_regression_has_no_pictures(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    _, ckpt = train(tmp_path, "function.yaml", "data.options={n_train: 300, n_test: 100}",
                    "data.val_split=50", "train.epochs=1", "model.hidden=[8]")
    r = run("val", "--ckpt", ckpt, "--report", "out", "--json")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.md"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "mean squared error" in md and "mean absolute error" in md and "no PNG" in md


# --- nnpy demo --explain ------------------------------------------------------------------------

def test_demo_explain_saves_one_picture_per_input(mlp, tmp_path):
    pytest.importorskip("matplotlib")
    seven = digit_image(tmp_path / "seven.png")
    r = run("demo", seven, "--ckpt", mlp[1], "--explain", tmp_path / "why")
    assert r.exit_code == 0, r.output
    picture = tmp_path / "why" / "seven.png"
    assert f"explained {seven} -> {picture}" in r.output
    assert_picture(tmp_path / "why" / "seven.png", 700, 250)


def test_demo_explain_shows_why_an_image_failed(mlp, tmp_path):
    """A blank photo: exit 1, and still a picture of the stages up to the failure."""
    pytest.importorskip("matplotlib")
    Image.new("RGB", (120, 90), (200, 190, 170)).save(tmp_path / "blank.jpg")
    r = run("demo", tmp_path / "blank.jpg", "--ckpt", mlp[1], "--explain", tmp_path / "why")
    assert r.exit_code == 1 and "no ink found" in r.stderr
    picture = tmp_path / "why" / "blank.png"
    assert f"explained {tmp_path / 'blank.jpg'} -> {picture}" in r.output
    img = assert_picture(picture, 500, 150)                # input, background, flattened ink
    assert np.asarray(img.convert("RGB"))[..., 0].max() > 150   # the red error title


def test_demo_explain_names_are_unique_and_printed(mlp, tmp_path):
    pytest.importorskip("matplotlib")
    seven = digit_image(tmp_path / "a.png")
    Image.open(seven).convert("RGB").save(tmp_path / "a.jpg")
    (tmp_path / "sub").mkdir()
    Image.open(seven).save(tmp_path / "sub" / "a.png")
    r = run("demo", tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "sub" / "a.png",
            "--ckpt", mlp[1], "--explain", tmp_path / "why")
    assert r.exit_code == 0, r.output
    written = sorted(p.name for p in (tmp_path / "why").iterdir())
    assert written == ["a-jpg.png", "a-png-2.png", "a-png.png"]
    for source, name in ((tmp_path / "a.jpg", "a-jpg.png"), (tmp_path / "a.png", "a-png.png"),
                         (tmp_path / "sub" / "a.png", "a-png-2.png")):
        assert f"explained {source} -> {tmp_path / 'why' / name}" in r.output


def test_demo_explain_a_row(mlp, tmp_path):
    pytest.importorskip("matplotlib")
    from tests.handwriting import row_image

    image, _ = row_image(1)
    image.save(tmp_path / "row.png")
    r = run("demo", tmp_path / "row.png", "--multi", "--ckpt", mlp[1], "--explain", tmp_path / "why")
    assert r.exit_code == 0, r.output
    assert_picture(tmp_path / "why" / "row.png", 500, 250)


# --- nnpy plot --filters (Pillow only) ----------------------------------------------------------

def test_plot_filters_needs_no_matplotlib(lenet, no_matplotlib, tmp_path):
    r = run("plot", "--filters", lenet)
    assert r.exit_code == 0, r.output
    img = assert_picture(lenet.with_name("best-filters.png"), 4 * 64 // 2, 64)
    r = run("plot", "--filters", lenet, "--out", tmp_path / "k.png")
    assert r.exit_code == 0 and (tmp_path / "k.png").is_file()
    assert img.size == Image.open(tmp_path / "k.png").size


def test_plot_filters_of_a_model_without_convolutions(mlp):
    r = run("plot", "--filters", mlp[1])
    assert r.exit_code == 2 and "no Conv2D" in r.stderr


def test_each_kernel_is_scaled_to_its_own_range():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 1, 5, 5)) * np.array([1e-4, 1.0, 1e3])[:, None, None, None]
    W[2] = 7.0                                            # a constant kernel shows as mid-grey
    tiles = [np.asarray(t) for t in kernel_tiles(W, tile=20)]
    assert [t.shape for t in tiles] == [(20, 20)] * 3
    assert tiles[0].min() == tiles[1].min() == 0 and tiles[0].max() == tiles[1].max() == 255
    assert np.all(tiles[2] == 128)


# --- without matplotlib -------------------------------------------------------------------------

def test_charts_without_matplotlib_say_how_to_install_it(mlp, no_matplotlib, tmp_path):
    run_dir, ckpt = mlp
    seven = digit_image(tmp_path / "seven.png")
    for args in (["plot", run_dir],
                 ["val", "--ckpt", ckpt, "--report", tmp_path / "report"],
                 ["demo", seven, "--ckpt", ckpt, "--explain", tmp_path / "why"]):
        r = run(*args)
        assert r.exit_code == 2, (args, r.output)
        assert INSTALL_HINT in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "report").exists() and not (tmp_path / "why").exists()
