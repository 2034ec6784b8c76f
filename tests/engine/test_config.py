"""The experiment config refuses an unknown key in every section of the real schema.

The sections are read from ``nnpy.engine.experiment_config.SCHEMA`` itself, so a section added later is
covered without editing this file. Each is tried through the public paths: a config file read by
``load_experiment`` (the error names file:line, the section and the key) and ``nnpy train --set``
(exit 2, one line). A typo must never train silently with the default value.
"""
import copy

import pytest
import yaml
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.engine.experiment_config import SCHEMA, load_experiment
from nnpy.errors import ConfigError
from nnpy.io.schema import Section

BASE = {
    "name": "sections", "seed": 1,
    "model": {"layers": [{"type": "Dense", "units": 4}, {"type": "ReLU"}, {"type": "Dense", "units": 2}]},
    "data": {"dataset": "parity", "options": {"bits": 4}, "val_split": 0, "batch_size": 4},
    "loss": "cross_entropy",
    "optimizer": {"type": "sgd", "lr": 0.1},
    "scheduler": {"type": "step", "step_size": 2},
    "train": {"epochs": 1, "metric": "accuracy", "early_stopping": {"monitor": "train_loss", "patience": 2}},
    "checkpoint": {"save_last": True},
    "log": {"dir": "runs"},
}


def closed_sections(section: Section, path=()):
    """Key paths of every section of the schema that does not accept undeclared keys."""
    if not section.open:
        yield path
    for name, sub in section.fields.items():
        if isinstance(sub, Section):
            yield from closed_sections(sub, path + (name,))


#: the closed sections of today's schema, and any the schema gains (opening one fails its test)
KNOWN = [(), ("data",), ("train",), ("train", "early_stopping"), ("checkpoint",), ("log",)]
SECTIONS = KNOWN + [p for p in closed_sections(SCHEMA) if p not in KNOWN]
#: registry-backed parts: their valid keys depend on the chosen type
SPECS = {"model": "model.symbol=mlp", "model.layers.0": None, "optimizer": None, "scheduler": None,
         "loss": "loss={type: huber}", "train.metric": "train.metric={type: mse}",
         "data.options": None}


def dotted(path) -> str:
    return ".".join(path) or "<top level>"


def cli(tmp_path, *overrides):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
    args = ["train", "--config", str(tmp_path / "c.yaml"), "--print-config"]
    return CliRunner().invoke(main, args + [a for o in overrides for a in ("--set", o)])


def test_the_base_config_is_valid_and_sections_were_found(tmp_path):
    r = cli(tmp_path)
    assert r.exit_code == 0, r.output
    assert set(closed_sections(SCHEMA)) == set(SECTIONS), "a section of the schema accepts any key"


@pytest.mark.parametrize("path", SECTIONS, ids=dotted)
def test_unknown_key_in_a_config_file(tmp_path, path):
    data = copy.deepcopy(BASE)
    section = data
    for key in path:
        section = section[key]
    section["bogus_key"] = 32
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_experiment(tmp_path / "c.yaml")
    message = str(info.value)
    assert f"{tmp_path / 'c.yaml'}:" in message and "unknown key 'bogus_key'" in message, message
    if path:
        assert f"{dotted(path)}: unknown key" in message, message


@pytest.mark.parametrize("path", SECTIONS, ids=dotted)
def test_unknown_key_from_the_command_line(tmp_path, path):
    key = ".".join([*path, "bogus_key"])
    r = cli(tmp_path, f"{key}=32")
    assert r.exit_code == 2, r.output
    assert "nnpy: error: " in r.stderr and f"--set {key}=32" in r.stderr and "bogus_key" in r.stderr
    assert r.stderr.count("\n") == 1, r.stderr


def test_data_batchsize_typo_is_refused_with_a_suggestion(tmp_path):
    r = cli(tmp_path, "data.batchsize=32")
    assert r.exit_code == 2, r.output
    assert "data: unknown key 'batchsize' (did you mean 'batch_size'?)" in r.stderr, r.stderr


@pytest.mark.parametrize("where", sorted(SPECS))
def test_unknown_option_of_a_registry_spec(tmp_path, where):
    setup = [SPECS[where]] if SPECS[where] else []
    if where == "model":
        setup = ["model={symbol: mlp, hidden: [4]}"]
    r = cli(tmp_path, *setup, f"{where}.bogus_key=32")
    assert r.exit_code == 2, r.output
    assert "unknown option 'bogus_key'" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_unknown_augment_key_stops_before_training(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
    r = CliRunner().invoke(main, ["train", "--config", str(tmp_path / "c.yaml"), "--set", "data.augment={shfit: 2}",
                                  "--set", f"log.dir={tmp_path / 'runs'}", "--set", f"checkpoint.dir={tmp_path / 'ck'}"])
    assert r.exit_code == 2, r.output
    assert "augment: unknown key 'shfit' (did you mean 'shift'?)" in r.stderr
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("value", ["{mean: 0.5, std: 0.2, bogus_key: 1}", "{mean: 0.5, stdd: 0.2}", "{mean: 0.5}",
                                   "autoo"])
def test_unknown_normalize_key_is_refused(tmp_path, value):
    r = cli(tmp_path, f"data.normalize={value}")
    assert r.exit_code == 2 and "data.normalize" in r.stderr, r.output


def test_a_child_or_set_that_changes_the_optimizer_type_drops_the_old_options(tmp_path):
    """``_base_: configs/mlp.yaml`` + ``optimizer: {type: adam, lr: 0.002}`` was refused with
    'configs/mlp.yaml:16: optimizer.momentum: optimizer 'adam': unknown option 'momentum''."""
    from pathlib import Path

    mlp = Path(__file__).resolve().parents[2] / "configs" / "mlp.yaml"
    child = tmp_path / "adam.yaml"
    child.write_text(f"_base_: {mlp}\noptimizer: {{type: adam, lr: 0.002}}\n")
    cfg, _ = load_experiment(child)
    assert cfg["optimizer"] == {"type": "adam", "lr": 0.002}
    cfg, _ = load_experiment(mlp, ["optimizer.type=adam"])
    assert cfg["optimizer"] == {"type": "adam"}
    cfg, _ = load_experiment(mlp, ["optimizer.type=adam", "optimizer.lr=0.001"])
    assert cfg["optimizer"] == {"type": "adam", "lr": 0.001}


def test_input_paths_start_from_the_config_files_folder(tmp_path, monkeypatch):
    """``nnpy summary other/dir/x.yaml`` reads the files x.yaml names next to it, from any current
    folder; a base's paths start from the base's folder, a --set path from the current folder,
    and output folders stay where they were (the current folder)."""
    from pathlib import Path

    import numpy as np

    from nnpy.engine.plan import load_plan

    table = "a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20))
    folder = tmp_path / "other" / "dir"
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "t.csv").write_text(table)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "t.csv").write_text(table)
    (folder / "x.yaml").write_text(
        "model: {layers: [{type: Dense, units: 2}]}\n"
        "data: {dataset: csv, options: {path: tables/t.csv, target: y}}\n"
        "checkpoint: {dir: ck}\nlog: {dir: my-runs}\n")
    (tmp_path / "child.yaml").write_text("_base_: other/dir/x.yaml\nname: child\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    for config in ("../other/dir/x.yaml", tmp_path / "child.yaml"):
        cfg, _ = load_experiment(config)
        assert Path(cfg["data"]["options"]["path"]).resolve() == folder / "tables" / "t.csv"
        assert cfg["checkpoint"]["dir"] == "ck" and cfg["log"]["dir"] == "my-runs"
    cfg, _ = load_experiment("../other/dir/x.yaml", ["data.options.path=t.csv"])
    assert cfg["data"]["options"]["path"] == "t.csv"               # as typed: the current folder's
    cfg, _ = load_experiment("../other/dir/x.yaml", [f"data.root={folder}"])
    assert cfg["data"]["options"]["path"] == "tables/t.csv"        # under data.root, which is given
    np.testing.assert_equal(load_plan("../other/dir/x.yaml").data.input_shape, (2,))
    r = CliRunner().invoke(main, ["summary", "../other/dir/x.yaml"])
    assert r.exit_code == 0 and "dense_1" in r.output, r.output


def test_a_missing_file_says_how_relative_paths_are_read(tmp_path, monkeypatch):
    (tmp_path / "x.yaml").write_text("model: {layers: [{type: Dense, units: 2}]}\n"
                                     "data: {dataset: csv, options: {path: nowhere.csv, target: y}}\n")
    monkeypatch.chdir(tmp_path.parent)
    r = CliRunner().invoke(main, ["summary", f"{tmp_path.name}/x.yaml"])
    assert r.exit_code == 2
    assert f"data.options.path: {tmp_path.name}/nowhere.csv: no such file (looked for {tmp_path / 'nowhere.csv'}; " \
           f"a config's relative paths start from the config file's folder)" in r.stderr
