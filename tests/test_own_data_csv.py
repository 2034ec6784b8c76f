"""Your own CSV table from the command line: train, val, predict, and the one-line errors."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.io.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
BOSTON_CSV = REPO / "data" / "boston-housing" / "boston.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def train(workdir: Path, config: Path, *overrides: str) -> Path:
    """Train in ``workdir``; the best checkpoint."""
    sets = [a for o in (*overrides, f"log.dir={workdir / 'runs'}", f"checkpoint.dir={workdir / 'ckpt'}")
            for a in ("--set", o)]
    r = run("train", "--config", config, *sets)
    assert r.exit_code == 0, r.output
    return workdir / "ckpt" / "best.json"


def one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("nnpy: error: "), result.stderr
    return lines[0]


def test_boston_from_csv_matches_the_embedded_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the configs' paths start from their own folder, whatever the current one
    maes = []
    for name in ("boston", "boston-csv"):
        ckpt = train(tmp_path / name, REPO / "configs" / f"{name}.yaml", "train.epochs=8")
        r = run("val", "--ckpt", ckpt, "--json")
        assert r.exit_code == 0, r.output
        maes.append(json.loads(r.output)["mae"])
    assert round(maes[0], 3) == round(maes[1], 3), maes
    assert maes[0] < 20
    out = tmp_path / "preds.csv"
    r = run("predict", "--ckpt", tmp_path / "boston-csv" / "ckpt" / "best.json", "--csv", BOSTON_CSV, "--out", out)
    assert r.exit_code == 0 and "wrote 506 predictions" in r.output, r.output
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 506 and list(rows[0])[-2:] == ["MEDV", "predicted_MEDV"]
    error = np.mean([abs(float(r["MEDV"]) - float(r["predicted_MEDV"])) for r in rows])
    assert error < 20


def pets(n: int = 120, seed: int = 0) -> str:
    """Cats are light, dogs heavy; colour says nothing, so it is a categorical column to encode."""
    rng = np.random.default_rng(seed)
    rows = ["weight,colour,age,kind"]
    for i in range(n):
        dog = i % 2
        weight = rng.normal(25 if dog else 4, 2)
        rows.append(f"{weight:.2f},{rng.choice(['black', 'brown', 'white'])},{rng.integers(1, 15)},"
                    f"{'dog' if dog else 'cat'}")
    return "\n".join(rows) + "\n"


PETS_CONFIG = """
name: pets
seed: 3
model: {symbol: mlp, hidden: [16]}
data:
  dataset: csv
  options: {path: pets.csv, target: kind, categorical: [colour]}
  val_split: 0
  batch_size: 16
  normalize: auto
optimizer: {type: adam, lr: 0.01}
train: {epochs: 15}
checkpoint: {monitor: train_accuracy}
"""


@pytest.fixture
def pets_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pets.csv").write_text(pets())
    (tmp_path / "pets.yaml").write_text(PETS_CONFIG)
    return train(tmp_path, tmp_path / "pets.yaml")


def test_a_classification_csv_with_a_categorical_column(pets_model, tmp_path):
    payload = load_checkpoint(pets_model)
    description = payload["data"]["description"]
    assert description["class_names"] == ["cat", "dog"] and description["input_shape"] == [5]
    assert description["encoding"] == {"target": "kind", "features": ["weight", "colour", "age"],
                                       "categories": {"colour": ["black", "brown", "white"]}}
    r = run("val", "--ckpt", pets_model)
    assert r.exit_code == 0 and "accuracy" in r.output and "cat" in r.output and "dog" in r.output, r.output
    assert json.loads(run("val", "--ckpt", pets_model, "--json").output)["accuracy"] >= 0.9

    (tmp_path / "new.csv").write_text("colour,weight,age\nwhite,3.5,2\nblack,27.0,6\n")   # no target column
    r = run("predict", "--ckpt", pets_model, "--csv", "new.csv", "--out", "preds.csv")
    assert r.exit_code == 0 and "wrote 2 predictions to preds.csv" in r.output, r.output
    with open(tmp_path / "preds.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["colour", "weight", "age", "predicted_kind", "prob_cat", "prob_dog"]
    assert [row["predicted_kind"] for row in rows] == ["cat", "dog"]
    assert float(rows[0]["prob_cat"]) + float(rows[0]["prob_dog"]) == pytest.approx(1, abs=1e-5)

    printed = run("predict", "--ckpt", pets_model, "--csv", "new.csv")
    assert printed.exit_code == 0 and printed.output.splitlines()[0].endswith("predicted_kind,prob_cat,prob_dog")


def test_predict_and_val_errors_are_one_line(pets_model, tmp_path):
    (tmp_path / "odd.csv").write_text("weight,colour,age\n3.5,white,2\n27.0,purple,6\n")
    line = one_line_error(run("predict", "--ckpt", pets_model, "--csv", "odd.csv"))
    assert "odd.csv: row 3, column 'colour': 'purple' is not one of the categories" in line
    (tmp_path / "short.csv").write_text("weight,age\n3.5,2\n")
    assert "short.csv: no column 'colour'" in one_line_error(run("predict", "--ckpt", pets_model, "--csv", "short.csv"))
    (tmp_path / "text.csv").write_text("weight,colour,age\nheavy,white,2\n")
    assert "text.csv: row 2, column 'weight': 'heavy' is not a number" in \
        one_line_error(run("predict", "--ckpt", pets_model, "--csv", "text.csv"))
    assert "nowhere.csv: no such file" in one_line_error(run("predict", "--ckpt", pets_model, "--csv", "nowhere.csv"))
    assert "this model reads rows of a CSV table, not images" in \
        one_line_error(run("demo", REPO / "data" / "samples", "--ckpt", pets_model))
    mnist = REPO / "data" / "trained_models" / "mnist.json"
    assert "not a model trained on a CSV table" in one_line_error(run("predict", "--ckpt", mnist, "--csv", "text.csv"))

    text = (tmp_path / "pets.csv").read_text().replace("brown", "grey")     # the table changed since
    (tmp_path / "pets.csv").write_text(text)
    line = one_line_error(run("val", "--ckpt", pets_model))
    assert "the data read now is not what the model was trained on" in line and "categories.colour" in line


@pytest.mark.parametrize("table, message", [
    ("weight,colour,age,kind\n4,black,3,cat\n,white,2,dog\n", "pets.csv: row 3, column 'weight': missing value"),
    ("weight,colour,age,kind\n4,black,3,cat\n20,white,old,dog\n",
     "pets.csv: row 3, column 'age': 'old' is not a number; list the column under data.options.categorical"),
    ("weight,colour,age,kind\n4,black,3,cat\n20,white,2\n", "pets.csv: row 3 has 3 cells, the header has 4"),
])
def test_train_on_a_bad_table_is_one_line(tmp_path, monkeypatch, table, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pets.csv").write_text(table)
    (tmp_path / "pets.yaml").write_text(PETS_CONFIG)
    assert message in one_line_error(run("train", "--config", "pets.yaml"))


def test_train_on_a_table_with_several_bad_cells_prints_each(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pets.csv").write_text("weight,colour,age,kind\n4,black,old,cat\n,white,2,dog\n3,black,1,cat\n")
    (tmp_path / "pets.yaml").write_text(PETS_CONFIG)
    r = run("train", "pets.yaml")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr.splitlines() == [
        "nnpy: error: pets.csv: row 2, column 'age': 'old' is not a number; list the column under "
        "data.options.categorical to one-hot encode it",
        "nnpy: error: pets.csv: row 3, column 'weight': missing value"]


def test_config_mistakes_name_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pets.csv").write_text(pets(10))
    (tmp_path / "pets.yaml").write_text(PETS_CONFIG)
    line = one_line_error(run("train", "--config", "pets.yaml", "--set", "data.options.target=knd"))
    assert "no column 'knd' (data.options.target) (did you mean 'kind'?)" in line
    line = one_line_error(run("train", "--config", "pets.yaml", "--set", "data.options={path: pets.csv}"))
    assert "data.options" in line and "missing required option 'target'" in line
    line = one_line_error(run("train", "--config", "pets.yaml", "--set", "data.options.path=missing.csv"))
    assert "data.options.path: missing.csv: no such file" in line
