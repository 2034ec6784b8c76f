"""Fuzzing a real experiment config through ``load_experiment`` and the real schema.

A mutated file either gives a one-line ``ConfigError`` naming the file (or the ``--set``), or a
config that (1) holds no key the schema does not declare, (2) has every value the file wrote,
unchanged, and (3) reads back equal after ``dump_yaml`` — what was loaded is what was written.
"""
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from nnpy.engine.experiment_config import SCHEMA, load_experiment
from nnpy.errors import ConfigError
from nnpy.io.configfile import load_config
from nnpy.io.schema import Section
from nnpy.io.yamlfile import dump_yaml


VALID = """\
name: fuzz
seed: 3
model:
  layers:
    - type: Dense
      units: 8
    - &act {type: Tanh}
    - type: Dense
      units: 2
data:
  dataset: parity
  options:
    bits: 6
  val_split: 0.25
  batch_size: 16
  shuffle: false
  drop_last: true
  normalize:
    mean: 0.5
    std: 0.5
loss: cross_entropy
optimizer:
  type: sgd
  lr: 0.1
  momentum: 0.9
scheduler:
  type: step
  step_size: 2
  gamma: 0.5
train:
  epochs: 3
  metric: accuracy
  early_stopping:
    monitor: val_loss
    patience: 2
checkpoint:
  save_last: true
  save_best: false
log:
  dir: runs
"""
#: values and keys put into the config (YAML syntax itself is fuzzed in tests/io/test_config_fuzz.py)
VALUES = ["null", "~", "true", "0", "-1", "3.5", "1e999", "'x'", "[1, 2]", "{a: 1}", "adam", "val_acc", "mnistt",
          "[]", "{}"]
KEYS = ["batchsize", "bogus", "epochs", "lr", "val_split", "monitor", "type", "dataset", "units", "_delete_",
        "layers", "options", "seed"]
OVERRIDES = ["train.epochs=5", "data.batch_size=8", "optimizer.lr=0.5", "data.batchsize=8",
             "scheduler=null", "train.early_stopping=null", "model.layers.0.units=3", "log.dir=other"]


def mutate(rng: random.Random, text: str) -> str:
    """One or two line-level changes that keep the text YAML most of the time."""
    lines = text.splitlines()
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(lines))
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip(" -"))]
        op = rng.randrange(6)
        if op == 0:                                            # another value
            lines[i] = lines[i].split(":")[0] + ": " + rng.choice(VALUES) if ":" in lines[i] else lines[i]
        elif op == 1:                                          # a key that may or may not belong there
            lines.insert(i, f"{indent}{rng.choice(KEYS)}: {rng.choice(VALUES)}")
        elif op == 2:
            del lines[i]
        elif op == 3:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        elif op == 4:                                          # indent or dedent
            lines[i] = "  " + lines[i] if rng.random() < 0.5 else lines[i][2:]
        else:
            lines = lines[:i + 1]
    return "\n".join(lines) + "\n"


#: the one section whose keys depend on what it builds (checked by the registries instead)
OPEN = [("model",)]


def undeclared_keys(cfg, section: Section, path=()):
    """Key paths in ``cfg`` that the schema does not declare, outside ``OPEN`` (whatever the
    schema's own ``open`` flags say: a section opened by mistake must not pass)."""
    found = []
    if not isinstance(cfg, dict) or path in OPEN:
        return found
    for key, value in cfg.items():
        if key not in section.fields:
            found.append(path + (key,))
        elif isinstance(section.fields[key], Section):
            found += undeclared_keys(value, section.fields[key], path + (key,))
    return found


def differences(written, loaded, path=()):
    """Key paths where ``loaded`` lacks or changed a value of ``written`` (None: filled in by nnpy)."""
    if isinstance(written, dict) and isinstance(loaded, dict):
        return [d for k, v in written.items()
                for d in (differences(v, loaded[k], path + (k,)) if k in loaded else [path + (k,)])]
    if written is None or written == loaded:
        return []
    return [path]


def check(folder, text: str, overrides=()) -> str:
    """Load ``text`` as c.yaml with ``overrides``; "ok" or the error. Fails on any broken promise."""
    path = folder / "c.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        cfg, _ = load_experiment(path, overrides)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert str(path) in message or message.startswith("--set "), message
        return message
    assert not undeclared_keys(cfg, SCHEMA), undeclared_keys(cfg, SCHEMA)
    written, _ = load_config(path, overrides)
    assert not differences(written, cfg), differences(written, cfg)
    again = folder / "again.yaml"
    again.write_text(dump_yaml(cfg))
    assert load_experiment(again)[0] == cfg
    return "ok"


def test_the_valid_config_loads_as_written(tmp_path):
    assert check(tmp_path, VALID) == "ok"
    assert check(tmp_path, VALID, ["train.epochs=5", "scheduler=null"]) == "ok"
    assert "batchsize" in check(tmp_path, VALID, ["data.batchsize=8"])


def test_seeded_mutations(tmp_path):
    """300 random mutations of a real config (with overrides): refused in one line, or loaded as written."""
    rng = random.Random(19)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(300):
        overrides = rng.sample(OVERRIDES, rng.randint(0, 2))
        outcome = check(tmp_path, mutate(rng, VALID), overrides)
        outcomes["ok" if outcome == "ok" else "refused"] += 1
    assert outcomes["ok"] > 25 and outcomes["refused"] > 100, outcomes


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.integers(0, VALID.count("\n")), key=st.sampled_from(KEYS), value=st.sampled_from(VALUES),
       overrides=st.lists(st.sampled_from(OVERRIDES), max_size=2))
def test_one_key_added_anywhere(tmp_path, line, key, value, overrides):
    lines = VALID.splitlines()
    indent = " " * (len(lines[line]) - len(lines[line].lstrip(" ")) if line < len(lines) else 0)
    lines.insert(line, f"{indent}{key}: {value}")
    check(tmp_path, "\n".join(lines) + "\n", overrides)


@pytest.mark.parametrize("override", ["data=3", "train=[1]", "model.layers=7", "data.options=[]",
                                      "train.early_stopping.patience=x", "checkpoint.monitor=3"])
def test_wrong_shapes_of_sections(tmp_path, override):
    assert check(tmp_path, VALID, [override]) != "ok"
