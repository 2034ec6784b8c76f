"""The README's examples run: every Python block, and every shell command it shows with its output.

A snippet a user copies must not rot. Each ```python block of README.md runs in a fresh interpreter
(a registry filled by one block must not help the next), in a scratch folder that sees the repo's
``data/`` and ``examples/``. Blocks that train for minutes are shortened by the edits in
``SHORTEN`` — each edit must still find its text, so a README change cannot silently skip it — and
the block's promise is kept by the assertions in ``CHECKS``, appended to the block.

A ``$ command`` line followed by output lines (in a plain ``` block) is run from the repo root and
its output must be the lines shown.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

FENCE = re.compile(r"^```(\w*)\s*$")


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """Every fenced block of ``text`` as (language, first line number of its body, body)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        blocks.append((opening.group(1), i + 2, "\n".join(lines[i + 1:end]) + "\n"))
        i = end + 1
    return blocks


def python_blocks() -> list[tuple[int, str]]:
    return [(line, body) for language, line, body in fenced_blocks(README.read_text()) if language == "python"]


def block_key(body: str) -> str:
    """The block's first non-import line: how SHORTEN, PRELUDE and CHECKS name a block."""
    for line in body.splitlines():
        if line.strip() and not line.startswith(("import ", "from ")):
            return line.strip()
    return body.splitlines()[0]


# Edits that make a long block quick; every (old, new) must match the block.
SHORTEN = {
    "mnist = DATASETS.make(\"mnist\").load()       # a Dataset: x_train, y_train, x_test, y_test": [
        ('DATASETS.make("mnist").load()', 'DATASETS.make("mnist").load(limit=6000)'),
        ("epochs=20", "epochs=3"),
        ("validation_split=5000", "validation_split=1000"),
        ('"warmup": 200', '"warmup": 20'),       # 120 steps in all: a warm-up of 200 would never end
    ],
}

# Code run before a block that continues an earlier one.
CALLBACKS_BLOCK = "model.fit(x, y, epochs=30, validation_split=0.1,"
PRELUDE = {
    CALLBACKS_BLOCK: (
        "import numpy as np\nimport nnpy\nfrom nnpy.layers import Dense, ReLU\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.normal(size=(200, 8)).astype(np.float32)\n"
        "y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)\n"
        "model = nnpy.Sequential([Dense(16), ReLU(), Dense(2)], seed=1)\n"
        "model.compile(optimizer={'type': 'adam', 'lr': 0.01}, loss='cross_entropy', metrics=['accuracy'])\n"
    ),
    'loss = nnpy.make_loss("cross_entropy")': (
        "import numpy as np\nimport nnpy\nfrom nnpy.layers import Dense, ReLU\n"
        "rng = np.random.default_rng(0)\n"
        "x_all = rng.normal(size=(256, 8)).astype(np.float32)\n"
        "y_all = (x_all[:, 0] > 0).astype(np.int64)\n"
        "model = nnpy.Sequential([Dense(32), ReLU(), Dense(2)], seed=1)\n"
        "model.build((8,))\n"
        "batches = [(x_all[i:i + 32], y_all[i:i + 32]) for i in range(0, 256, 32)] * 20\n"
    ),
}

# What each block promises, checked after it ran (in its namespace).
CHECKS = {
    CALLBACKS_BLOCK: (
        "import os\n"
        "assert os.path.exists('checkpoints/mine/best.json') and os.path.exists('checkpoints/mine/last.json')\n"
        "best = nnpy.load('checkpoints/mine/best.json')\n"
        "assert best.evaluate(x, y)['accuracy'] > 0.8\n"
    ),
    "bits = 8": (
        "assert model.evaluate(x, y)['accuracy'] == 1.0\n"
        "assert logits.shape == (256, 2) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)\n"
        "assert (nnpy.load('parity.json').predict(x) == logits).all()\n"
    ),
    "mnist = DATASETS.make(\"mnist\").load()       # a Dataset: x_train, y_train, x_test, y_test": (
        # raw test pixels, as the README passes them: the model applies its own normalization
        # (before it did not: 9% on raw pixels)
        "result = model.evaluate(mnist.x_test, mnist.y_test)\n"
        "assert result['accuracy'] > 0.85, result\n"
    ),
    'loss = nnpy.make_loss("cross_entropy")': (
        "assert (model.predict(x_all).argmax(axis=1) == y_all).mean() > 0.9\n"
    ),
    "session = ort.InferenceSession(\"mnist.onnx\")": (
        "assert (probs.argmax(axis=1) == DATASETS.make('mnist').load(limit=8).y_test).mean() >= 0.875\n"
    ),
    "x = nnpy.Input((1, 28, 28))                              # a placeholder: one sample's shape": (
        "assert model.evaluate(mnist.x_test[:500], mnist.y_test[:500])['accuracy'] > 0.8\n"
        "assert (nnpy.load('graph.json').predict(mnist.x_test[:50]) == model.predict(mnist.x_test[:50])).all()\n"
    ),
    '@nnpy.register_layer("Scale")': (
        "result = nnpy.gradcheck({'type': 'Scale'}, (4,))\n"
        "assert result.passed and set(result.errors) == {'input', 's'}, result\n"
    ),
    "x = Tensor(np.array([0.5, 1.0]), requires_grad=True)": (
        "t = np.tanh(x.data)\n"
        "assert np.allclose(x.grad.data, t + x.data * (1 - t ** 2))\n"
        "assert np.allclose(h.data, -2 * t * (1 - t ** 2))\n"
    ),
}

# Blocks that need a file another README command makes first.
SETUP = {
    "session = ort.InferenceSession(\"mnist.onnx\")": [
        [sys.executable, "-m", "nnpy.cli", "export", str(REPO / "data/trained_models/mnist.json"), "mnist.onnx"],
    ],
}

NEEDS_MODULE = {"session = ort.InferenceSession(\"mnist.onnx\")": ["onnx", "onnxruntime"]}


def runnable(body: str) -> str:
    key = block_key(body)
    for old, new in SHORTEN.get(key, ()):
        assert old in body, f"README block {key!r}: the shortening {old!r} no longer matches"
        body = body.replace(old, new)
    return PRELUDE.get(key, "") + body + "\n" + CHECKS.get(key, "")


def scratch_folder(tmp_path: Path) -> Path:
    for name in ("data", "examples", "configs"):
        (tmp_path / name).symlink_to(REPO / name)
    return tmp_path


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


BLOCKS = python_blocks()


def test_every_python_block_is_checked_and_every_edit_names_a_block():
    keys = [block_key(body) for _, body in BLOCKS]
    assert len(keys) == len(set(keys)), "two README blocks start alike; make block_key tell them apart"
    for table in (SHORTEN, PRELUDE, CHECKS, SETUP):
        assert set(table) <= set(keys), f"no README block for {set(table) - set(keys)}"
    unchecked = [k for k in keys if k not in CHECKS and k not in UNCHECKED_ON_PURPOSE]
    assert not unchecked, f"README blocks with nothing asserted: {unchecked}"


# Blocks whose running without an error is their whole promise.
UNCHECKED_ON_PURPOSE = {
    '@register_layer("PluginLayerNorm")',            # the plugin file itself is gradient-checked in tests/autograd
}


@pytest.mark.parametrize("line,body", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_python_block_runs(line, body, tmp_path):
    key = block_key(body)
    for module in NEEDS_MODULE.get(key, ()):
        from .prerequisites import require_module
        require_module(module)
    folder = scratch_folder(tmp_path)
    for command in SETUP.get(key, ()):
        done = subprocess.run(command, cwd=folder, env=environment(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    (folder / "block.py").write_text(runnable(body))
    done = subprocess.run([sys.executable, "block.py"], cwd=folder, env=environment(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"README.md:{line} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def shown_commands() -> list[tuple[int, str, list[str]]]:
    """Each ``$ command`` of a plain block that is followed by its output, with that output."""
    shown = []
    for language, first, body in fenced_blocks(README.read_text()):
        if language:
            continue
        lines = body.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ "):
                continue
            output = []
            for following in lines[i + 1:]:
                if following.startswith("$ "):
                    break
                output.append(following)
            if output:
                shown.append((first + i, line[2:], output))
    return shown


SHOWN = shown_commands()


def test_the_readme_shows_commands_with_output():
    assert len(SHOWN) >= 3


@pytest.mark.parametrize("line,command,output", SHOWN, ids=[f"README.md:{line}" for line, _, _ in SHOWN])
def test_shown_command_prints_what_the_readme_shows(line, command, output):
    argv = shlex.split(command, comments=True)
    assert argv[0] == "nnpy", f"README.md:{line}: only nnpy commands are run here"
    done = subprocess.run([sys.executable, "-m", "nnpy.cli", *argv[1:]], cwd=REPO, env=environment(),
                          capture_output=True, text=True, timeout=300)
    printed = (done.stdout + done.stderr).strip().splitlines()
    assert printed == output, f"README.md:{line}: `{command}` printed\n" + "\n".join(printed)
