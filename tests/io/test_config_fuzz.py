"""Fuzzing the config pipeline: load -> _base_ merge -> --set overrides -> validate.

Whatever the bytes, the pipeline returns a valid dict or raises a one-line ConfigError that
names the file (or the --set override) -- never another exception, never a hang.
"""
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from nnpy.errors import ConfigError
from nnpy.io.configfile import apply_overrides, load_config
from nnpy.io.schema import apply_schema as validate
from nnpy.io.yamlfile import dump_yaml

from .test_config import SCHEMA

FIXTURE = HealthCheck.function_scoped_fixture   # tmp_path is reused across examples on purpose

VALID = """\
_base_: base.yaml
model:
  hidden: [256, 128]
  activation: tanh
  layers:
    - {type: Dense, units: 16}
    - &act {type: ReLU}
    - *act
train:
  epochs: 3
  batch_size: 64
  max_steps: null
optimizer:
  type: SGD
  lr: 1e-3
  momentum: 0.9
tags:
  owner: "me"
  <<: {team: nnpy}
"""
BASE = "optimizer: {type: Adam, lr: 0.1}\ntrain: {seed: 7}\nname: base\n"

TOKENS = [":", ": ", "-", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "*act",
          "!!python/object:os.system ", "!!python/object/apply:os.system [ls]", "!!binary ",
          "!!int ", "!!float ", "!custom ",
          "<<: ", "\n", "  ", "\t", "#", "'", '"', "_base_: c.yaml\n", "_base_: [base.yaml, x]\n",
          "_delete_: true", "1e999", "9" * 5000, "-.inf", ".nan", "0x" + "f" * 50, "~", "? ",
          "---\n", "...\n", "%YAML 1.1\n", "\x00", "\x85", "\ufeff", "\u2028", "é", "epochz: 1\n",
          "optimizer:\n", "train.epochs", "yes", "2024-01-01", "1:30"]

OVERRIDES = ["train.epochs=5", "optimizer.lr=0.5", "model.hidden=[1,2]", "name=x",
             "model.layers.0.units=3", "train.epochs=ten", "train=3", "optimizer.lr", "a..b=1",
             "model.layers.9.x=1", "train.epochs.x=1", "scheduler={type: Step}", "tags.k=[1,",
             "x=" + "[" * 200, "y=*a", "z=!!python/name:os.system"]


def alias_bomb(levels=9, width=10):
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


SPECIAL = [
    alias_bomb(), "a: " + "[" * 50_000, "a: " + "{b: " * 500 + "1" + "}" * 500,
    "optimizer: {type: SGD, lr: " + "9" * 100_000 + "}\n", "optimizer: {type: SGD, lr: 1e400}\n",
    "x: !!python/object/new:os.system [echo hi]\n", "x: !!python/name:os.system\n",
    "a: &a {b: *a}\n", "a: &a [*a]\n", "optimizer: {type: SGD}\n" * 3, "- 1\n", "", "\ufeff",
    "key: " + "- " * 10_000 + "x\n", "a: |\n" + "  x\n" * 1000, "{" * 1000 + "}" * 1000,
]


def run_pipeline(folder, raw: bytes, overrides=()):
    """The pipeline under test; returns the validated config or raises ConfigError."""
    (folder / "base.yaml").write_text(BASE)
    path = folder / "c.yaml"
    path.write_bytes(raw)
    data, loc = load_config(path)
    data = apply_overrides(data, overrides, loc)
    return validate(data, SCHEMA, loc)


def check(folder, raw: bytes, overrides=()):
    """Run the pipeline on ``raw``; return "ok" or the ConfigError's message."""
    start = time.perf_counter()
    try:
        cfg = run_pipeline(folder, raw, overrides)
    except ConfigError as exc:
        outcome = str(exc)
        assert "\n" not in outcome, outcome
        assert str(folder) in outcome or outcome.startswith("--set "), outcome
    else:
        assert isinstance(cfg, dict) and cfg["optimizer"]["type"]
        dump_yaml(cfg)
        outcome = "ok"
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"{elapsed:.1f}s for {raw[:80]!r}"
    return outcome


def mutate(rng: random.Random, text: str, tokens=TOKENS) -> str:
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(text))
        if op == 0:                                   # truncate
            text = text[:pos]
        elif op == 1:                                 # insert a YAML-ish token
            text = text[:pos] + rng.choice(tokens) + text[pos:]
        elif op == 2:                                 # delete a span
            text = text[:pos] + text[pos + rng.randint(1, 20):]
        elif op == 3 and text:                        # replace one character
            text = text[:pos] + chr(rng.choice([rng.randrange(32, 127), rng.randrange(0x110000)]))\
                + text[pos + 1:]
        elif op == 4:                                 # duplicate or move a line
            lines = text.splitlines(keepends=True) or [""]
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines.insert(j, lines[i] if rng.random() < 0.5 else lines.pop(i))
            text = "".join(lines)
        else:                                         # indent or dedent a line
            lines = text.splitlines(keepends=True) or [""]
            i = rng.randrange(len(lines))
            lines[i] = ("  " + lines[i]) if rng.random() < 0.5 else lines[i].lstrip(" ")
            text = "".join(lines)
    return text


def test_valid_config_passes(tmp_path):
    cfg = run_pipeline(tmp_path, VALID.encode(), ["train.epochs=5"])
    assert cfg["optimizer"] == {"type": "SGD", "lr": 0.001, "momentum": 0.9}
    assert cfg["train"]["seed"] == 7 and cfg["train"]["epochs"] == 5 and cfg["name"] == "base"
    assert cfg["model"]["layers"] == [{"type": "Dense", "units": 16}, {"type": "ReLU"},
                                      {"type": "ReLU"}]
    assert cfg["tags"] == {"owner": "me", "team": "nnpy"}


@pytest.mark.parametrize("index", range(len(SPECIAL)))
def test_special_inputs(tmp_path, index):
    check(tmp_path, SPECIAL[index].encode("utf-8", "surrogatepass"))


def test_seeded_mutations(tmp_path):
    """1000 random mutations of a valid config (plus random overrides), a few seconds."""
    rng = random.Random(1234)
    ok = 0
    for _ in range(1000):
        raw = mutate(rng, VALID).encode("utf-8", "surrogatepass")
        overrides = rng.sample(OVERRIDES[:5], 1) if rng.random() < 0.7 else \
            rng.sample(OVERRIDES, rng.randint(1, 2))
        ok += check(tmp_path, raw, overrides) == "ok"
    assert 50 < ok < 950, ok     # both outcomes exercised


@settings(max_examples=200, deadline=None, suppress_health_check=[FIXTURE])
@given(raw=st.binary(max_size=300))
def test_random_bytes(tmp_path, raw):
    check(tmp_path, raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[FIXTURE])
@given(text=st.text(max_size=200))
def test_random_unicode(tmp_path, text):
    check(tmp_path, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=150, deadline=None, suppress_health_check=[FIXTURE])
@given(cut=st.integers(0, len(VALID)), token=st.sampled_from(TOKENS),
       overrides=st.lists(st.sampled_from(OVERRIDES) | st.text(max_size=30), max_size=3))
def test_truncations_with_tokens_and_overrides(tmp_path, cut, token, overrides):
    check(tmp_path, (VALID[:cut] + token).encode("utf-8", "surrogatepass"), overrides)
