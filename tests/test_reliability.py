"""What nnpy guarantees when runs are interrupted, diverge or cannot save.

This file holds the training-loop cases; the other promises of the README's "What nnpy
guarantees" are tested beside the code they concern:

- checkpoints: format, version, SHA-256, dtype allow-list, shapes, byte lengths, huge shapes,
  deep nesting, truncation, bit flips, atomic writes (disk full, failed fsync, read-only
  folder, Ctrl-C mid-write) -> tests/io/test_checkpoint.py; fuzzing -> tests/io/test_checkpoint_fuzz.py
- configs: safe loader, refused tags, alias bombs, size and depth limits, unknown keys ->
  tests/io/test_yamlfile.py, tests/io/test_config.py; fuzzing -> tests/io/test_config_fuzz.py;
  exit code 2 with one line -> tests/test_cli.py
- demo images: zero-byte, not an image, truncated, animated GIF/APNG, CMYK, 16-bit, 1x1, blank,
  decompression bombs -> tests/data/test_images.py; the other files still processed, exit 1
  -> tests/test_cli.py::test_train_val_and_resume_are_exact
"""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnpy.io.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "mlp.yaml"
SMALL = ["data.limit=1000", "data.val_split=200", "data.batch_size=20", "model.hidden=[32]",
         "train.epochs=2"]

# A training run in a subprocess that sends itself a real signal at a chosen global step.
SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from nnpy.engine.plan import load_plan
    from nnpy.engine.run import train
    from nnpy.engine.callbacks import Callback

    class SignalAt(Callback):
        def __init__(self, step, sig):
            self.step, self.sig = step, sig
        def on_batch_end(self, trainer):
            if trainer.state.global_step == self.step:
                os.kill(os.getpid(), self.sig)

    step, sig, resume = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] or None
    plan = load_plan(sys.argv[4], sys.argv[5:])
    result = train(plan, resume=resume, command="nnpy train --config x", callbacks=[SignalAt(step, sig)])
    sys.exit(result.state.exit_code)
""")


def run_script(tmp_path, step, sig, resume, overrides):
    args = [sys.executable, "-c", SCRIPT, str(step), str(int(sig)), resume or "", str(CONFIG), *overrides]
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_mid_epoch_then_resume_is_bit_identical(tmp_path, sig, code):
    straight = run_script(tmp_path, -1, sig, None, SMALL + ["checkpoint.dir=straight"])
    assert straight.returncode == 0, straight.stderr
    # 40 steps per epoch: interrupt at step 57, in the middle of the second epoch
    cut = run_script(tmp_path, 57, sig, None, SMALL + ["checkpoint.dir=cut"])
    assert cut.returncode == code, cut.stdout + cut.stderr
    assert "--resume cut/last.json" in cut.stdout
    assert "saved cut/last.json (epoch 2, batch 17/40)" in cut.stdout      # one numbering for both
    state = load_checkpoint(tmp_path / "cut" / "last.json")["state"]
    assert (state["epoch"], state["batch"]) == (1, 17)
    resumed = run_script(tmp_path, -1, sig, str(tmp_path / "cut" / "last.json"), SMALL + ["checkpoint.dir=cut"])
    assert resumed.returncode == 0, resumed.stderr
    assert "last.json: epoch 2, batch 17/40" in resumed.stdout
    a = load_checkpoint(tmp_path / "straight" / "last.json")
    b = load_checkpoint(tmp_path / "cut" / "last.json")
    for key in a["model"]:
        assert np.array_equal(a["model"][key], b["model"][key]), key
    for key in a["optimizer"]["state"]:
        for slot in a["optimizer"]["state"][key]:
            assert np.array_equal(a["optimizer"]["state"][key][slot], b["optimizer"]["state"][key][slot])
    assert a["state"]["best_value"] == b["state"]["best_value"]
    # the epoch cut in two reports the same training loss and accuracy as the straight one
    logged = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
    assert [{k: h[k] for k in logged} for h in a["state"]["history"]] == \
           [{k: h[k] for k in logged} for h in b["state"]["history"]]


def cli(*args):
    from click.testing import CliRunner
    from nnpy.cli import main
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def sets(overrides):
    return [a for o in overrides for a in ("--set", o)]


def test_divergence_stops_at_once_naming_epoch_step_and_layer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = SMALL[:-1] + ["train.epochs=1", "checkpoint.dir=ck", "scheduler=null"]
    assert cli("train", "--config", CONFIG, *sets(base)).exit_code == 0
    before = (tmp_path / "ck" / "last.json").read_bytes()
    best_before = (tmp_path / "ck" / "best.json").read_bytes()
    r = cli("train", "--config", CONFIG, *sets(SMALL[:-1] + ["train.epochs=2", "checkpoint.dir=ck",
                                                               "scheduler=null", "optimizer.lr=1e30"]),
            "--resume", "ck/last.json", "--allow-change", "train.epochs", "--allow-change", "optimizer.lr")
    assert r.exit_code == 2
    message = r.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "epoch 2, step" in message and "not finite" in message
    assert "layer '" in message or "gradient of '" in message
    assert (tmp_path / "ck" / "last.json").read_bytes() == before       # the last good checkpoint
    assert (tmp_path / "ck" / "best.json").read_bytes() == best_before


def test_failed_checkpoint_write_keeps_the_previous_one_and_stops(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = SMALL[:-1] + ["checkpoint.dir=ck", "scheduler=null"]
    assert cli("train", "--config", CONFIG, *sets(base + ["train.epochs=1"])).exit_code == 0
    before = (tmp_path / "ck" / "last.json").read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    r = cli("train", "--config", CONFIG, *sets(base + ["train.epochs=3"]), "--resume", "ck/last.json",
            "--allow-change", "train.epochs")
    assert r.exit_code == 2
    assert "last.json" in r.stderr and "No space left" in r.stderr
    assert "epoch 3/3" not in r.output  # training did not go on without saving
    monkeypatch.undo()
    assert (tmp_path / "ck" / "last.json").read_bytes() == before
    assert not [p for p in (tmp_path / "ck").iterdir() if p.name not in ("last.json", "best.json")]


def test_non_finite_gradient_under_a_finite_loss_stops_before_the_update():
    """A layer whose backward overflows: the loss is finite, the gradient is not; the run stops
    at the first step, naming the parameter, and no weight is changed."""
    import nnpy
    from nnpy.engine.trainer import NonFiniteError

    class Overflow(nnpy.Layer):
        """Identity forward; backward scales by 1e300 (inf in float32)."""

        def forward(self, x, training=False):
            return x

        def backward(self, grad_y):
            return grad_y * np.float32(1e30) * np.float32(1e30)

    model = nnpy.Sequential([nnpy.layers.Dense(4), Overflow(), nnpy.layers.Dense(2)], seed=0)
    model.compile(optimizer={"type": "sgd", "lr": 0.1}, loss="cross_entropy")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    model.build(x.shape[1:])
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with np.errstate(over="ignore"), pytest.raises(NonFiniteError, match=r"step 1: the gradient of 'dense_1\.W'"):
        model.fit(x, np.arange(8) % 2, epochs=1, batch_size=8, verbose=0)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
