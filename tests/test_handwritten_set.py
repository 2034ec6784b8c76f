"""The hand-written-looking digit set (tests/data/handwritten, made by
tools/make_handwritten.py) and the shipped demo model's accuracy on it."""
import csv
from collections import Counter
from pathlib import Path

import numpy as np

from nnpy.data.images import IMAGE_SUFFIXES, load_digit

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "tests" / "data" / "handwritten"
MODEL = REPO / "data" / "trained_models" / "mnist.json"
MIN_ACCURACY = 0.95


def _labels() -> dict:
    with open(FOLDER / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {row["file"]: int(row["label"]) for row in rows}


def _images() -> list:
    return sorted(p.name for p in FOLDER.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def test_set_is_complete_and_labelled():
    images, labels = _images(), _labels()
    assert len(images) >= 150
    assert set(labels) == set(images), "labels.csv and the image files disagree"
    counts = Counter(labels.values())
    assert set(counts) == set(range(10))
    assert min(counts.values()) >= 10, counts
    for name, label in labels.items():                    # d<label>_<index>.<ext>
        assert name.startswith(f"d{label}_"), name


def test_every_image_preprocesses_to_an_mnist_digit():
    for name in _images():
        out = load_digit(FOLDER / name)
        assert out.shape == (28, 28) and out.dtype == np.float32, name
        assert out.max() > 0.99 and (out > 0.5).sum() >= 10, f"{name}: no ink"
        rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
        extent = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        assert max(extent) >= 18 and min(extent) >= 3, f"{name}: digit box {extent}"


def test_demo_model_accuracy_on_handwritten_set():
    assert MODEL.is_file(), f"{MODEL.relative_to(REPO)} is missing: nnpy demo has no default model"
    from nnpy.engine.demo import predict_files

    labels = _labels()
    results, failures = predict_files([FOLDER], str(MODEL))
    assert not failures, failures
    assert len(results) == len(labels)
    wrong = []
    for r in results:
        truth = labels[Path(r["path"]).name]
        if r["label"] != str(truth):
            wrong.append(f"{Path(r['path']).name}: {truth} read as {r['label']}")
    accuracy = 1 - len(wrong) / len(results)
    print(f"demo model accuracy on {len(results)} hand-written-style digits: {accuracy:.4f}")
    for line in wrong:
        print("  " + line)
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.4f} < {MIN_ACCURACY}: " + "; ".join(wrong)
