"""dataset: csv — reading, task inference, one-hot categories, the split, and every bad input's
one-line error naming its row and column."""
from pathlib import Path

import numpy as np
import pytest

from nnpy.data.csv_dataset import CSVDataset, encode_features
from nnpy.data.csv_table import read_table
from nnpy.data.tabular import BostonHousing
from nnpy.errors import ConfigError, DataError
from tests.tools import load_tool

REPO = Path(__file__).resolve().parents[2]
BOSTON_CSV = REPO / "data" / "boston-housing" / "boston.csv"

PETS = """weight,colour,legs,kind
4.1,black,4,cat
30.5,brown,4,dog
3.9,white,4,cat
25.0,black,4,dog
4.4,brown,4,cat
28.2,white,4,dog
"""


def write(tmp_path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_boston_csv_gives_the_embedded_arrays_and_split():
    csv = CSVDataset(path=str(BOSTON_CSV), target="MEDV", seed=113).load()
    npz = BostonHousing().load()
    for key in ("x_train", "y_train", "x_test", "y_test"):
        a, b = getattr(csv, key), getattr(npz, key)
        assert a.dtype == b.dtype and np.array_equal(a, b), key
    assert csv.task == "regression" and csv.description.outputs == 1
    assert csv.description.encoding["features"][:3] == ["CRIM", "ZN", "INDUS"]


def test_the_shipped_csv_is_what_the_tool_writes(tmp_path):
    assert load_tool("make_boston_csv").write_boston_csv(tmp_path / "b.csv") == 506
    assert (tmp_path / "b.csv").read_bytes() == BOSTON_CSV.read_bytes()


def test_a_categorical_column_is_one_hot_and_text_targets_are_classes(tmp_path):
    source = CSVDataset(path=str(write(tmp_path, PETS)), target="kind", categorical=["colour"], test_split=0.5)
    d = source.describe()
    assert d.task == "classification" and d.class_names == ("cat", "dog") and d.outputs == 2
    assert d.input_shape == (5,)                                     # weight, 3 colours, legs
    assert d.encoding == {"target": "kind", "features": ["weight", "colour", "legs"],
                          "categories": {"colour": ["black", "brown", "white"]}}
    ds = source.load()
    x, y = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    assert x.dtype == np.float32 and y.dtype == np.int64
    rows = {float(r[0]): (r[1:4].tolist(), int(label)) for r, label in zip(x, y)}
    assert rows[np.float32(30.5).item()] == ([0, 1, 0], 1)           # brown dog
    assert rows[np.float32(3.9).item()] == ([0, 0, 1], 0)            # white cat
    assert "inferred: it holds text" in ds.notes[0]


@pytest.mark.parametrize("values, task, names", [
    ([0, 1, 2, 1, 0, 2], "classification", ["0", "1", "2"]),
    ([2, 10, 2, 10, 2, 10], "classification", ["2", "10"]),           # numeric order, not text
    ([0.5, 1.25, 3.0, 2.0, 1.0, 0.0], "regression", None),
    (list(range(30)), "regression", None),                            # too many values for classes
])
def test_the_task_is_inferred_from_the_target(tmp_path, values, task, names):
    text = "x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))
    d = CSVDataset(path=str(write(tmp_path, text)), target="y").describe()
    assert d.task == task and (d.class_names and list(d.class_names)) == names
    forced = CSVDataset(path=str(write(tmp_path, text)), target="y", task="regression").describe()
    assert forced.task == "regression" and forced.outputs == 1


def test_test_path_and_root(tmp_path):
    write(tmp_path, PETS, "train.csv")
    write(tmp_path, "weight,colour,legs,kind\n5.0,grey,4,cat\n29.0,black,4,dog\n", "test.csv")
    ds = CSVDataset(path="train.csv", test_path="test.csv", root=str(tmp_path), target="kind",
                    categorical=["colour"]).load()
    assert len(ds.x_train) == 6 and len(ds.x_test) == 2
    assert ds.description.encoding["categories"]["colour"] == ["black", "brown", "grey", "white"]
    assert ds.y_test.tolist() == [0, 1]


def test_features_choose_and_order_the_inputs(tmp_path):
    ds = CSVDataset(path=str(write(tmp_path, PETS)), target="kind", features=["legs", "weight"]).load()
    assert ds.input_shape == (2,) and set(ds.x_train[:, 0].tolist()) == {4.0}


def test_prediction_encoding_refuses_an_unknown_category(tmp_path):
    d = CSVDataset(path=str(write(tmp_path, PETS)), target="kind", categorical=["colour"]).describe()
    new = read_table(write(tmp_path, "weight,colour,legs\n4.0,white,4\n3.0,purple,4\n", "new.csv"))
    with pytest.raises(DataError, match=r"new\.csv: row 3, column 'colour': 'purple' is not one of the "
                                        r"categories the model was trained with \(black, brown, white\)"):
        encode_features(new, d.encoding)
    ok = read_table(write(tmp_path, "colour,weight,legs\nwhite,4.0,4\n", "ok.csv"))   # any column order
    assert encode_features(ok, d.encoding).tolist() == [[4.0, 0, 0, 1, 4.0]]


BAD = {
    "missing cell": ("a,b,y\n1,2,0\n3,,1\n", {}, r"row 3, column 'b': missing value$"),
    "NA cell": ("a,b,y\n1,NA,0\n3,4,1\n", {}, r"row 2, column 'b': missing value \('NA'\)"),
    "text in a number column": ("a,b,y\n1,2,0\n3,big,1\n", {},
                                r"row 3, column 'b': 'big' is not a number; list the column under "
                                r"data.options.categorical to one-hot encode it"),
    "infinite": ("a,b,y\n1,inf,0\n3,4,1\n", {}, r"row 2, column 'b': 'inf' is not a number"),
    "missing target": ("a,b,y\n1,2,0\n3,4,\n", {}, r"row 3, column 'y': missing value"),
    "text target of a regression": ("a,y\n1,2.5\n3,high\n", {"task": "regression"},
                                    r"row 3, column 'y': 'high' is not a number; the target of a regression"),
    "unknown target": ("a,b,label\n1,2,0\n3,4,1\n", {"target": "lable"},
                       r"no column 'lable' \(data.options.target\) \(did you mean 'label'\?\); its columns: a, b, label"),
    "unknown feature": ("a,b,y\n1,2,0\n3,4,1\n", {"features": ["a", "c"]}, r"no column 'c' \(data.options.features\)"),
    "categorical outside the features": ("a,b,y\n1,x,0\n3,z,1\n", {"features": ["a"], "categorical": ["b"]},
                                         r"categorical column 'b' is not one of the features \(a\)"),
    "target among the features": ("a,b,y\n1,2,0\n3,4,1\n", {"features": ["a", "y"]},
                                  r"the target 'y' is also listed in features"),
    "short row": ("a,b,y\n1,2,0\n3,1\n", {}, r"row 3 has 2 cells, the header has 3"),
    "no header": ("1,2,0\n3,4,1\n", {"target": "0"}, r"the first row must name the columns, but it holds numbers"),
    "unnamed column": ("a,,y\n1,2,0\n", {}, r"row 1, column 2 has no name"),
    "two columns of one name": ("a,a,y\n1,2,0\n", {}, r"two columns are named 'a'"),
    "empty file": ("", {}, r"empty file: a CSV needs a header row"),
    "header only": ("a,b,y\n", {}, r"no rows of data below the header"),
    "one class": ("a,y\n1,cat\n2,cat\n3,cat\n", {}, r"the target 'y' has one value \('cat'\): classification needs two"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_bad_input_is_one_line_naming_row_and_column(tmp_path, case):
    text, options, message = BAD[case]
    path = write(tmp_path, text)
    source = CSVDataset(path=str(path), **{"target": "y", **options})
    with pytest.raises(DataError, match=message) as info:
        source.describe()
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_every_bad_cell_is_a_line_in_file_row_and_column_order(tmp_path):
    """A bad number in row 2 and an empty cell in row 3 were reported as row 3 alone."""
    path = write(tmp_path, "a,b,c,y\n1,big,x,0\n3,,y,1\n5,6,,NA\n7,8,z,1\n")
    with pytest.raises(DataError) as info:
        CSVDataset(path=str(path), target="y", categorical=["c"]).describe()
    assert str(info.value).splitlines() == [
        f"{path}: row 2, column 'b': 'big' is not a number; list the column under data.options.categorical "
        f"to one-hot encode it",
        f"{path}: row 3, column 'b': missing value",
        f"{path}: row 4, column 'c': missing value",
        f"{path}: row 4, column 'y': missing value ('NA')"]
    assert info.value.message_lines() == str(info.value).splitlines()


def test_bad_cells_of_the_test_file_and_a_regression_target_are_listed_too(tmp_path):
    train = write(tmp_path, "a,y\n1,2.5\n2,high\n3,1.5\n", "train.csv")
    test = write(tmp_path, "a,y\n?,2.0\n4,1.0\n", "test.csv")
    with pytest.raises(DataError) as info:
        CSVDataset(path=str(train), test_path=str(test), target="y", task="regression").describe()
    assert str(info.value).splitlines() == [
        f"{train}: row 3, column 'y': 'high' is not a number; the target of a regression must be a number",
        f"{test}: row 2, column 'a': missing value ('?')"]


def test_many_bad_cells_are_cut_at_ten_and_counted(tmp_path):
    path = write(tmp_path, "a,b,y\n" + "".join(f"x{i},{i},{i % 2}\n" for i in range(14)) + "1,,0\n")
    with pytest.raises(DataError) as info:
        CSVDataset(path=str(path), target="y").describe()
    lines = str(info.value).splitlines()
    assert len(lines) == 11 and lines[-1] == "… and 5 more bad cells"
    assert [line.split(": ")[1] for line in lines[:10]] == [f"row {r}, column 'a'" for r in range(2, 12)]


def test_prediction_lists_the_bad_cells_of_every_feature(tmp_path):
    d = CSVDataset(path=str(write(tmp_path, PETS)), target="kind", categorical=["colour"]).describe()
    new = read_table(write(tmp_path, "weight,colour,legs\nfour,white,4\n3.0,purple,\n", "new.csv"))
    with pytest.raises(DataError) as info:
        encode_features(new, d.encoding)
    assert [line.split(": ", 2)[1:] for line in str(info.value).splitlines()] == [
        ["row 2, column 'weight'", "'four' is not a number; list the column under data.options.categorical to "
                                   "one-hot encode it"],
        ["row 3, column 'colour'", "'purple' is not one of the categories the model was trained with "
                                   "(black, brown, white)"],
        ["row 3, column 'legs'", "missing value"]]


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(DataError, match=r"data.options.path: .*nowhere.csv: no such file"):
        CSVDataset(path=str(tmp_path / "nowhere.csv"), target="y").describe()
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,y\ncafé,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv: not UTF-8 text \(byte \d+\): save it as CSV UTF-8"):
        CSVDataset(path=str(latin), target="y").describe()
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffa,y\n1,0\n2,1\n3,0\n4,1\n".encode("utf-8"))   # Excel's "CSV UTF-8"
    assert CSVDataset(path=str(bom), target="y").describe().encoding["features"] == ["a"]
    semicolons = write(tmp_path, "a;y\n1,5;0\n2;1\n", "semi.csv")
    with pytest.raises(DataError, match=r"row 2, column 'a': '1,5' is not a number"):
        CSVDataset(path=str(semicolons), target="y", delimiter=";").describe()


def test_option_mistakes():
    for options, message in (({"task": "ranking"}, "task must be classification or regression"),
                             ({"test_split": 0}, "test_split"), ({"seed": -1}, "seed"),
                             ({"delimiter": ", "}, "delimiter must be one character"),
                             ({"categorical": "colour"}, "categorical must be a list"),
                             ({"features": ["a", "a"]}, "features names a column twice")):
        with pytest.raises(ConfigError, match=message):
            CSVDataset(path="t.csv", target="y", **options)
