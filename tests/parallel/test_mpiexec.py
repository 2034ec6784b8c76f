"""``mpiexec -n N nnpy train`` against one process: the same weights and metrics, one writer,
resumes across process counts, and the fault guarantees (signal, killed process, NaN, failed
write). Every test starts mpiexec itself; tiny data slices keep each to seconds."""
import os
import signal
import time
from pathlib import Path

import pytest

from nnpy.engine.parallel.launch import THREAD_VARIABLES
from nnpy.io.checkpoint import load_checkpoint

from .conftest import REPO, assert_same_run, max_relative_difference, sets, train, weights

MLP_CONFIG = REPO / "configs" / "mlp.yaml"
# 790 training samples: 31 batches of 25 and a last one of 15 (uneven parts); smooth
# activations, so float32 rounding differences stay rounding differences (a ReLU's kink can
# turn a 1e-7 difference into a different step)
MLP = ["data.limit=890", "data.val_split=100", "data.batch_size=25", "model.hidden=[16]", "model.activation=Tanh",
       "model.dropout=0", "train.epochs=2", "scheduler.warmup=10", "checkpoint.dir=ck",
       "train.metrics=[accuracy, top5_accuracy]"]     # a second metric travels in the same Allreduce
CNN_YAML = """\
name: cnn
seed: 3
model:
  layers:
    - {type: Conv2D, filters: 4, kernel_size: 3}
    - {type: Tanh}
    - {type: AvgPool2D, pool_size: 2}
    - {type: Conv2D, filters: 8, kernel_size: 3, stride: 2}
    - {type: Tanh}
    - {type: Flatten}
    - {type: Dropout, rate: 0.3}
    - {type: Dense, units: 10}
data:
  dataset: mnist
  limit: 560
  val_split: 60
  batch_size: 32
  normalize: {mean: 0.1307, std: 0.3081}
  augment: {shift: 2, rotate: 10, scale: 0.1, thickness: 0.5, hflip: 0.2}
loss: cross_entropy
optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
scheduler: {type: cosine, interval: step, warmup: 5}
train: {epochs: 2}
checkpoint: {dir: ck, monitor: val_accuracy}
"""


def mlp_run(processes, folder: Path, mpiexec=None, options=(), overrides=()):
    folder.mkdir(exist_ok=True)
    return train(processes, folder, [*options, "--", "--config", MLP_CONFIG, *sets(MLP + list(overrides))],
                 mpiexec=mpiexec)


@pytest.fixture(scope="module")
def one_process_mlp(tmp_path_factory):
    """The reference: the MLP run straight through on one process."""
    folder = tmp_path_factory.mktemp("one")
    r = mlp_run(1, folder)
    assert r.returncode == 0, r.stderr
    return folder


@pytest.mark.parametrize("processes", [2, 4])
def test_mlp_gives_the_weights_and_metrics_of_one_process(mpiexec, one_process_mlp, tmp_path, processes):
    r = mlp_run(processes, tmp_path, mpiexec, ["--pid-dir", tmp_path])
    assert r.returncode == 0, r.stdout + r.stderr
    diff = assert_same_run(one_process_mlp, tmp_path, "mlp")
    print(f"mlp: largest relative weight difference, {processes} processes vs 1: {diff:.2e}")
    one, many = (load_checkpoint(p / "ck" / "last.json") for p in (one_process_mlp, tmp_path))
    assert max_relative_difference(one["optimizer"]["state"]["dense_1.W"], many["optimizer"]["state"]["dense_1.W"]) < 1e-4
    assert one["rng"] == many["rng"] and one["state"]["global_step"] == many["state"]["global_step"] == 64
    # only process 0 writes and prints: one run folder, two checkpoints, every line once
    (run_dir,) = list((tmp_path / "runs" / "mlp").iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml", "metrics.csv", "train.log"]
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["best.json", "last.json"]
    assert r.stdout.count("epoch 2/2 ") == 1 and r.stdout.count("data-parallel:") == 1
    assert f"data-parallel: {processes} processes on 1 machine · batch 25 = 6–7 per process" in r.stdout or \
        f"data-parallel: {processes} processes on 1 machine · batch 25 = 12–13 per process" in r.stdout
    if not any(v in os.environ for v in THREAD_VARIABLES):     # each process has its share of the cores
        threads = {int((tmp_path / f"{k}.threads").read_text()) for k in range(processes)}
        assert threads == {max(1, os.cpu_count() // processes)}


def one_and_two_processes(mpiexec, tmp_path, run: str, config: str) -> float:
    """Train ``config`` (YAML text naming the run ``run``) on 1 and on 2 processes; the largest
    relative weight difference between the two runs (``assert_same_run``)."""
    for name, processes in (("one", 1), ("two", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{run}.yaml").write_text(config)
        r = train(processes, tmp_path / name, ["--", "--config", f"{run}.yaml"], mpiexec=mpiexec)
        assert r.returncode == 0, r.stdout + r.stderr
    diff = assert_same_run(tmp_path / "one", tmp_path / "two", run)
    print(f"{run}: largest relative weight difference, 2 processes vs 1: {diff:.2e}")
    return diff


def test_cnn_with_augmentation_and_dropout_gives_the_weights_of_one_process(mpiexec, tmp_path):
    one_and_two_processes(mpiexec, tmp_path, "cnn", CNN_YAML)


def test_resume_with_two_processes_from_one_and_with_one_from_two(mpiexec, one_process_mlp, tmp_path):
    # one process stops at step 40 (epoch 2, batch 8/32); two processes finish the run
    r = mlp_run(1, tmp_path / "a", options=["--stop-at", 40])
    assert r.returncode == 130 and "saved ck/last.json (epoch 2, batch 8/32)" in r.stdout, r.stdout + r.stderr
    r = train(2, tmp_path / "a", ["--", "--config", MLP_CONFIG, *sets(MLP), "--resume", "ck/last.json"], mpiexec=mpiexec)
    assert r.returncode == 0 and "resuming from ck/last.json: epoch 2, batch 8/32" in r.stdout, r.stdout + r.stderr
    # two processes stop at step 20, asked by process 1; one process finishes the run
    r = mlp_run(2, tmp_path / "b", mpiexec, options=["--stop-at", 20, "--stop-rank", 1])
    assert r.returncode == 130 and "saved ck/last.json (epoch 1, batch 20/32)" in r.stdout, r.stdout + r.stderr
    r = train(1, tmp_path / "b", ["--", "--config", MLP_CONFIG, *sets(MLP), "--resume", "ck/last.json"])
    assert r.returncode == 0, r.stdout + r.stderr
    for folder in ("a", "b"):
        assert_same_run(one_process_mlp, tmp_path / folder, "mlp")


def test_sigint_to_mpiexec_stops_every_process_with_one_resumable_checkpoint(mpiexec, one_process_mlp, tmp_path):
    proc = train(2, tmp_path, ["--slow-after", 5, "--", "--config", MLP_CONFIG, *sets(MLP)], mpiexec=mpiexec, popen=True)
    wait_for(tmp_path / "reached", proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    state = load_checkpoint(tmp_path / "ck" / "last.json")["state"]
    assert state["epoch"] == 0 and 5 <= state["batch"] < 32          # mid-epoch
    assert out.count("saved ck/last.json (epoch 1, batch ") == 1 and "--resume ck/last.json" in out
    assert "SIGINT received" in out
    r = train(2, tmp_path, ["--", "--config", MLP_CONFIG, *sets(MLP), "--resume", "ck/last.json"], mpiexec=mpiexec)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_same_run(one_process_mlp, tmp_path, "mlp")


def test_a_killed_process_ends_the_run_within_seconds(mpiexec, tmp_path):
    proc = train(2, tmp_path, ["--slow-after", 2, "--pid-dir", tmp_path, "--", "--config", MLP_CONFIG, *sets(MLP)],
                 mpiexec=mpiexec, popen=True)
    wait_for(tmp_path / "1.pid", proc)
    os.kill(int((tmp_path / "1.pid").read_text()), signal.SIGKILL)
    start = time.monotonic()
    proc.communicate(timeout=30)
    assert proc.returncode != 0 and time.monotonic() - start < 30


def test_a_nan_on_one_process_stops_all_with_one_line(mpiexec, tmp_path):
    r = mlp_run(2, tmp_path, mpiexec, ["--nan-at", 5, "--nan-rank", 1])
    assert r.returncode == 2, r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("nnpy:")]
    assert len(errors) == 1, r.stderr
    assert "epoch 1, step 6: the loss is nan; try a lower optimizer.lr" in errors[0]
    assert not (tmp_path / "ck" / "last.json").exists()


def test_a_failed_checkpoint_write_on_process_0_stops_every_process(mpiexec, tmp_path):
    r = mlp_run(2, tmp_path, mpiexec, ["--fail-saves"])
    assert r.returncode == 2, r.stdout + r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("nnpy:")]
    assert len(errors) == 1 and "last.json" in errors[0] and "No space left" in errors[0], r.stderr
    assert "epoch 1/2 " in r.stdout and "epoch 2/2 " not in r.stdout


def wait_for(path: Path, proc, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            out, err = proc.communicate()
            pytest.fail(f"{path.name} never appeared (exit {proc.returncode}):\n{out}\n{err}")
        time.sleep(0.05)


GRAPH_YAML = """\
name: graph
seed: 3
model:
  nodes:
    narrow: {type: Conv2D, filters: 3, kernel_size: 3, padding: 1, inputs: input}
    wide:   {type: Conv2D, filters: 3, kernel_size: 5, padding: 2, inputs: input}
    both:   {type: Concatenate, inputs: [narrow, wide]}
    act:    {type: Tanh}
    pool:   {type: AvgPool2D, pool_size: 4}
    flat:   {type: Flatten}
    logits: {type: Dense, units: 10}
  output: logits
data: {dataset: mnist, limit: 300, val_split: 60, batch_size: 32}
optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 1}
checkpoint: {dir: ck}
"""


def test_a_graph_model_gives_the_weights_of_one_process(mpiexec, tmp_path):
    """A Graph is a Layer: the data-parallel trainer averages its nodes' gradients like a chain's."""
    one_and_two_processes(mpiexec, tmp_path, "graph", GRAPH_YAML)


def test_watch_under_mpiexec_is_served_by_process_0_alone(mpiexec, tmp_path):
    r = train(2, tmp_path, ["--", "--config", MLP_CONFIG, *sets(MLP), "--set", "train.epochs=1", "--watch", "0"],
              mpiexec=mpiexec)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("nnpy train: watch the run at http://127.0.0.1:") == 1


STEPS_YAML = """\
name: steps
seed: 5
model: {symbol: mlp, hidden: [16], activation: Tanh, dropout: 0.2}
data: {dataset: mnist, limit: 400, val_split: 100, batch_size: 24, normalize: {mean: 0.1307, std: 0.3081},
       augment: {shift: 2}}
optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
train: {steps: 12, eval_every: 6, eval_batches: 2}
checkpoint: {dir: ck}
"""


def test_a_run_in_steps_gives_the_weights_of_one_process(mpiexec, tmp_path):
    """``train.steps`` (the GPT's runs): each process trains on its part of the same random rows
    (they walked an epoch's permutation instead, and trained on other samples than one process)."""
    one_and_two_processes(mpiexec, tmp_path, "steps", STEPS_YAML)
