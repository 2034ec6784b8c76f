"""The PyTorch side of ``bench_train.py``: the process that times the PyTorch twin.

Run through ``bench_train.py --worker torch`` (prints one line of JSON). The twin
(``torch_twin.py``) is built from the model an nnpy process wrote as data (``--spec DIR``,
``twin_spec.py``; without ``--spec`` a ``--worker spec`` process is started to write it),
so nnpy is never imported here: no numpy GEMM runs in this process, and OpenBLAS's threads
stay asleep while PyTorch's are timed.
"""
from __future__ import annotations

import tempfile

import numpy as np
import torch
import torch.nn as tnn

import twin_spec
from bench_train import MODELS, blas_threads, measure, target_args, write_spec
from torch_twin import torch_twin


def training_step(layers, model_name: str, batch: int):
    """A training step of the twin of ``layers`` on random data of the same shapes, SGD with momentum."""
    torch.manual_seed(0)
    net = torch_twin(layers).train()
    shape = MODELS[model_name][1]
    x = torch.randn(batch, *shape)
    if model_name == "rnn":
        y, lossf = torch.randn(batch, 50, 1), tnn.MSELoss()
    else:
        y, lossf = torch.randint(0, 10, (batch,)), tnn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        lossf(net(x), y).backward()
        opt.step()
    return step


def inference_step(layers, extras: dict, name: str):
    """The twin's evaluation (``eval()``, ``no_grad()``) of the batch nnpy evaluated, after
    checking that it predicts what nnpy predicted for it."""
    net = torch_twin(layers, copy_weights=True).eval()
    x = torch.from_numpy(extras["input"])

    def step():
        with torch.no_grad():
            return net(x)
    ours, theirs = extras["output"], step().numpy()
    if not np.array_equal(ours.argmax(1), theirs.argmax(1)) or np.abs(ours - theirs).max() > 1e-3:
        raise SystemExit(f"{name}: the PyTorch twin does not predict what nnpy predicts "
                         f"(largest difference {np.abs(ours - theirs).max():.2g})")
    return step


def run_torch(args) -> dict:
    """Time the PyTorch twin's step, with as many threads as OpenBLAS uses."""
    torch.set_num_threads(blas_threads())
    with tempfile.TemporaryDirectory() as tmp:
        layers, extras = twin_spec.read(args.spec or write_spec(target_args(args.inference or args.model, args.batch), tmp))
    if args.inference:
        step = inference_step(layers, extras, args.inference)
    else:
        step = training_step(layers, args.model, args.batch)
    timing = measure(step, args.warmup, args.steps)
    return {**timing, "torch": torch.__version__, "threads": torch.get_num_threads()}
