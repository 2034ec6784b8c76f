"""Your own folder of images from the command line: configs/shapes.yaml on a generated folder
(tools/make_shapes.py) trains to >= 95%, the run lists the files it skipped, ``val --report``
and ``demo`` name the classes by their folders, and ``demo`` reads colour images."""
import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from nnpy.cli import main
from nnpy.io.checkpoint import load_checkpoint
from tests.tools import load_tool

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["circle", "square", "triangle"]
#: Small enough for a test: 24×24 images, 200 per class, 8 epochs.
QUICK = ["data.options.size=[24, 24]", "train.epochs=8", "data.val_split=0", "checkpoint.monitor=train_accuracy"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """configs/shapes.yaml trained on a generated folder with two bad files in it:
    (work folder, training output, best checkpoint)."""
    work = tmp_path_factory.mktemp("shapes")
    root = work / "shapes"
    load_tool("make_shapes").make_shapes(root, train=200, test=50, size=24, seed=0)
    (root / "train" / "circle" / "notes.txt").write_text("drawn with tools/make_shapes.py")
    (root / "train" / "square" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    sets = [a for o in (*QUICK, f"data.root={root}", f"log.dir={work / 'runs'}", f"checkpoint.dir={work / 'ckpt'}")
            for a in ("--set", o)]
    r = run("train", "--config", REPO / "configs" / "shapes.yaml", *sets)
    assert r.exit_code == 0, r.output
    return work, r.output, work / "ckpt" / "last.json"


def test_shapes_train_to_95_percent(shapes):
    r = run("val", "--ckpt", shapes[2], "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.output)
    assert result["n"] == 150 and result["accuracy"] >= 0.95, result


def test_the_run_counts_skipped_files_and_its_log_lists_them(shapes):
    work, output, _ = shapes
    (log,) = (work / "runs").glob("*/*/train.log")
    assert "data: image_folder · 600 train · 150 test · batch 16 · 2 file(s) skipped, listed in " \
           f"{log}" in output
    assert "decoded 751 files of" in output and "cached in" in output
    text = log.read_text()
    assert "skipped:" in text
    assert "circle/notes.txt: not an image file (extension '.txt'" in text
    assert "square/broken.png: not an image (Pillow cannot identify it)" in text


def test_folder_names_are_the_class_names(shapes, tmp_path):
    payload = load_checkpoint(shapes[2])
    assert payload["data"]["description"]["class_names"] == CLASSES
    assert payload["data"]["description"]["input_shape"] == [3, 24, 24]
    r = run("val", "--ckpt", shapes[2])
    assert r.exit_code == 0 and "0 circle" in r.output and "2 triangle" in r.output, r.output
    r = run("val", "--ckpt", shapes[2], "--report", tmp_path / "report")
    assert r.exit_code == 0, r.output
    report = (tmp_path / "report" / "report.md").read_text()
    assert all(f"| {name} |" in report for name in CLASSES), report
    assert (tmp_path / "report" / "confusion.png").stat().st_size > 1000


def test_val_on_a_folder_of_other_classes_is_refused(shapes, tmp_path):
    other = tmp_path / "other"
    for name in ("circle", "square", "star"):
        (other / name).mkdir(parents=True)
        drawing(other / name / "1.png", "circle", (24, 24))
    r = run("val", "--ckpt", shapes[2], "--data-root", other)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "the data read now is not what the model was trained on: classes ['circle', 'square', 'triangle'] " \
           "in the checkpoint, ['circle', 'square', 'star'] in the data" in r.stderr


def drawing(path: Path, shape: str, size=(120, 90), paper=(250, 240, 200), ink=(170, 30, 30), mode="RGB"):
    """A shape far bigger than the training images, in colour, on paper of another colour."""
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    side = 0.6 * min(w, h)
    box = [w / 2 - side / 2, h / 2 - side / 2, w / 2 + side / 2, h / 2 + side / 2]
    if shape == "circle":
        draw.ellipse(box, fill=ink)
    elif shape == "square":
        draw.rectangle(box, fill=ink)
    else:
        draw.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) / 2, box[1])], fill=ink)
    image.convert(mode).save(path)
    return path


def test_demo_reads_colour_images_with_the_models_size(shapes, tmp_path):
    files = [drawing(tmp_path / "red-circle.png", "circle"),
             drawing(tmp_path / "blue-square.jpg", "square", (80, 100), (220, 235, 250), (20, 40, 160)),
             drawing(tmp_path / "green-triangle.png", "triangle", (90, 90), (255, 255, 255), (30, 120, 40), "RGBA")]
    r = run("demo", *files, "--ckpt", shapes[2], "--json")
    assert r.exit_code == 0, r.output
    results = {Path(x["path"]).name: x for x in json.loads(r.output)}
    assert {name: x["label"] for name, x in results.items()} == \
        {"red-circle.png": "circle", "blue-square.jpg": "square", "green-triangle.png": "triangle"}
    assert set(results["red-circle.png"]["probs"]) == set(CLASSES)
    r = run("demo", tmp_path / "red-circle.png", "--ckpt", shapes[2])
    assert r.exit_code == 0 and "red-circle.png: circle" in r.output
    if importlib.util.find_spec("matplotlib"):     # --explain: the file, what the model saw, the bars
        r = run("demo", tmp_path / "red-circle.png", "--ckpt", shapes[2], "--explain", tmp_path / "why")
        assert r.exit_code == 0 and (tmp_path / "why" / "red-circle.png").stat().st_size > 5000, r.output
    r = run("demo", tmp_path / "red-circle.png", "--ckpt", shapes[2], "--multi")
    assert r.exit_code == 2 and "--multi reads rows of hand-written digits" in r.stderr

    (tmp_path / "nope.png").write_text("not an image")
    r = run("demo", tmp_path / "nope.png", "--ckpt", shapes[2])
    assert r.exit_code == 1 and "nope.png: not an image (Pillow cannot identify it)" in r.stderr


def test_an_empty_class_folder_stops_the_run_in_one_line(tmp_path):
    root = tmp_path / "pets"
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    drawing(root / "cat" / "1.png", "circle", (20, 20))
    r = run("train", "--config", REPO / "configs" / "shapes.yaml", "--set", f"data.root={root}",
            "--set", f"log.dir={tmp_path / 'runs'}", "--set", f"checkpoint.dir={tmp_path / 'ckpt'}")
    assert r.exit_code == 2
    assert r.stderr.strip() == f"nnpy: error: {root / 'dog'}: empty class folder: no .png, .jpg, .jpeg, .gif, " \
                               f".bmp, .webp, .tif, .tiff files"
