"""The character-level GPT end to end: the text dataset, runs measured in steps, weight decay on
matrices only, training from YAML, generation (cached = recomputed) and every bad input of
``nnpy generate`` / the text dataset as one line with exit code 2."""
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.data.loader import RandomBatchLoader
from nnpy.data.text import CharText, decode_chars
from nnpy.engine.generate import next_id, sample_ids
from nnpy.errors import DataError

REPO = Path(__file__).resolve().parents[1]
BABY = REPO / "configs" / "gpt-shakespeare-baby.yaml"
TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 30


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hamlet.txt").write_text(TEXT, encoding="utf-8")
    return tmp_path


def tiny_config(workdir, **train):
    """The baby recipe shrunk to seconds: a 2-block GPT of width 16 on hamlet.txt, 8-character windows."""
    cfg = yaml.safe_load(BABY.read_text())
    cfg["model"].update(n_layer=2, n_head=2, n_embd=16)
    cfg["data"].update(options={"path": str(workdir / "hamlet.txt"), "block_size": 8}, batch_size=4)
    cfg["train"].update({"steps": 6, "eval_every": 3, "eval_batches": 2, **train})
    cfg["scheduler"]["warmup"] = 2
    path = workdir / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_text_dataset_splits_by_position_and_keeps_the_vocabulary(workdir):
    source = CharText(path=workdir / "hamlet.txt", block_size=8)
    description, ds = source.describe(), source.load()
    vocabulary = description.encoding["vocabulary"]
    assert vocabulary == "".join(sorted(set(TEXT))) and description.outputs == len(vocabulary)
    cut = int(len(TEXT) * 0.9)
    assert ds.x_train.shape == (cut - 8, 8) and ds.x_test.shape == (len(TEXT) - cut - 8, 8)
    assert decode_chars(ds.x_train[5], vocabulary) == TEXT[5:13]
    assert decode_chars(ds.y_train[5], vocabulary) == TEXT[6:14]
    assert decode_chars(ds.x_test[0], vocabulary) == TEXT[cut:cut + 8]      # the last 10% validates


@pytest.mark.parametrize("content,message", [
    (b"abc\xff\xfedef" * 100, r"not UTF-8 text: byte 0xff at offset 3"),
    (b"", r"the file is empty"),
    (b"short text" * 10, r"100 characters are too few for block_size 64: the held-out last 10% \(10 characters\)"),
])
def test_bad_text_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        CharText(path=path).describe()


def test_bad_text_file_from_the_command_line(workdir):
    (workdir / "hamlet.txt").write_bytes(b"fine so far \x80 not")
    r = run("train", "--config", tiny_config(workdir))
    assert r.exit_code == 2
    assert "hamlet.txt: not UTF-8 text: byte 0x80 at offset 12" in r.output and "Traceback" not in r.output


def test_random_batches_are_nanogpt_windows_and_resumable():
    x, y = np.arange(100)[:, None] * 10, np.arange(100)[:, None]
    loader = RandomBatchLoader(x, y, batch_size=5, steps=4, seed=3)
    assert len(loader) == 4
    first = list(loader.batches(2))
    again = list(loader.batches(2, start=2))
    np.testing.assert_array_equal(first[2][0], again[0][0])                  # (round, step) decide a batch
    rows = np.random.default_rng([3, 2, 1]).integers(0, 100, 5)               # drawn with replacement
    np.testing.assert_array_equal(first[1][1][:, 0], rows)
    assert not np.array_equal(first[0][1], first[1][1])


def test_steps_become_rounds_and_a_bad_eval_every_is_named(workdir):
    cfg, _ = nnpy.engine.experiment_config.load_experiment(tiny_config(workdir))
    assert cfg["train"]["epochs"] == 2 and cfg["train"]["eval_every"] == 3
    r = run("train", "--config", tiny_config(workdir, eval_every=4))
    assert r.exit_code == 2 and "train.eval_every" in r.output and "4 must divide train.steps (6)" in r.output


def test_weight_decay_on_matrices_leaves_vectors_alone():
    model = nnpy.Sequential([{"type": "Dense", "units": 3}, {"type": "LayerNorm"}], seed=0)
    model.build((4,))
    before = {k: v.copy() for k, v in model.named_parameters().items()}
    for g in model.named_gradients().values():
        g.fill(0)
    opt = nnpy.optim.make_optimizer({"type": "adamw", "lr": 0.1, "weight_decay": 0.5,
                                     "weight_decay_on": "matrices"}, model)
    opt.step()
    after = model.named_parameters()
    np.testing.assert_allclose(after["dense_1.W"], before["dense_1.W"] * (1 - 0.05), rtol=1e-6)
    for key in ("dense_1.b", "layernorm_1.gamma", "layernorm_1.beta"):
        np.testing.assert_array_equal(after[key], before[key])


def test_train_then_generate_from_the_command_line(workdir):
    r = run("train", "--config", tiny_config(workdir))
    assert r.exit_code == 0, r.output
    assert "epoch 2/2" in r.output and "2 · 8 val" not in r.output
    ckpt = workdir / "checkpoints" / "gpt-shakespeare-baby" / "best.json"
    r = run("generate", "--ckpt", ckpt, "--prompt", "To be", "--tokens", 40, "--seed", 3)
    assert r.exit_code == 0, r.output
    text = r.output.rstrip("\n")
    assert text.startswith("To be") and len(text) == 45 and set(text) <= set(TEXT)
    assert run("generate", "--ckpt", ckpt, "--prompt", "To be", "--tokens", 40, "--seed", 3).output == r.output
    model = nnpy.load(ckpt)
    assert model.generate("To be", tokens=40, seed=3) == text[5:]


@pytest.mark.parametrize("args,message", [
    (["--prompt", "Zebra€"], "--prompt: 2 character(s) the model never saw: 'Z' '€'"),
    (["--tokens", "0"], "--tokens must be a whole number from 1 to 1,000,000, not 0"),
    (["--top-k", "99"], "--top-k must be from 1 to the vocabulary size"),
    (["--temperature", "0"], "--temperature must be positive"),
])
def test_bad_generate_options_are_one_line(workdir, args, message):
    assert run("train", "--config", tiny_config(workdir, steps=3, eval_every=3)).exit_code == 0
    r = run("generate", "--ckpt", workdir / "checkpoints" / "gpt-shakespeare-baby" / "last.json", *args)
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_generate_refuses_a_model_that_is_not_a_text_model():
    r = run("generate", "--ckpt", REPO / "data" / "trained_models" / "mnist.json")
    assert r.exit_code == 2 and "not a text model" in r.output


def test_cached_generation_equals_recomputing_the_window():
    """sample_ids (one position per character, the cache restarting from half a window when the
    position table is full) draws exactly what recomputing the whole context each time draws."""
    from tests.nn.test_transformer import small_gpt
    model = small_gpt(vocab=11, block=6)
    prompt = np.array([1, 2, 3, 4])
    cached = list(sample_ids(model, prompt, 20, temperature=0.9, top_k=5, seed=7))
    rng, context, expected = np.random.default_rng(7), list(prompt), []
    for _ in range(20):
        new = next_id(model.forward(np.array([context]))[0, -1], 0.9, 5, rng)
        expected.append(new)
        context.append(new)
        if len(context) > 6:
            context = context[-3:]
    assert cached == expected


def test_val_of_a_text_model_evaluates_the_validation_batches(workdir):
    """nnpy val on a text model: the run's eval_batches of held-out windows (every window of a
    1 MB text would take minutes), the loss the run logged last."""
    assert run("train", "--config", tiny_config(workdir)).exit_code == 0
    r = run("val", "--ckpt", workdir / "checkpoints" / "gpt-shakespeare-baby" / "last.json", "--json")
    assert r.exit_code == 0, r.output
    import json
    result = json.loads(r.output)
    logged = (workdir / "runs").rglob("metrics.csv").__next__().read_text().strip().splitlines()[-1].split(",")
    assert result["n"] == 2 * 4 and result["loss"] == pytest.approx(float(logged[4]), rel=1e-5)
