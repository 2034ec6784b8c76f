"""The hand-written-looking digit set (tests/data/handwritten, made by
tools/make_handwritten.py) and the shipped demo model's accuracy on it, per kind of image:
"mixed" (every hand, pen and paper) and one kind for each thing photos do."""
import csv
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from nnpy.data.images import IMAGE_SUFFIXES
from nnpy.digits import load_digit

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "tests" / "data" / "handwritten"
MODEL = REPO / "data" / "trained_models" / "mnist.json"
MIN_ACCURACY = 0.97          # on every kind
KINDS = ("mixed", "gradient", "shadow", "grey-paper", "coloured-paper", "jpeg", "blur", "pencil",
         "continental")


def _rows() -> list:
    with open(FOLDER / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def _labels() -> dict:
    return {row["file"]: int(row["label"]) for row in _rows()}


def _images() -> list:
    return sorted(p.name for p in FOLDER.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def test_set_is_complete_and_labelled():
    images, labels = _images(), _labels()
    assert len(images) >= 450
    assert set(labels) == set(images), "labels.csv and the image files disagree"
    counts = Counter(labels.values())
    assert set(counts) == set(range(10))
    assert min(counts.values()) >= 10, counts
    for name, label in labels.items():                    # d<label>_[<kind>_]<index>.<ext>
        assert name.startswith(f"d{label}_"), name
    kinds = Counter(row["kind"] for row in _rows())
    assert set(kinds) == set(KINDS) and min(kinds.values()) >= 40, kinds
    continental = Counter(int(r["label"]) for r in _rows() if r["kind"] == "continental")
    assert set(continental) == {1, 7}
    new_bytes = sum((FOLDER / r["file"]).stat().st_size for r in _rows() if r["kind"] != "mixed")
    assert new_bytes < 400_000, f"the photo kinds take {new_bytes} bytes: keep the repo light"


def test_every_image_preprocesses_to_an_mnist_digit():
    for name in _images():
        out = load_digit(FOLDER / name)
        assert out.shape == (28, 28) and out.dtype == np.float32, name
        assert out.max() > 0.99 and (out > 0.5).sum() >= 10, f"{name}: no ink"
        rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
        extent = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        assert max(extent) >= 18 and min(extent) >= 3, f"{name}: digit box {extent}"


def test_demo_model_accuracy_per_kind():
    assert MODEL.is_file(), f"{MODEL.relative_to(REPO)} is missing: nnpy demo has no default model"
    from nnpy.digits.reader import predict_files

    rows = {r["file"]: r for r in _rows()}
    results, failures = predict_files([FOLDER], str(MODEL))
    assert not failures, failures
    assert len(results) == len(rows)
    right, total, wrong = defaultdict(int), defaultdict(int), defaultdict(list)
    for r in results:
        row = rows[Path(r["path"]).name]
        total[row["kind"]] += 1
        if r["label"] == row["label"]:
            right[row["kind"]] += 1
        else:
            wrong[row["kind"]].append(f"{row['file']}: {row['label']} read as {r['label']}")
    print("\n| kind | images | accuracy |\n|---|---|---|")
    for kind in KINDS:
        print(f"| {kind} | {total[kind]} | {100 * right[kind] / total[kind]:.1f}% |")
    low = {k: right[k] / total[k] for k in KINDS if right[k] / total[k] < MIN_ACCURACY}
    assert not low, f"below {MIN_ACCURACY} on {low}: " + "; ".join(sum(wrong.values(), []))
