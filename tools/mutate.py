"""Mutation testing: plant realistic one-line bugs in a copy of nnpy and see whether the tests notice.

Each mutation below is (name, file, exact original text, replacement, what the bug is). The tool
copies the tree into a temporary folder (with ``../shared`` linked beside it, as in CI), runs the
relevant tests once on the clean copy, then for each mutation: writes the mutant, runs the test
files of that part of the code (``pytest -x``), puts the original back. A mutation is

    caught    a test failed (or the mutant did not import)
    survived  every test passed: the suite is blind to this bug
    stale     its original text is no longer in the file (the code moved): update the list
    ambiguous its original text occurs more than once: give more context

Usage (not part of CI: several minutes of CPU)::

    nice -n 10 python tools/mutate.py             # every mutation
    python tools/mutate.py --list                 # the mutations and their test files
    python tools/mutate.py --only adam-no-bias-correction conv-first-layer-bias
    python tools/mutate.py --tests tests          # the whole suite for every mutation

Exit status: 0 when every mutation is caught, 1 when some survived (or are stale / ambiguous).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: test files run for a mutation of a file under each prefix (the longest matching prefix wins)
TESTS = {
    "nnpy/nn/": ["tests/nn", "tests/test_api.py"],
    "nnpy/nn/metrics.py": ["tests/nn", "tests/test_cli.py", "tests/engine/test_metrics_list.py"],
    "nnpy/optim/": ["tests/test_optim.py", "tests/test_lr_schedule.py", "tests/test_api.py"],
    "nnpy/io/checkpoint.py": ["tests/io/test_checkpoint.py", "tests/io/test_checkpoint_fuzz.py",
                              "tests/test_reliability.py", "tests/test_cli.py"],
    "nnpy/engine/": ["tests/test_reliability.py", "tests/test_cli.py", "tests/test_api.py",
                     "tests/test_lr_schedule.py", "tests/engine"],
}


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str            # relative to the repository root
    original: str        # exact text, must occur once
    replacement: str
    bug: str             # the bug in words


M = Mutation
LAYERS = "nnpy/nn/layers/"
MUTATIONS = [
    # ---- layers --------------------------------------------------------------------------------
    M("conv-first-layer-bias", LAYERS + "conv.py",
      "        if self.use_bias:  # a GEMV", "        if self.use_bias and self.needs_input_grad:  # a GEMV",
      "Conv2D as a first layer (no dx) no longer computes its bias gradient"),
    M("conv-forward-no-bias", LAYERS + "conv.py",
      'xp.add(to_nchw(yt, axes), self.params["b"][:, None, None], out=y)', "xp.copyto(y, to_nchw(yt, axes))",
      "Conv2D forward forgets the bias"),
    M("im2col-column-stride", "nnpy/nn/im2col.py",
      "windows = windows[:, :, :sh * ho:sh, :sw * wo:sw]", "windows = windows[:, :, :sh * ho:sh, :wo]",
      "im2col ignores the horizontal stride (windows one column apart)"),
    M("same-padding-extra-on-top", "nnpy/nn/im2col.py",
      "pads.append((total // 2, total - total // 2))", "pads.append((total - total // 2, total // 2))",
      "'same' padding puts the odd extra row/column at the top/left (PyTorch-style, not TensorFlow's)"),
    M("dense-bias-grad-mean", LAYERS + "dense.py",
      'g2.sum(axis=0, out=self.grads["b"])', 'g2.mean(axis=0, out=self.grads["b"])',
      "Dense bias gradient is the mean over the batch instead of the sum"),
    M("batchnorm-batch-stats-in-eval", LAYERS + "normalization.py",
      "        if training:\n            mean = x.mean(axis=axes)", "        if True:\n            mean = x.mean(axis=axes)",
      "BatchNorm uses the batch's statistics in evaluation too"),
    M("batchnorm-biased-running-var", LAYERS + "normalization.py",
      "(1 - m) * var * (n / max(n - 1, 1))", "(1 - m) * var",
      "BatchNorm's running variance uses the biased batch variance"),
    M("batchnorm-momentum-swapped", LAYERS + "normalization.py",
      'self.buffers["running_mean"] += (1 - m) * mean', 'self.buffers["running_mean"] += m * mean',
      "BatchNorm's running mean moves with the wrong weight"),
    M("batchnorm-backward-no-xhat-term", LAYERS + "normalization.py",
      "return scale * (grad_y - mean_dy - self.x_hat * mean_dy_xhat)", "return scale * (grad_y - mean_dy)",
      "BatchNorm backward drops the term through the batch variance"),
    M("dropout-no-rescale", LAYERS + "dropout.py",
      "self.mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))", "self.mask = keep.astype(x.dtype)",
      "Dropout does not rescale the kept values by 1/(1 - rate)"),
    M("dropout-in-eval", LAYERS + "dropout.py",
      "if not training or self.rate == 0.0:", "if self.rate == 0.0:",
      "Dropout also drops at evaluation time"),
    M("lstm-forget-gate-grad", LAYERS + "recurrent.py",
      "d[:, u:2 * u] = dc * self.cs[t]", "d[:, u:2 * u] = dc * self.cs[t + 1]",
      "LSTM forget-gate gradient uses c_t instead of c_{t-1}"),
    M("gru-state-grad", LAYERS + "recurrent.py",
      "dh = dh * z + drec[t] @ U.T", "dh = dh * (1.0 - z) + drec[t] @ U.T",
      "GRU passes the state gradient through 1 - z instead of z"),
    M("rnn-tanh-derivative", LAYERS + "recurrent.py",
      "da[t] = (dhs[t] + dh) * (1.0 - h * h)", "da[t] = (dhs[t] + dh) * (1.0 - h)",
      "SimpleRNN uses 1 - h instead of 1 - h² as tanh's slope"),
    M("maxpool-ties-all-get-gradient", LAYERS + "pooling.py",
      "            hit &= ~taken\n", "            pass\n",
      "MaxPool2D sends a window's gradient to every tied maximum"),
    M("global-avgpool-no-scale", LAYERS + "pooling.py",
      "dx[...] = (grad_y * (1.0 / (h * w)))[:, :, None, None]", "dx[...] = grad_y[:, :, None, None]",
      "GlobalAvgPool2D backward forgets the 1/(H·W)"),
    M("softmax-wrong-axis", LAYERS + "activations.py",
      "(grad_y * self.y).sum(axis=self.axis, keepdims=True)", "(grad_y * self.y).sum(axis=0, keepdims=True)",
      "Softmax backward sums over the batch axis"),
    M("relu-grad-at-zero", LAYERS + "activations.py",
      "xp.where(self.y > 0, grad_y, 0)", "xp.where(self.y >= 0, grad_y, 0)",
      "ReLU passes the gradient of negative inputs (y = 0 counts as active)"),
    M("sigmoid-derivative", LAYERS + "activations.py",
      "return grad_y * self.y * (1 - self.y)", "return grad_y * (1 - self.y)",
      "Sigmoid's slope is 1 - y instead of y(1 - y)"),
    M("residual-drops-identity-grad", LAYERS + "containers.py",
      "return grad_x + grad_y", "return grad_x",
      "Residual block forgets the gradient through its identity shortcut"),
    M("embedding-repeated-ids-overwrite", LAYERS + "embedding.py",
      "dE[sorted_ids[starts]] = xp.add.reduceat(g[order], starts, axis=0)", "dE[sorted_ids] = g[order]",
      "Embedding gradient of a repeated id keeps one occurrence instead of the sum"),
    M("conv-fans-ignore-kernel", "nnpy/nn/initializers.py",
      "receptive = math.prod(shape[2:])", "receptive = 1",
      "fan_in/fan_out of a convolution kernel ignore the kernel size (He/Glorot scale too large)"),
    # ---- losses and metrics --------------------------------------------------------------------
    M("cross-entropy-grad-not-averaged", "nnpy/nn/losses.py",
      "((self.probs - self.t) * (1.0 / n))", "(self.probs - self.t)",
      "cross-entropy gradient is not divided by the batch size"),
    M("label-smoothing-not-spread", "nnpy/nn/losses.py",
      "t = t * (1 - self.label_smoothing) + self.label_smoothing / c",
      "t = t * (1 - self.label_smoothing) + self.label_smoothing",
      "label smoothing adds ε to every class instead of ε/C"),
    M("mse-grad-factor", "nnpy/nn/losses.py",
      "self.diff.dtype.type(2.0 / self.diff.size)", "self.diff.dtype.type(1.0 / self.diff.size)",
      "MSE gradient misses the factor 2"),
    M("huber-ignores-delta", "nnpy/nn/losses.py",
      "xp.clip(d, -self.delta, self.delta)", "xp.clip(d, -1.0, 1.0)",
      "Huber gradient clips at 1 whatever delta is"),
    M("per-class-wrong-axis", "nnpy/nn/metrics.py",
      "np.maximum(cm.sum(axis=1), 1)", "np.maximum(cm.sum(axis=0), 1)",
      "per-class accuracy divides by the predicted count (precision) instead of the true count"),
    M("top-k-lowest-scores", "nnpy/nn/metrics.py",
      "np.argpartition(-pred, k - 1, axis=1)", "np.argpartition(pred, k - 1, axis=1)",
      "top-k accuracy looks at the k lowest scores"),
    # ---- optimizers and schedules --------------------------------------------------------------
    M("adam-no-bias-correction", "nnpy/optim/optimizers.py",
      "bias1 = 1 - self.beta1 ** self.iterations", "bias1 = 1.0",
      "Adam without the first moment's bias correction"),
    M("adamw-decay-without-lr", "nnpy/optim/optimizers.py",
      "p *= t(1 - self.lr * self.weight_decay)", "p *= t(1 - self.weight_decay)",
      "AdamW's decoupled decay is not scaled by the learning rate"),
    M("nesterov-without-momentum-factor", "nnpy/optim/optimizers.py",
      "p -= xp.multiply(v, lr * t(self.momentum), out=step)", "p -= xp.multiply(v, lr, out=step)",
      "Nesterov look-ahead step misses the momentum factor"),
    M("weight-decay-sign", "nnpy/optim/optimizers.py",
      "return xp.add(g, decay, out=decay)", "return xp.subtract(g, decay, out=decay)",
      "L2 weight decay pushes weights away from zero"),
    M("rmsprop-rho-swapped", "nnpy/optim/optimizers.py",
      "s *= t(self.rho)", "s *= t(1 - self.rho)",
      "RMSprop keeps (1 - rho) of the old average"),
    M("clip-by-squared-norm", "nnpy/optim/optimizers.py",
      "scale = self.max_grad_norm / (norm + 1e-12)", "scale = self.max_grad_norm / (norm * norm + 1e-12)",
      "gradient clipping divides by the squared norm"),
    M("optimizer-step-count-not-restored", "nnpy/optim/optimizers.py",
      'self.iterations = int(d["iterations"])', "self.iterations = 0",
      "loading an optimizer's state restarts its step count (Adam's bias correction restarts on resume)"),
    M("warmup-starts-at-zero", "nnpy/optim/schedulers.py",
      "return self.base_lr * (t + 1) / (self.warmup + 1)", "return self.base_lr * t / self.warmup",
      "linear warm-up starts at lr 0 (the first step does nothing)"),
    M("cosine-span-ignores-warmup", "nnpy/optim/schedulers.py",
      "frac = min(1.0, t / span)", "frac = min(1.0, t / (self.total or 1))",
      "cosine decay spans the whole run instead of the part after warm-up"),
    M("step-schedule-continuous", "nnpy/optim/schedulers.py",
      "self.gamma ** (t // self.step_size)", "self.gamma ** (t / self.step_size)",
      "step schedule decays continuously instead of in steps"),
    M("scheduler-position-not-restored", "nnpy/optim/schedulers.py",
      'self.t = int(d["t"])', "self.t = 0",
      "loading a scheduler's state restarts the schedule"),
    M("plateau-patience-off-by-one", "nnpy/optim/schedulers.py",
      "if self.bad_epochs > self.patience:", "if self.bad_epochs >= self.patience:",
      "reduce-on-plateau reduces one epoch early"),
    # ---- the training loop and resuming --------------------------------------------------------
    M("scheduler-before-optimizer", "nnpy/engine/trainer.py",
      "            self.optimizer.step()\n            if self.scheduler is not None and self.scheduler.interval == \"step\":\n"
      "                self.scheduler.step()\n",
      "            if self.scheduler is not None and self.scheduler.interval == \"step\":\n"
      "                self.scheduler.step()\n            self.optimizer.step()\n",
      "the per-step scheduler is stepped before the optimizer (warm-up one step late, last step at lr 0)"),
    M("schedule-total-in-epochs", "nnpy/engine/trainer.py",
      'units = epochs * len(train_loader) if self.scheduler.interval == "step" else epochs', "units = epochs",
      "a per-step schedule is told the run's length in epochs"),
    M("resume-restarts-epoch", "nnpy/engine/trainer.py",
      "train_loader.batches(st.epoch, start=st.batch)", "train_loader.batches(st.epoch, start=0)",
      "resuming mid-epoch replays the epoch from its first batch"),
    M("non-finite-gradient-unchecked", "nnpy/engine/trainer.py",
      "            self._check_gradients()\n", "            pass\n",
      "a NaN/inf gradient is applied instead of stopping the run"),
    M("resume-without-rng", "nnpy/engine/resume.py",
      'trainer.model.rng.bit_generator.state = payload["rng"]', "pass",
      "resume does not restore the dropout generator"),
    M("resume-without-optimizer-state", "nnpy/engine/resume.py",
      'trainer.optimizer.load_state_dict(payload["optimizer"])', "pass",
      "resume starts the optimizer's moments from zero"),
    M("resume-without-scheduler", "nnpy/engine/resume.py",
      'trainer.scheduler.load_state_dict(payload["scheduler"])', "pass",
      "resume restarts the learning-rate schedule"),
    M("partial-epoch-not-saved", "nnpy/engine/trainer.py",
      'd.pop("stop"), d.pop("stop_reason"), d.pop("exit_code")',
      'd.pop("stop"), d.pop("stop_reason"), d.pop("exit_code"), d.pop("partial")',
      "a mid-epoch checkpoint forgets the running loss/metric sums of the epoch"),
    M("best-tie-keeps-first-epoch", "nnpy/engine/monitor.py",
      "    return loss is None or best_loss is None or loss <= best_loss\n", "    return False\n",
      "best.json keeps the first of the epochs that tie on the monitored value, whatever their losses"),
    M("monitor-unchecked", "nnpy/engine/trainer.py",
      "        self.check_monitors(validation=val_data is not None)\n", "",
      "a misspelt monitor (EarlyStopping(monitor='val_los')) is not checked, and never fires"),
    M("further-metrics-dropped", "nnpy/nn/metrics.py",
      "    return metrics\n\n\ndef default_metric", "    return metrics[:1]\n\n\ndef default_metric",
      "every metric after the first is dropped without a word"),
    # ---- checkpoints ---------------------------------------------------------------------------
    M("checksum-skipped", "nnpy/io/checkpoint.py",
      "if actual != digest.lower():", "if False:",
      "the checkpoint loader skips its checksum"),
    M("bool-bytes-unchecked", "nnpy/io/checkpoint.py",
      'if dtype == "bool" and raw', 'if False and raw',
      "a bool array holding bytes other than 0/1 is accepted"),
    M("negative-infinity-saved-as-inf", "nnpy/io/checkpoint.py",
      '("inf" if obj > 0 else "-inf")', '("inf" if obj > 0 else "inf")',
      "-inf is saved as +inf"),
    M("checkpoint-not-fsynced", "nnpy/io/checkpoint.py",
      "            os.fsync(fd)\n        finally:", "            pass\n        finally:",
      "the checkpoint is renamed into place before its bytes reach the disk"),
    M("loaded-arrays-read-only", "nnpy/io/checkpoint.py",
      "np.frombuffer(raw, dtype=dt).reshape(shape).astype(np.dtype(dtype))", "np.frombuffer(raw, dtype=dt).reshape(shape)",
      "loaded arrays are read-only views of the file's bytes"),
    M("newer-version-accepted", "nnpy/io/checkpoint.py",
      "if version > VERSION:", "if version > VERSION + 1:",
      "a checkpoint from a newer format version is read as if it were this one"),
]


def tests_for(path: str) -> list[str]:
    prefix = max((p for p in TESTS if path.startswith(p)), key=len, default=None)
    return TESTS[prefix] if prefix else ["tests"]


def copy_tree(dst: Path) -> Path:
    """A copy of the repository in ``dst/<name>`` with ``../shared`` linked beside it."""
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", ".hypothesis", "runs", "*.pyc")
    tree = dst / REPO.name
    shutil.copytree(REPO, tree, ignore=ignore, symlinks=True)
    shared = REPO.parent / "shared"
    if shared.is_dir():
        (dst / "shared").symlink_to(shared, target_is_directory=True)
    return tree


def run_tests(tree: Path, tests: list[str], timeout: float) -> tuple[str, str, float]:
    """(outcome, first failing test or "", seconds) of ``pytest -x`` on ``tests`` inside ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CI", None)     # a mutant must be caught by a failing test, not by a CI-only rule
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "caught", f"(timeout after {timeout:.0f} s)", time.perf_counter() - start
    seconds = time.perf_counter() - start
    failed = next((line[len("FAILED "):].split(" - ")[0] for line in proc.stdout.splitlines()
                   if line.startswith(("FAILED ", "ERROR "))), "")
    if proc.returncode == 0:
        return "survived", "", seconds
    if proc.returncode == 5:
        raise SystemExit(f"pytest collected no tests from {tests}: fix TESTS in {__file__}")
    if not failed:   # an import or collection error: the last line of pytest's output says which
        failed = (proc.stdout.strip().splitlines() or [proc.stderr.strip()[-200:]])[-1]
    return "caught", failed, seconds


def mutant_of(tree: Path, m: Mutation) -> tuple[str | None, str]:
    """(the mutated text of ``m.path`` in ``tree``, "") or (None, why it cannot be planted)."""
    target = tree / m.path
    if not target.is_file():
        return None, "stale"
    text = target.read_text()
    count = text.count(m.original)
    if count != 1:
        return None, "stale" if count == 0 else "ambiguous"
    mutant = text.replace(m.original, m.replacement)
    try:
        compile(mutant, str(target), "exec")
    except SyntaxError as exc:
        return None, f"invalid ({exc.msg})"
    return mutant, ""


def run_all(mutations: list[Mutation], tests_override: list[str] | None, timeout: float) -> dict:
    results = {}
    with tempfile.TemporaryDirectory(prefix="nnpy-mutate-") as tmp:
        tree = copy_tree(Path(tmp))
        files = sorted({t for m in mutations for t in (tests_override or tests_for(m.path))})
        files = [f for f in files if (tree / f).exists()]
        outcome, failed, seconds = run_tests(tree, files, timeout * 3)
        if outcome != "survived":
            raise SystemExit(f"the tests fail on the unmutated copy ({failed}): fix them first")
        print(f"baseline: {len(files)} test files pass on the unmutated copy ({seconds:.0f} s)", flush=True)
        for m in mutations:
            mutant, problem = mutant_of(tree, m)
            if mutant is None:
                results[m.name] = (problem, "", 0.0)
            else:
                pristine = (tree / m.path).read_text()
                (tree / m.path).write_text(mutant)
                tests = [t for t in (tests_override or tests_for(m.path)) if (tree / t).exists()]
                try:
                    results[m.name] = run_tests(tree, tests, timeout)
                finally:
                    (tree / m.path).write_text(pristine)
            outcome, failed, seconds = results[m.name]
            print(f"{outcome:9s} {m.name:36s} {seconds:5.1f} s  {failed}", flush=True)
    return results


def report(mutations: list[Mutation], results: dict) -> int:
    caught = [m for m in mutations if results[m.name][0] == "caught"]
    survived = [m for m in mutations if results[m.name][0] == "survived"]
    other = [m for m in mutations if results[m.name][0] not in ("caught", "survived")]
    print(f"\nscore: {len(caught)}/{len(mutations)} caught, {len(survived)} survived"
          + (f", {len(other)} not planted" if other else ""))
    for m in survived:
        print(f"  survived  {m.name}: {m.bug} ({m.path})")
    for m in other:
        print(f"  {results[m.name][0]:9s} {m.name}: original text of {m.path} not found once")
    return 0 if not survived and not other else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutations")
    parser.add_argument("--tests", nargs="+", metavar="PATH", help="run these tests for every mutation")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutation (default 600)")
    args = parser.parse_args(argv)
    names = [m.name for m in MUTATIONS]
    if len(set(names)) != len(names):
        raise SystemExit("two mutations share a name")
    chosen = MUTATIONS
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            raise SystemExit(f"unknown mutation(s): {', '.join(unknown)}")
        chosen = [m for m in MUTATIONS if m.name in args.only]
    if args.list:
        for m in chosen:
            problem = mutant_of(REPO, m)[1] or "ok"
            print(f"{problem:9s} {m.name:36s} {m.path}: {m.bug}\n{'':46s}tests: "
                  f"{' '.join(args.tests or tests_for(m.path))}")
        return 0
    return report(chosen, run_all(chosen, args.tests, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
