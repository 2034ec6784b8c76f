"""``nnpy demo`` on rows of digits (``--multi``), its JSON, and its exit-code rule."""
import json
import re
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from nnpy.cli import main
from nnpy.digits.reader import DigitReader, predict_files
from nnpy.digits.segment import segment_row
from tests.handwriting import row_image

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "trained_models" / "mnist.json"
ROWS = 60
MIN_EXACT_ROWS = 0.9         # the target


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_multi_reads_generated_rows_exactly():
    reader = DigitReader(MODEL)
    exact, wrong = 0, []
    for i in range(ROWS):
        image, truth = row_image(i)
        grey = np.asarray(image.convert("L"), np.float32) / 255
        result = reader.read_image(grey, f"row{i}", multi=True)
        exact += result["text"] == truth
        if result["text"] != truth:
            wrong.append(f"row {i}: {truth} read as {result['text']}")
    print(f"--multi: {exact}/{ROWS} rows read exactly")
    assert exact / ROWS >= MIN_EXACT_ROWS, wrong
    print("\n".join(wrong))


def test_multi_json_and_boxes(tmp_path):
    image, truth = row_image(1)
    image.save(tmp_path / "row.png")
    r = run("demo", tmp_path / "row.png", "--multi", "--json")
    assert r.exit_code == 0, r.output
    (result,) = json.loads(r.stdout)
    assert set(result) == {"path", "text", "digits"} and result["path"] == str(tmp_path / "row.png")
    assert len(result["text"]) == len(truth) == len(result["digits"])
    lefts = []
    for d in result["digits"]:
        assert set(d) == {"label", "probs", "box"} and abs(sum(d["probs"].values()) - 1) < 1e-4
        x0, y0, x1, y1 = d["box"]
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
        lefts.append(x0)
    assert lefts == sorted(lefts)                           # left to right
    r = run("demo", tmp_path / "row.png", "--multi")
    assert r.exit_code == 0 and f"row.png: {result['text']}" in r.stdout


def test_touching_pair_is_split_by_width_alone():
    """Without the model, a group as wide as two digits is still cut in two."""
    canvas = Image.new("L", (200, 80), 255)
    from PIL import ImageDraw
    d = ImageDraw.Draw(canvas)
    d.ellipse([20, 10, 60, 70], outline=0, width=5)        # 0
    d.ellipse([58, 10, 98, 70], outline=0, width=5)        # 0 touching it
    d.line([(150, 10), (150, 70)], fill=0, width=5)        # 1, apart
    row = segment_row(np.asarray(canvas, np.float32) / 255)
    assert len(row.boxes) == 3 and row.digits.shape == (3, 28, 28)
    (a, _, b, _), (c, _, d, _) = row.boxes[:2]               # the pair, left to right; without a
    assert a < c and b < d and abs(a - 20) <= 3 and abs(d - 98) <= 3   # model only the widths speak:
    assert min(b - a, d - c) >= 0.45 * 60                   # both pieces digit-wide (DIGIT_WIDTH)


TOUCHING_ROW = REPO / "tests" / "data" / "rows" / "3856.jpg"     # its 3 and 8 touch


def test_a_row_read_as_one_digit_says_try_multi():
    """Read as one digit, the row 3856 is an "8" at 98.8%: one digit of four, no answer for the
    row. A note line says so; the file was read, so the exit code stays 0."""
    r = run("demo", TOUCHING_ROW, REPO / "data" / "samples" / "d7_007.jpg")
    assert r.exit_code == 0, r.output
    assert r.stderr == f"nnpy: note: {TOUCHING_ROW}: this looks like 4 digits: try --multi\n"
    assert f"{TOUCHING_ROW}: " in r.stdout and "d7_007.jpg: 7" in r.stdout
    r = run("demo", TOUCHING_ROW, "--json")
    (result,) = json.loads(r.stdout)
    assert result["note"] == "this looks like 4 digits: try --multi"
    r = run("demo", TOUCHING_ROW, "--multi")
    assert r.exit_code == 0 and r.stderr == "" and f"{TOUCHING_ROW}: 3856 " in r.stdout


def test_single_digits_get_no_note():
    results, _ = predict_files([REPO / "data" / "samples"], MODEL)
    assert len(results) == 12 and [r["path"] for r in results if "note" in r] == []


def test_exit_codes(tmp_path):
    """0 all read; 1 some inputs could not be read; 2 usage and config errors."""
    image, _ = row_image(2)
    image.save(tmp_path / "good.png")
    (tmp_path / "bad.png").write_text("not an image")
    assert run("demo", tmp_path / "good.png").exit_code == 0
    r = run("demo", tmp_path / "good.png", tmp_path / "bad.png", tmp_path / "absent.png")
    assert r.exit_code == 1 and r.stderr.count("nnpy: error:") == 2 and "good.png:" in r.stdout
    r = run("demo", tmp_path / "good.png", "--ckpt", tmp_path / "missing.json")
    assert r.exit_code == 2 and r.stderr.startswith("nnpy: error:") and "missing.json" in r.stderr
    assert run("demo", tmp_path / "good.png", "--topk", "0").exit_code == 2
    assert run("demo").exit_code == 2                       # no PATH


def test_exit_code_rule_is_documented_the_same_everywhere():
    rule = ("0 when every input was read, 1 when some inputs could not be read (each has its own "
            "error line; the others are still read), 2 for usage and config errors")
    help_text = " ".join(run("demo", "--help").output.split())
    assert rule in help_text
    readme = " ".join((REPO / "README.md").read_text().split())
    assert re.search(r"`nnpy demo` exits with " + re.escape(rule), readme), "README: exit codes"


def test_failures_keep_the_stages_up_to_the_failure(tmp_path):
    Image.new("RGB", (60, 50), (230, 225, 210)).save(tmp_path / "blank.png")
    results, failures = predict_files([tmp_path], MODEL, keep_stages=True)
    (failure,) = failures
    assert not results and "no ink found" in failure["error"]
    st = failure["stages"]
    assert st.ink is not None and st.threshold is not None and st.digit is None


def test_multi_counts_one_digit_in_the_singular():
    r = run("demo", REPO / "data" / "samples" / "d7_007.jpg", REPO / "data" / "samples" / "rows" / "1234567890.jpg",
            "--multi")
    assert r.exit_code == 0, r.output
    one, ten = r.stdout.splitlines()
    assert "d7_007.jpg: 7   (1 digit, least sure " in one
    assert "1234567890.jpg: 1234567890   (10 digits, least sure " in ten
