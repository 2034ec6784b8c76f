"""Config machinery: _base_ inheritance, merging, --set overrides, schema validation."""
import re

import pytest

from nnpy.errors import ConfigError
from nnpy.io.configfile import apply_overrides, load_config, merge
from nnpy.io.schema import Field, Section, apply_schema
from nnpy.io.yamlfile import Locator, dump_yaml, load_yaml

# A sample schema, shaped like the real one will be.
SCHEMA = Section({
    "model": Section({
        "hidden": Field(list, item=int, default=[128], doc="hidden layer sizes"),
        "activation": Field(str, default="relu", choices=["relu", "tanh", "sigmoid"]),
        "layers": Field(list, item=Section({"type": Field(str, required=True)}, open=True),
                        default=[]),
    }),
    "train": Section({
        "epochs": Field(int, default=10, check=lambda n: n > 0 or "must be positive"),
        "batch_size": Field(int, default=32),
        "seed": Field(int, default=0),
        "max_steps": Field(int, doc="null means no limit"),
        "shuffle": Field(bool, default=True),
    }),
    "optimizer": Section({"type": Field(str, required=True), "lr": Field(float, default=0.01)},
                         open=True, required=True),
    "scheduler": Section({"type": Field(str, required=True)}, open=True, nullable=True),
    "name": Field(str, default="run"),
    "tags": Field(dict, default={}),
})


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


# ---- inheritance ------------------------------------------------------------------------

def test_base_inheritance_merges_and_keeps_provenance(tmp_path):
    base = write(tmp_path, "base/mlp.yaml",
                 "model:\n  hidden: [256, 128]\n  activation: tanh\n"
                 "train:\n  epochs: 10\n  batch_size: 64\n"
                 "optimizer:\n  type: SGD\n  lr: 0.1\n  momentum: 0.9\n")
    child = write(tmp_path, "exp.yaml",
                  "_base_: base/mlp.yaml\nmodel:\n  hidden: [32]\ntrain:\n  epochs: 2\n")
    data, loc = load_config(child)
    assert data == {"model": {"hidden": [32], "activation": "tanh"},
                    "train": {"epochs": 2, "batch_size": 64},
                    "optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}}
    assert loc.where(("train", "epochs")) == f"{child}:5"
    assert loc.where(("train", "batch_size")) == f"{base}:6"
    assert loc.where(("model", "hidden", 0)) == f"{child}:3"      # lists are replaced
    assert loc.where(("optimizer", "momentum")) == f"{base}:10"
    assert loc.file == child


def test_list_of_bases_later_wins_and_recursion(tmp_path):
    write(tmp_path, "a.yaml", "x: 1\ny: {p: 1, q: 1}\n")
    write(tmp_path, "b.yaml", "_base_: a.yaml\ny: {q: 2}\nz: b\n")
    write(tmp_path, "c.yaml", "z: c\nw: c\n")
    top = write(tmp_path, "top.yaml", "_base_: [b.yaml, c.yaml]\nw: top\n")
    data, loc = load_config(top)
    assert data == {"x": 1, "y": {"p": 1, "q": 2}, "z": "c", "w": "top"}
    assert loc.where(("y", "q")).endswith("b.yaml:2")
    assert loc.where(("y", "p")).endswith("a.yaml:2")
    assert loc.where(("z",)).endswith("c.yaml:1")


def test_delete_replaces_instead_of_merging(tmp_path):
    write(tmp_path, "base.yaml", "optimizer: {type: SGD, lr: 0.1, momentum: 0.9}\n")
    child = write(tmp_path, "child.yaml",
                  "_base_: base.yaml\noptimizer:\n  _delete_: true\n  type: Adam\n")
    data, _ = load_config(child)
    assert data == {"optimizer": {"type": "Adam"}}
    alone = write(tmp_path, "alone.yaml", "a: {_delete_: false, b: [{_delete_: true, c: 1}]}\n")
    assert load_config(alone)[0] == {"a": {"b": [{"c": 1}]}}
    bad = write(tmp_path, "bad.yaml", "a: {_delete_: 3}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:1: a\._delete_: must be true or false"):
        load_config(bad)


def test_a_new_type_drops_the_old_types_options(tmp_path):
    """A child (or --set) that changes a mapping's type (or a model's symbol) starts that mapping
    afresh: the base's options belonged to the old type. The same type, in any case, merges."""
    write(tmp_path, "base.yaml", "optimizer: {type: sgd, lr: 0.1, momentum: 0.9}\n"
                                 "model: {symbol: mlp, hidden: [8], dropout: 0.5}\nname: base\n")
    child = write(tmp_path, "child.yaml", "_base_: base.yaml\noptimizer: {type: adam, lr: 0.002}\n"
                                          "model: {symbol: lenet, widths: [4, 8]}\n")
    data, loc = load_config(child)
    assert data == {"optimizer": {"type": "adam", "lr": 0.002}, "model": {"symbol": "lenet", "widths": [4, 8]},
                    "name": "base"}
    assert loc.get(("optimizer", "momentum")) is None
    same = write(tmp_path, "same.yaml", "_base_: base.yaml\noptimizer: {type: SGD, lr: 0.5}\n")
    assert load_config(same)[0]["optimizer"] == {"type": "SGD", "lr": 0.5, "momentum": 0.9}

    base, loc = load_config(str(tmp_path / "base.yaml"))
    data = apply_overrides(base, ["optimizer.nesterov=true", "optimizer.type=adam", "optimizer.beta1=0.8"], loc)
    assert data["optimizer"] == {"type": "adam", "nesterov": True, "beta1": 0.8}   # --set keys are kept
    assert loc.get(("optimizer", "momentum")) is None and loc.get(("optimizer", "lr")) is None
    assert apply_overrides(base, ["optimizer.type=SGD"])["optimizer"] == {"type": "SGD", "lr": 0.1, "momentum": 0.9}
    assert apply_overrides(base, ["model.symbol=rnn"])["model"] == {"symbol": "rnn"}


def test_base_cycle_and_missing_base(tmp_path):
    write(tmp_path, "a.yaml", "_base_: b.yaml\nx: 1\n")
    write(tmp_path, "b.yaml", "_base_: a.yaml\ny: 1\n")
    with pytest.raises(ConfigError, match=r"b\.yaml:1: _base_: inheritance cycle: "
                                          r"a\.yaml -> b\.yaml -> a\.yaml"):
        load_config(tmp_path / "a.yaml")
    write(tmp_path, "self.yaml", "_base_: [self.yaml]\n")
    with pytest.raises(ConfigError, match="inheritance cycle"):
        load_config(tmp_path / "self.yaml")
    missing = write(tmp_path, "m.yaml", "x: 1\n_base_: nope.yaml\n")
    with pytest.raises(ConfigError, match=re.escape(f"{missing}:2: _base_: base file 'nope.yaml'")):
        load_config(missing)
    wrong = write(tmp_path, "w.yaml", "_base_: {a: 1}\n")
    with pytest.raises(ConfigError, match=r"w\.yaml:1: _base_: expected a file name"):
        load_config(wrong)


def test_diamond_inheritance_loads_each_file_once(tmp_path):
    write(tmp_path, "d.yaml", "v: d\n")
    write(tmp_path, "l.yaml", "_base_: d.yaml\nl: 1\n")
    write(tmp_path, "r.yaml", "_base_: d.yaml\nr: 1\n")
    top = write(tmp_path, "t.yaml", "_base_: [l.yaml, r.yaml]\n")
    assert load_config(top)[0] == {"v": "d", "l": 1, "r": 1}


def test_long_base_chains_are_refused(tmp_path):
    for i in range(40):
        write(tmp_path, f"c{i}.yaml", f"_base_: c{i + 1}.yaml\nk{i}: {i}\n")
    write(tmp_path, "c40.yaml", "end: true\n")
    with pytest.raises(ConfigError, match=r"more than 32 files in the _base_ tree"):
        load_config(tmp_path / "c0.yaml")
    assert load_config(tmp_path / "c20.yaml")[0]["end"] is True


def test_merge_does_not_modify_inputs():
    base = {"a": {"b": [1, 2], "c": 1}}
    child = {"a": {"b": [3]}}
    data, _ = merge(base, Locator("b"), child, Locator("c"))
    assert data == {"a": {"b": [3], "c": 1}}
    assert base == {"a": {"b": [1, 2], "c": 1}} and child == {"a": {"b": [3]}}


# ---- overrides --------------------------------------------------------------------------

def test_overrides_parse_yaml_values_and_record_provenance(tmp_path):
    path = write(tmp_path, "c.yaml", "optimizer: {type: SGD, lr: 0.1}\ntrain: {epochs: 10}\n"
                                     "model:\n  layers:\n    - {type: Dense, units: 8}\n")
    data, loc = load_config(path)
    out = apply_overrides(data, ["optimizer.lr=1e-3", "train.epochs = 3", "model.hidden=[256,128]",
                                 "model.layers.0.units=64", "name=my run", "train.max_steps=null",
                                 "scheduler.type=Cosine"], loc)
    assert out["optimizer"]["lr"] == 0.001 and out["train"]["epochs"] == 3
    assert out["model"]["hidden"] == [256, 128] and out["model"]["layers"][0]["units"] == 64
    assert out["name"] == "my run" and out["train"]["max_steps"] is None
    assert out["scheduler"] == {"type": "Cosine"}
    assert data["optimizer"]["lr"] == 0.1                       # input untouched
    assert loc.where(("optimizer", "lr")) == "--set optimizer.lr=1e-3"
    assert loc.where(("model", "hidden", 1)) == "--set model.hidden=[256,128]"
    assert loc.where(("optimizer", "type")) == f"{path}:1"
    with pytest.raises(ConfigError, match=r"^--set train\.epochs=0: train\.epochs: must be "
                                          r"positive \(got 0\)$"):
        apply_schema(apply_overrides(data, ["train.epochs=0"], loc), SCHEMA, loc)


@pytest.mark.parametrize("override, message", [
    ("optimizer.lr", r"^--set optimizer\.lr: an override must look like key\.path=value"),
    ("optimizer..lr=1", r"^--set optimizer\.\.lr=1: the key 'optimizer\.\.lr' has an empty part"),
    ("=1", r"has an empty part"),
    ("train.epochs.x=1", r"^--set train\.epochs\.x=1: cannot set 'x' inside train\.epochs"),
    ("model.layers.5.units=1", r"model\.layers is a list of 1 items; '5' is not an index"),
    ("optimizer.lr=[1,", r"^--set optimizer\.lr=\[1,: invalid YAML"),
    ("optimizer.lr=!!python/object:os.system 1", r"unsupported YAML tag"),
])
def test_bad_overrides(override, message):
    data = {"optimizer": {"type": "SGD"}, "train": {"epochs": 3}, "model": {"layers": [{}]}}
    with pytest.raises(ConfigError, match=message):
        apply_overrides(data, [override], Locator("c.yaml"))


def test_unknown_override_key_is_caught_by_validation():
    loc = Locator("c.yaml")
    data = apply_overrides({"optimizer": {"type": "SGD"}}, ["train.epoch=3"], loc)
    with pytest.raises(ConfigError, match=r"^--set train\.epoch=3: train: unknown key 'epoch' "
                                          r"\(did you mean 'epochs'\?\); valid keys: epochs,"):
        apply_schema(data, SCHEMA, loc)


# ---- validation -------------------------------------------------------------------------

def validate_text(tmp_path, text):
    path = write(tmp_path, "c.yaml", text)
    data, loc = load_config(path)
    return apply_schema(data, SCHEMA, loc), path


def test_defaults_are_filled_and_open_sections_keep_extra_keys(tmp_path):
    cfg, _ = validate_text(tmp_path, "optimizer: {type: Adam, beta1: 0.8, lr: 1}\n")
    assert cfg["optimizer"] == {"type": "Adam", "lr": 1.0, "beta1": 0.8}
    assert isinstance(cfg["optimizer"]["lr"], float)
    assert cfg["train"] == {"epochs": 10, "batch_size": 32, "seed": 0, "max_steps": None,
                            "shuffle": True}
    assert cfg["model"] == {"hidden": [128], "activation": "relu", "layers": []}
    assert cfg["scheduler"] is None and cfg["tags"] == {}
    cfg["model"]["hidden"].append(1)                     # defaults are copies
    assert SCHEMA.fields["model"].fields["hidden"].default == [128]


VALIDATION_ERRORS = [
    ("optimzer: {type: SGD}\n",
     r"c\.yaml:1: unknown key 'optimzer' \(did you mean 'optimizer'\?\); valid keys: model, "
     r"train, optimizer, scheduler, name, tags$"),
    ("optimizer: {type: SGD}\ntrain:\n  epochs: ten\n",
     r"c\.yaml:3: train\.epochs: expected an integer, got 'ten' \(str\)$"),
    ("optimizer: {type: SGD}\ntrain:\n  epochs: true\n",
     r"c\.yaml:3: train\.epochs: expected an integer, got True \(bool\)"),
    ("optimizer: {type: SGD}\ntrain:\n  epochs: 2.5\n",
     r"c\.yaml:3: train\.epochs: expected an integer, got 2\.5 \(float\)"),
    ("optimizer: {type: SGD}\ntrain:\n  epochs: null\n",
     r"c\.yaml:3: train\.epochs: expected an integer, got null"),
    ("optimizer: {type: SGD}\ntrain:\n  epochs: 0\n",
     r"c\.yaml:3: train\.epochs: must be positive \(got 0\)"),
    ("optimizer: {type: SGD, lr: fast}\n",
     r"c\.yaml:1: optimizer\.lr: expected a number, got 'fast' \(str\)"),
    ("optimizer: {type: SGD, lr: 1e999999}\n", None),
    ("optimizer: {type: SGD}\nmodel: {activation: rleu}\n",
     r"c\.yaml:2: model\.activation: 'rleu' is not one of: relu, tanh, sigmoid "
     r"\(did you mean 'relu'\?\)"),
    ("optimizer: {type: SGD}\nmodel:\n  hidden: [1, two]\n",
     r"c\.yaml:3: model\.hidden\[1\]: expected an integer, got 'two'"),
    ("optimizer: {type: SGD}\nmodel:\n  layers:\n    - {units: 3}\n",
     r"c\.yaml:4: model\.layers\[0\]: missing required key 'type'"),
    ("train: {epochs: 3}\n", r"c\.yaml: missing required key 'optimizer'$"),
    ("optimizer: {lr: 0.1}\n", r"c\.yaml:1: optimizer: missing required key 'type'"),
    ("optimizer: SGD\n", r"c\.yaml:1: optimizer: expected a mapping, got 'SGD' \(str\)"),
    ("optimizer: {type: SGD}\nscheduler: {warmup: 3}\n",
     r"c\.yaml:2: scheduler: missing required key 'type'"),
    ("optimizer: {type: SGD}\ntrain: {epoch: 3}\n",
     r"c\.yaml:2: train: unknown key 'epoch' \(did you mean 'epochs'\?\)"),
    ("optimizer: {type: SGD}\nname: 3\n", r"c\.yaml:2: name: expected a string, got 3 \(int\)"),
    ("optimizer: {type: SGD}\n1: x\n", r"c\.yaml:2: unknown key 1; valid keys"),
    ("optimizer: {type: SGD, lr: %s}\n" % ("9" * 400),
     r"c\.yaml:1: optimizer\.lr: 9999.* is too large for a float"),
]


@pytest.mark.parametrize("text, message", VALIDATION_ERRORS,
                         ids=[f"{i}-{t[:30]}" for i, (t, _) in enumerate(VALIDATION_ERRORS)])
def test_validation_errors_name_file_line_and_key(tmp_path, text, message):
    if message is None:          # 1e999999 is inf, a valid float
        assert validate_text(tmp_path, text)[0]["optimizer"]["lr"] == float("inf")
        return
    with pytest.raises(ConfigError) as info:
        validate_text(tmp_path, text)
    path = str(tmp_path / "c.yaml")
    assert re.search(message.replace(r"c\.yaml", re.escape(path)), str(info.value)), \
        str(info.value)
    assert "\n" not in str(info.value)


def test_check_may_raise_and_types_may_be_tuples():
    def positive(x):
        if x <= 0:
            raise ValueError("must be > 0")
    schema = Section({"a": Field((int, str), default=1), "b": Field(float, check=positive,
                                                                   default=1.0),
                      "c": Field(int, default=5, nullable=True), "d": Field(object)})
    loc = Locator("s.yaml")
    assert apply_schema({"a": "x", "c": None, "d": [1]}, schema, loc) == \
        {"a": "x", "b": 1.0, "c": None, "d": [1]}
    assert apply_schema({"a": 2}, schema, loc)["a"] == 2
    with pytest.raises(ConfigError, match=r"^s\.yaml: b: must be > 0 \(got -1\.0\)$"):
        apply_schema({"b": -1}, schema, loc)
    with pytest.raises(ConfigError, match="expected an integer or a string, got 1.5"):
        apply_schema({"a": 1.5}, schema, loc)


def test_load_config_in_one_call(tmp_path):
    write(tmp_path, "base.yaml", "optimizer: {type: SGD, lr: 0.1}\n")
    path = write(tmp_path, "c.yaml", "_base_: base.yaml\ntrain: {epochs: 4}\n")
    cfg, loc = load_config(path, ["optimizer.lr=0.2"], SCHEMA)
    assert cfg["optimizer"] == {"type": "SGD", "lr": 0.2} and cfg["train"]["epochs"] == 4
    assert cfg["train"]["batch_size"] == 32
    with pytest.raises(ConfigError, match=r"c\.yaml:2: train\.epochs: bad"):
        raise loc.error(("train", "epochs"), "bad")


def test_resolved_config_round_trips_through_dump(tmp_path):
    cfg, _ = validate_text(tmp_path, "optimizer: {type: SGD}\nname: '1e-3'\ntags: {on: yes}\n")
    path = write(tmp_path, "dumped.yaml", dump_yaml(cfg))
    again, loc = load_yaml(path)
    assert again == cfg and apply_schema(again, SCHEMA, loc) == cfg
    assert list(again) == list(cfg)
