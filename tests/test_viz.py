"""nnpy.viz through the command line on tiny runs: ``plot`` (curves and ``--filters``),
``val --report``, ``demo --explain``, and the one-line error when matplotlib is missing.

Every picture is opened with Pillow: a PNG of plausible size that is not blank, and the charts
are read back pixel by pixel: a curve's last point sits where metrics.csv says, and the confusion
matrix's hottest cell is the most frequent mistake.
"""
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from nnpy.cli import main
from nnpy.io.checkpoint import load_checkpoint
from nnpy.viz.curves import line_styles, read_run
from nnpy.viz.grids import kernel_tiles
from nnpy.viz.report import confusion_figure

from .prerequisites import require_module

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


# --- reading charts back -------------------------------------------------------------------------
C0, C1 = (31, 119, 180), (255, 127, 14)      # matplotlib's first two colours: train, validation
C3, GREY_BAR = (214, 39, 40), (166, 166, 166)  # the explain picture's winning and other bars


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def spans(index: np.ndarray) -> list:
    """Runs of consecutive integers in a sorted index array."""
    return np.split(index, np.flatnonzero(np.diff(index) > 1) + 1) if index.size else []


def tall_black_columns(a: np.ndarray) -> list:
    """Centres of the vertical black lines (axis spines) running most of the picture's height."""
    black = a.max(axis=2) < 60
    counts = black.sum(axis=0)
    return [int(round(run.mean())) for run in spans(np.flatnonzero(counts > 0.6 * counts.max()))]


def first_panel_frame(a: np.ndarray) -> tuple:
    """(left, top, right, bottom) pixels of the leftmost panel, from its left and bottom spines."""
    black = a.max(axis=2) < 60
    left = tall_black_columns(a)[0]
    rows = np.flatnonzero(black[:, left])
    top, bottom = int(rows.min()), int(rows.max())
    right = left + int(np.argmin(black[bottom, left:])) - 1     # the bottom spine ends at the panel's edge
    return left, top, right, bottom


def data_to_pixel(frame, x, y, xs, ys):
    """Pixel of data point (x, y) in a panel autoscaled to xs, ys (matplotlib's 5 % margins)."""
    left, top, right, bottom = frame
    (x0, x1), (y0, y1) = ((v.min() - 0.05 * np.ptp(v), v.max() + 0.05 * np.ptp(v)) for v in (xs, ys))
    return (int(round(left + (x - x0) / (x1 - x0) * (right - left))),
            int(round(bottom - (y - y0) / (y1 - y0) * (bottom - top))))


def colour_near(a: np.ndarray, xy, colour, radius: int = 2) -> bool:
    x, y = xy
    patch = a[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3)
    return bool((np.abs(patch - colour).sum(axis=1) < 30).any())


def cell_luminance(path: Path, k: int) -> np.ndarray:
    """(k, k) mean grey level of each confusion-matrix cell, read beside its centred count."""
    a = pixels(path)
    left, right = tall_black_columns(a)[:2]                     # the matrix, not the colour bar
    rows = np.flatnonzero(a[:, left].max(axis=1) < 60)
    top, bottom = rows.min(), rows.max()
    w, h = (right - left) / k, (bottom - top) / k
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            x, y = int(left + (j + 0.8) * w), int(top + (i + 0.8) * h)
            out[i, j] = a[y - 2:y + 3, x - 2:x + 3].mean()
    return out


def assert_hottest_mistake(path: Path, cm: np.ndarray) -> None:
    """The off-diagonal cell with the largest share of its row is the darkest off-diagonal cell
    (darker than every cell whose share is clearly lower); empty cells stay white."""
    k = len(cm)
    fraction = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    off = ~np.eye(k, dtype=bool)
    hot = np.unravel_index(np.argmax(np.where(off, fraction, -1)), cm.shape)
    grey = cell_luminance(path, k)
    clearly_lower = off & (fraction < fraction[hot] - 0.03)
    assert (grey[clearly_lower] > grey[hot]).all(), (hot, grey[hot], grey[clearly_lower].min())
    assert (grey[cm == 0] > 240).all(), grey[cm == 0].min()


def probability_bars(path: Path) -> list:
    """(colour, length in pixels, row) of each horizontal bar of the explain picture's bar panel, top first."""
    a = pixels(path)
    a = a[:, int(0.77 * a.shape[1]):]                              # the bar panel is the rightmost
    red, grey = (np.abs(a - C3).sum(axis=2) < 30), (np.abs(a - GREY_BAR).sum(axis=2) < 30)

    def longest(row):
        return max((len(r) for r in spans(np.flatnonzero(row))), default=0)

    bars = []
    rows = np.array([longest(red[y] | grey[y]) >= 3 for y in range(len(a))])
    for run in spans(np.flatnonzero(rows)):
        if len(run) >= 8:                                          # a bar, not anti-aliased text
            y = int(run.mean())
            bars.append(("red" if red[y].sum() > grey[y].sum() else "grey", longest(red[y] | grey[y]), y))
    return bars


def kernel_tiles_in(path: Path) -> list:
    """The tiles of a filters sheet, row by row: each is the grey image inside a (170, 170, 170) outline."""
    a = pixels(path)
    outline = (a == 170).all(axis=2)
    corner = outline[:-1, :-1] & outline[:-1, 1:] & outline[1:, :-1] & ~outline[1:, 1:]   # top-left inside
    tiles = []
    for y, x in sorted(zip(*np.nonzero(corner))):
        y, x = y + 1, x + 1
        w = int(np.argmax(outline[y, x:]))                      # to the right edge of the outline
        h = int(np.argmax(outline[y:, x]))
        tiles.append(a[y:y + h, x:x + w, 0])
    return tiles


def digit_image(path: Path) -> Path:
    """A dark 7 drawn on light paper, as a person might photograph it."""
    img = Image.new("RGB", (120, 160), (235, 232, 225))
    ImageDraw.Draw(img).line([(25, 30), (95, 30), (50, 135)], fill=(30, 30, 40), width=12)
    img.save(path)
    return path


# --- nnpy plot: training curves ---------------------------------------------------------------

def test_plot_curves_of_one_run_and_of_several(mlp, tmp_path):
    require_module("matplotlib")
    run_dir, _ = mlp
    r = run("plot", run_dir)
    assert r.exit_code == 0, r.output
    assert_picture(run_dir / "curves.png", 900, 250)
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    logged = {k: np.array([float(row[k]) for row in rows]) for k in ("epoch", "train_loss", "val_loss")}
    # the loss panel: each curve's last point is drawn where metrics.csv puts it, in its colour
    a = pixels(run_dir / "curves.png")
    frame = first_panel_frame(a)
    losses = np.concatenate([logged["train_loss"], logged["val_loss"]])
    for key, colour in (("train_loss", C0), ("val_loss", C1)):
        xy = data_to_pixel(frame, logged["epoch"][-1], logged[key][-1], logged["epoch"], losses)
        assert colour_near(a, xy, colour), (key, xy, a[xy[1], xy[0]])
    train_xy = data_to_pixel(frame, logged["epoch"][-1], logged["train_loss"][-1], logged["epoch"], losses)
    assert not colour_near(a, train_xy, C1)                # the two curves are told apart

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

    # the legend names only what was drawn: no validation entries for a run without validation
    with_val, without = read_run(run_dir), read_run(other)
    assert labels([with_val]) == ["train", "validation", "best validation"]
    assert labels([without]) == ["train"]
    assert labels([without, with_val]) == ["train", "validation", "best validation"]


def test_epoch_ticks_are_whole_numbers_even_for_one_epoch(tmp_path):
    require_module("matplotlib")
    from nnpy.viz.curves import curves_figure

    for epochs in (1, 2, 7):
        folder = tmp_path / f"run{epochs}"
        folder.mkdir()
        rows = "".join(f"{e},0.1,{1 / e},0.5,{1.1 / e},0.4,1.0\n" for e in range(1, epochs + 1))
        (folder / "metrics.csv").write_text("epoch,lr,train_loss,train_metric,val_loss,val_metric,seconds\n" + rows)
        fig = curves_figure([read_run(folder)])
        fig.canvas.draw()
        for ax in fig.axes:
            low, high = ax.get_xlim()
            ticks = [t for t in ax.get_xticks() if low <= t <= high]
            assert ticks and all(t == round(t) for t in ticks), (epochs, ax.get_title(), ticks)
            assert 1 in ticks and epochs in ticks


def labels(runs) -> list[str]:
    return [h.get_label() for h in line_styles(runs, [("C0", "C1")] * len(runs))]


def test_plot_explains_a_folder_without_metrics(mlp):
    r = run("plot", mlp[0].parent)          # runs/mlp/ rather than runs/mlp/<stamp>/
    assert r.exit_code == 2 and "no metrics.csv" in r.stderr and mlp[0].name in r.stderr
    assert run("plot").exit_code == 2                                   # nothing to draw
    assert run("plot", mlp[0], "--filters", mlp[1]).exit_code == 2     # one or the other


# --- nnpy val --report --------------------------------------------------------------------------

def test_val_report_writes_figures_and_markdown(mlp, tmp_path):
    require_module("matplotlib")
    out = tmp_path / "report"
    r = run("val", "--ckpt", mlp[1], "--report", out)
    assert r.exit_code == 0, r.output
    assert "accuracy" in r.output and "report.md" in r.output
    assert_picture(out / "confusion.png", 400, 400)
    cm = np.array(json.loads(run("val", "--ckpt", mlp[1], "--json").stdout)["confusion"])
    assert_hottest_mistake(out / "confusion.png", cm)
    assert_picture(out / "mistakes.png", 400, 150)
    md = (out / "report.md").read_text()
    for text in ("accuracy", "error", "| class | samples | accuracy |", "](confusion.png)",
                 "](mistakes.png)", "300 samples"):
        assert text in md, text
    assert md.count("\n| ") >= 10 + 3                 # a row per digit, plus the measures


def test_val_report_of_a_regression_has_no_pictures(tmp_path, monkeypatch):
    require_module("matplotlib")
    monkeypatch.chdir(tmp_path)
    _, ckpt = train(tmp_path, "function.yaml", "data.options={n_train: 300, n_test: 100}",
                    "data.val_split=50", "train.epochs=1", "model.hidden=[8]")
    r = run("val", "--ckpt", ckpt, "--report", "out", "--json")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.md"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "mean squared error" in md and "mean absolute error" in md and "no PNG" in md


def test_confusion_figure_makes_the_known_mistake_the_hot_cell(tmp_path):
    require_module("matplotlib")
    cm = np.array([[9, 0, 1],        # true class c is taken for a 6 times out of 10
                   [0, 10, 0],
                   [6, 0, 4]])
    confusion_figure(cm, ["a", "b", "c"], "known mistake", tmp_path / "cm.png")
    assert_hottest_mistake(tmp_path / "cm.png", cm)
    grey = cell_luminance(tmp_path / "cm.png", 3)
    assert grey[2, 0] < grey[0, 2] < 240            # 60 % darker than 10 %, both coloured
    assert grey[2, 0] < grey[2, 2]                  # the mistake outweighs the class's own 40 %


# --- nnpy demo --explain ------------------------------------------------------------------------

def test_demo_explain_saves_one_picture_per_input(mlp, tmp_path):
    require_module("matplotlib")
    seven = digit_image(tmp_path / "seven.png")
    r = run("demo", seven, "--ckpt", mlp[1], "--explain", tmp_path / "why")
    assert r.exit_code == 0, r.output
    picture = tmp_path / "why" / "seven.png"
    assert f"explained {seven} -> {picture}" in r.output
    assert_picture(tmp_path / "why" / "seven.png", 700, 250)
    # one bar per class, top to bottom; the red one is the predicted class; lengths ∝ probabilities
    probs = np.array(list(json.loads(run("demo", seven, "--ckpt", mlp[1], "--json").stdout)[0]["probs"].values()))
    bars = probability_bars(tmp_path / "why" / "seven.png")
    # which class each bar is: the red one is the winner, the others sit whole rows above or below it
    (_, longest, y_red), = [b for b in bars if b[0] == "red"]
    pitch = min(b2[2] - b1[2] for b1, b2 in zip(bars, bars[1:]))
    classes = [int(probs.argmax() + round((y - y_red) / pitch)) for _, _, y in bars]
    assert classes == sorted(set(classes)) and all(0 <= k < 10 for k in classes), (bars, probs)
    expected = probs / probs.max() * longest
    assert set(np.flatnonzero(expected >= 12)) <= set(classes), (bars, probs)   # no visible bar missing
    assert [c for c, _, _ in bars] == ["red" if k == probs.argmax() else "grey" for k in classes]
    lengths = np.array([n for _, n, _ in bars], dtype=float)
    np.testing.assert_allclose(lengths, expected[classes], atol=3)                # lengths ∝ probabilities


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
    # the sheet shows the checkpoint's 4 first-layer kernels in order, each from black to white
    W = load_checkpoint(lenet)["model"]["conv2d_1.W"]
    tiles = kernel_tiles_in(lenet.with_name("best-filters.png"))
    assert len(tiles) == len(W) == 4
    for tile, kernel in zip(tiles, W[:, 0].astype(np.float64)):
        k = tile.shape[0] // kernel.shape[0]
        shown = tile[k // 2::k, k // 2::k]                         # one pixel per kernel weight
        expected = np.round((kernel - kernel.min()) / (kernel.max() - kernel.min()) * 255)
        np.testing.assert_array_equal(shown, expected)
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
