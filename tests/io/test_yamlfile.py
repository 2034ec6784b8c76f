"""YAML reading: safe types, YAML 1.2 scalars, provenance, limits; and dumping."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from nnpy.errors import ConfigError
from nnpy.io.yamlfile import (MAX_BYTES, Locator, dump_yaml, format_keypath,
                              load_yaml, parse_yaml)


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def parse(text):
    return parse_yaml(text, "c.yaml")[0]


@pytest.mark.parametrize("text, value", [
    ("1e-3", 0.001), ("-2.5E+4", -25000.0), ("0.5", 0.5), (".5", 0.5), ("1.", 1.0),
    ("12", 12), ("-3", -3), ("1_000", 1000), ("0x1F", 31), ("0o17", 15), ("0b101", 5),
    ("012", 12), ("true", True), ("False", False), ("~", None), ("null", None), ("", None),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("1:30", "1:30"), ("2024-01-01", "2024-01-01"),
    ("'12'", "12"), ('"true"', "true"), ("!!str 12", "12"), ("!!float 3", 3.0),
    ("!!int '7'", 7), ("relu", "relu"),
])
def test_scalars_follow_yaml_1_2(text, value):
    got = parse(f"v: {text}")["v"]
    assert got == value and type(got) is type(value)


def test_special_floats():
    data = parse("a: .inf\nb: -.inf\nc: .nan\nd: 1e999")
    assert data["a"] == math.inf and data["b"] == -math.inf and math.isnan(data["c"])
    assert data["d"] == math.inf


def test_provenance_lines(tmp_path):
    path = write(tmp_path, "# comment\ntrain:\n  epochs: 3\n  lr: 0.1\nmodel:\n  layers:\n"
                           "    - {type: Dense, units: 4}\n    - {type: ReLU}\n")
    data, loc = load_yaml(path)
    assert loc.where(("train",)) == f"{path}:2"
    assert loc.where(("train", "lr")) == f"{path}:4"
    assert loc.where(("model", "layers", 1)) == f"{path}:8"
    assert loc.where(("model", "layers", 0, "units")) == f"{path}:7"
    assert loc.where(("train", "nope", "deeper")) == f"{path}:2"   # nearest parent
    assert loc.where(()) == path
    with pytest.raises(ConfigError, match=rf"^{path}:4: train\.lr: too big$"):
        raise loc.error(("train", "lr"), "too big")


def test_format_keypath():
    assert format_keypath(("model", "layers", 0, "units")) == "model.layers[0].units"
    assert format_keypath(()) == ""
    assert format_keypath(("a b",)) == "'a b'"


BAD_DOCUMENTS = [
    ("a: 1\nb: 2\na: 3\n", r"c\.yaml:3: duplicate key 'a' \(first defined on line 1\)"),
    ("- 1\n- 2\n", r"c\.yaml: the top level of a config must be a mapping, not a list"),
    ("# nothing\n", r"c\.yaml: the top level .* not an empty document"),
    ("a: !!python/object:os.system x\n", r"c\.yaml:1: unsupported YAML tag '!!python/object"),
    ("a: !!python/object/apply:os.system [ls]\n", r"c\.yaml:1: unsupported YAML tag"),
    ("a: !!binary aGk=\n", r"unsupported YAML tag '!!binary'"),
    ("a: !!timestamp 2020-01-01\n", r"unsupported YAML tag '!!timestamp'"),
    ("a: !!set {x}\n", r"unsupported YAML tag '!!set'"),
    ("a: !custom 1\n", r"unsupported YAML tag '!custom'"),
    ("a: !!int x\n", r"c\.yaml:1: 'x' is not a valid integer"),
    ("a: !!bool maybe\n", r"'maybe' is not a valid !!bool"),
    ("a: &x [1, *x]\n", r"c\.yaml:1: an alias refers to a list or mapping that contains it"),
    ("a: *nowhere\n", r"c\.yaml:1: invalid YAML: found undefined alias"),
    ("a: [1, 2\nb: 3\n", r"c\.yaml:\d+: invalid YAML: "),
    ("a: 1\n---\nb: 2\n", r"c\.yaml:\d+: invalid YAML: "),
    ("? [1, 2]\n: 3\n", r"c\.yaml:1: a mapping key must be a plain value"),
    ("a: " + "1" * 5000 + "\n", r"c\.yaml:1: .* is not a valid integer"),
    ("a: \x00\n", r"c\.yaml:1: invalid YAML: "),
]


@pytest.mark.parametrize("text, message", BAD_DOCUMENTS,
                         ids=[f"{i}-{t[:20]}" for i, (t, _) in enumerate(BAD_DOCUMENTS)])
def test_bad_documents(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace("c\\.yaml", path.replace(".", "\\."))):
        load_yaml(path)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_yaml(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * MAX_BYTES)
    with pytest.raises(ConfigError, match="larger than"):
        load_yaml(big)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml:2: not valid UTF-8"):
        load_yaml(bad)


def test_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(ConfigError, match="more than 100000 nodes once aliases are expanded"):
        parse("\n".join(lines))


def test_deep_nesting_is_refused():
    with pytest.raises(ConfigError, match="nested deeper than"):
        parse("a: " + "[" * 100_000)
    with pytest.raises(ConfigError, match="nested deeper than"):
        parse("a: " + "{b: " * 1000 + "1" + "}" * 1000)


def test_aliases_are_copies_and_merge_keys_work():
    data = parse("base: &b {lr: 0.1, momentum: 0.9}\n"
                 "opt:\n  <<: *b\n  lr: 0.5\n"
                 "two:\n  <<: [{x: 1}, {x: 2, y: 2}]\n"
                 "lst: &l [1, 2]\nlst2: *l\n")
    assert data["opt"] == {"lr": 0.5, "momentum": 0.9}
    assert data["two"] == {"x": 1, "y": 2}            # the first merge source wins
    assert data["lst"] == data["lst2"] and data["lst"] is not data["lst2"]
    with pytest.raises(ConfigError, match="merge key needs a mapping"):
        parse("a:\n  <<: 3\n")


def test_locator_error_is_one_line():
    loc = Locator("f.yaml", {("a",): "f.yaml:3"})
    err = loc.error(("a", "b"), "line one\nline two")
    assert "\n" not in str(err) and str(err).startswith("f.yaml:3: a.b: line one")


def test_dump_round_trip_of_tricky_strings():
    cfg = {"s": ["yes", "no", "on", "1e-3", "1:30", "012", "0x10", "null", "", "~", "true",
                 "2024-01-01", "=", "a: b", "- x", "#c", " lead", "multi\nline", "é"],
           "n": [0, -1, 1.5, 1e-05, 1e300, float("inf"), float("-inf"), True, None],
           "nested": {"a": [{"b": 1}], "empty": {}, "list": []}, "t": (1, 2)}
    back = parse(dump_yaml(cfg))
    cfg["t"] = [1, 2]
    assert back == cfg
    assert list(back) == ["s", "n", "nested", "t"]


scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=False) | st.text(max_size=20))
keys = st.text(min_size=1, max_size=10)
configs = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys, configs, max_size=5))
def test_dump_then_load_is_identity(cfg):
    assert parse(dump_yaml(cfg)) == cfg
