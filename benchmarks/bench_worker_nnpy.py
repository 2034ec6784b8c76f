"""The numpy side of ``bench_train.py``: the processes that run nnpy (and numpy's GEMM).

Run through ``bench_train.py --worker nnpy|gemm|spec`` (each prints one line of JSON):

- ``nnpy``: an nnpy training step (or ``nnpy val``'s forward of a shipped model), warm-up
  steps, then ``--steps`` timed ones; the numpy version and the BLAS library as
  threadpoolctl sees it;
- ``gemm``: numpy's float32 GEMM speed (``--gemm-size``³), for the "% of GEMM" column;
- ``spec``: the model written as data for the PyTorch process (``twin_spec.py``), with, for
  inference, the batch and nnpy's outputs for it.

PyTorch is never imported here.
"""
from __future__ import annotations

import os
import resource
import statistics
import time

import numpy as np

import twin_spec
from bench_train import MODELS, TRAINED, measure
from nnpy.engine.checkpoint_content import plan_from_checkpoint
from nnpy.nn.memory import keep_freed_memory
from nnpy.symbols import make_model
from nnpy.nn.losses import make_loss
from nnpy.optim import make_optimizer


def blas_info() -> list[str]:
    """Each BLAS numpy's process has loaded: library, version, kernel (core type), threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed (pip install threadpoolctl)"]
    return [f"{d.get('internal_api')} {d.get('version')} (kernel {d.get('architecture')}, "
            f"{d.get('num_threads')} threads)" for d in threadpool_info() if d.get("user_api") == "blas"]


def gemm_gflops(n: int, repeat: int = 5) -> float:
    """numpy's float32 (n × n) @ (n × n) speed: the median of ``repeat`` products after one."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def build_training(model_name: str, batch: int):
    """(one training step on random data of ``MODELS[model_name]``'s shapes, its FLOPs, the model)."""
    spec, shape, outputs = MODELS[model_name]
    model = make_model(spec, shape, outputs, rng=np.random.default_rng(0))
    model.set_rng(np.random.default_rng(1))
    loss = make_loss("mse" if model_name == "rnn" else "cross_entropy")
    opt = make_optimizer({"type": "sgd", "lr": 0.01, "momentum": 0.9}, model)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, *shape), dtype=np.float32)
    y = (rng.standard_normal((batch, 50, 1), dtype=np.float32) if model_name == "rnn"
         else rng.integers(0, 10, batch))

    def step():
        pred = model.forward(x, training=True)
        loss.forward(pred, y)
        model.backward(loss.backward())
        opt.step()
    return step, model.flops() * batch * 3, model          # forward + backward = 3 × forward


def build_inference(file: str, batch: int):
    """(``nnpy val``'s evaluation of one batch by a shipped model, its FLOPs, the model, the batch)."""
    plan, _ = plan_from_checkpoint(os.path.join(TRAINED, file))
    model = plan.model
    x = np.random.default_rng(2).random((batch, *plan.data.input_shape), dtype=np.float32)
    x = (x - 0.2) / 0.35                    # normalized, as the data loader gives them

    def step():
        return model.forward(x, training=False)
    return step, model.flops() * batch, model, x


def run_nnpy(args) -> dict:
    """Time nnpy's step of ``args.model`` (training) or ``args.inference`` at ``args.batch``."""
    keep_freed_memory()          # as the nnpy command does for every run (nnpy.nn.memory)
    try:                         # and its thread pool (an older nnpy, --baseline, starts it by itself)
        from nnpy.kernels.threads import set_num_threads
        set_num_threads()
    except ImportError:
        pass
    if args.inference:
        step, flops, _, _ = build_inference(args.inference, args.batch)
    else:
        step, flops, _ = build_training(args.model, args.batch)
    timing = measure(step, args.warmup, args.steps)
    return {**timing, "flops": flops, "numpy": np.__version__, "blas": blas_info(),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run_gemm(args) -> dict:
    """numpy's float32 GEMM speed in GFLOP/s."""
    return {"gflops": round(gemm_gflops(args.gemm_size), 1), "n": args.gemm_size}


def run_spec(args) -> dict:
    """Write the model (and, for inference, the batch and nnpy's outputs) into ``args.out``."""
    if args.inference:
        step, _, model, x = build_inference(args.inference, args.batch)
        twin_spec.write(model, args.out, input=x, output=step())
    else:
        twin_spec.write(build_training(args.model, args.batch)[2], args.out)
    return {"out": args.out}
