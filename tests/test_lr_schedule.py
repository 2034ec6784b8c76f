"""The learning rate every optimizer step actually applies, in real runs (``nnpy train``, a resumed
run, the Python API), against the schedule's formula written out here.

A registered optimizer (``recording_sgd``: plain SGD) records at each ``step()`` its ``lr`` and
the learning rate implied by the update it made, -Σ Δp·g / Σ g·g. Comparing with the formula,
not with another run, catches a bug that the CLI, the API and a resumed run would all share
(e.g. the scheduler stepped before the optimizer: warm-up one step late, the last step at lr 0).
"""
import csv
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.optim.optimizers import SGD
from nnpy.registry import OPTIMIZERS, _norm

BASE_LR = 0.2
SAMPLES, BATCH = 16, 4                 # parity of 4 bits: 16 patterns, 4 steps per epoch
STEPS_PER_EPOCH = SAMPLES // BATCH
CONFIG = f"""\
name: lr
seed: 3
model: {{layers: [{{type: Dense, units: 8}}, {{type: Tanh}}, {{type: Dense, units: 2}}]}}
data: {{dataset: parity, options: {{bits: 4}}, val_split: 0, batch_size: {BATCH}, shuffle: true}}
optimizer: {{type: recording_sgd, lr: {BASE_LR}}}
train: {{epochs: 3}}
"""


class RecordingSGD(SGD):
    """SGD (no momentum, no decay) that records (lr, lr implied by the update) at every step."""
    applied: list = []

    def step(self):
        grads = {k: g.astype(np.float64) for k, g in self.model.named_gradients().items()}
        before = {k: p.astype(np.float64) for k, p in self.model.named_parameters().items()}
        super().step()
        after = self.model.named_parameters()
        moved = sum(np.vdot(after[k] - before[k], grads[k]) for k in grads)
        RecordingSGD.applied.append((self.lr, -moved / sum(np.vdot(g, g) for g in grads.values())))


@pytest.fixture
def recording(tmp_path, monkeypatch):
    """Register ``recording_sgd`` for one test, work in tmp_path; yields the list of steps."""
    OPTIMIZERS.register("recording_sgd")(RecordingSGD)
    RecordingSGD.applied = []
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lr.yaml").write_text(CONFIG)
    yield RecordingSGD.applied
    del OPTIMIZERS._items["recording_sgd"], OPTIMIZERS._keys[_norm("recording_sgd")]


def train(*overrides, resume=None):
    args = ["train", "--config", "lr.yaml", *[a for o in overrides for a in ("--set", o)]]
    if resume:
        args += ["--resume", resume, "--allow-change", "train.epochs"]
    r = CliRunner().invoke(main, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """lr of optimizer step ``step`` (0-based): linear warm-up to BASE_LR, then cosine to 0."""
    if step < warmup:
        return BASE_LR * (step + 1) / (warmup + 1)
    return 0.5 * BASE_LR * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def step_decay(step: int, step_size: int, gamma: float) -> float:
    """lr of optimizer step ``step`` under ``{type: step}`` per epoch."""
    return BASE_LR * gamma ** ((step // STEPS_PER_EPOCH) // step_size)


def assert_applied(applied, expected):
    lr, implied = np.array(applied).T
    assert len(lr) == len(expected), (len(lr), len(expected))
    np.testing.assert_allclose(lr, expected, rtol=1e-12)
    np.testing.assert_allclose(implied, expected, rtol=2e-3)     # float32 parameters


def test_warmup_then_cosine_per_step(recording):
    epochs, warmup = 3, 3
    total = epochs * STEPS_PER_EPOCH
    train("scheduler={type: cosine, interval: step, warmup: 3}", f"train.epochs={epochs}")
    expected = [warmup_cosine(s, warmup, total) for s in range(total)]
    assert_applied(recording, expected)
    assert recording[0][0] == pytest.approx(BASE_LR / 4)            # the first step is warm-up step 1
    assert recording[-1][0] > 0.005                                  # the last step still learns
    (run_dir,) = Path("runs/lr").iterdir()
    with open(run_dir / "metrics.csv") as f:
        logged = [float(row["lr"]) for row in csv.DictReader(f)]    # lr at the end of each epoch
    np.testing.assert_allclose(logged, [warmup_cosine((e + 1) * STEPS_PER_EPOCH, warmup, total)
                                        for e in range(epochs)], rtol=1e-9, atol=1e-15)


def test_step_schedule_per_epoch(recording):
    train("scheduler={type: step, step_size: 2, gamma: 0.5}", "train.epochs=5")
    assert_applied(recording, [step_decay(s, 2, 0.5) for s in range(5 * STEPS_PER_EPOCH)])


def test_resumed_run_continues_the_schedule(recording):
    """Two epochs, then a resume to five: the steps after the resume follow the same formula."""
    train("scheduler={type: step, step_size: 2, gamma: 0.5}", "train.epochs=2")
    first = list(recording)
    recording.clear()
    train("scheduler={type: step, step_size: 2, gamma: 0.5}", "train.epochs=5", resume="checkpoints/lr/last.json")
    assert_applied(first + recording, [step_decay(s, 2, 0.5) for s in range(5 * STEPS_PER_EPOCH)])


def test_python_api_applies_the_same_schedule(recording):
    x = ((np.arange(SAMPLES)[:, None] >> np.arange(3, -1, -1)) & 1).astype(np.float32)
    y = x.sum(axis=1).astype(np.int64) % 2
    model = nnpy.Sequential([nnpy.layers.Dense(8), nnpy.layers.Tanh(), nnpy.layers.Dense(2)], seed=0)
    model.compile(optimizer=RecordingSGD(lr=BASE_LR), loss="cross_entropy",
                  scheduler={"type": "cosine", "interval": "step", "warmup": 2})
    model.fit(x, y, epochs=2, batch_size=BATCH, verbose=0)
    total = 2 * STEPS_PER_EPOCH
    assert_applied(recording, [warmup_cosine(s, 2, total) for s in range(total)])
