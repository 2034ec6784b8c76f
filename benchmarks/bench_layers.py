"""Forward+backward speed of Dense and the MNIST AlexNet's Conv2D layers, against GEMM.

    python benchmarks/bench_layers.py [--batch 64] [--repeat 30] [--json]

Measures, in one run and interleaved round by round, a square float32 GEMM
(2048³, the machine's reference GFLOP/s) and forward+backward of each layer at
``--batch``. FLOPs per step are counted as 3 × the forward's 2·MACs (backward =
dW and dx, each as big as the forward). The row marked "(first layer, no dx)"
is how the model runs its first layer (``needs_input_grad = False``): 2 × forward.
Medians over ``--repeat`` rounds after warm-up.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from nnpy.nn.layers import Conv2D, Dense

GEMM_N = 2048

# name, layer options, input shape (without batch)
LAYERS = [
    ("Dense 784-512", Dense, {"units": 512}, (784,)),
    ("Dense 512-1024", Dense, {"units": 1024}, (512,)),
    ("Conv 1-32 k4 s2", Conv2D, {"filters": 32, "kernel_size": 4, "stride": 2}, (1, 28, 28)),
    ("Conv 32-64 k3 s2 p1", Conv2D,
     {"filters": 64, "kernel_size": 3, "stride": 2, "padding": 1}, (32, 13, 13)),
    ("Conv 64-128 k3 s2 p1", Conv2D,
     {"filters": 128, "kernel_size": 3, "stride": 2, "padding": 1}, (64, 7, 7)),
]


def blas_info() -> str:
    """BLAS library, kernel and threads, from threadpoolctl when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return "; ".join(f"{p.get('internal_api')} {p.get('version')} kernel={p.get('architecture')} "
                             f"threads={p.get('num_threads')}" for p in pools)
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # noqa: BLE001 - informational only
        blas = "unknown BLAS"
    return f"{blas} (install threadpoolctl for kernel and threads)"


def make_case(name, cls, options, shape, batch, needs_input_grad=True):
    rng = np.random.default_rng(0)
    layer = cls(**options)
    out_shape = layer.initialize(shape, rng=rng, dtype=np.float32)
    layer.needs_input_grad = needs_input_grad
    x = rng.normal(size=(batch, *shape)).astype(np.float32)
    g = rng.normal(size=(batch, *out_shape)).astype(np.float32)
    flops = (3 if needs_input_grad else 2) * layer.flops() * batch

    def step():
        layer.forward(x, training=True)
        layer.backward(g)
    return {"name": name, "step": step, "flops": flops, "times": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    from nnpy.nn.memory import keep_freed_memory
    keep_freed_memory()          # as the nnpy command does for every run

    a = np.random.default_rng(0).random((GEMM_N, GEMM_N), dtype=np.float32)
    c = np.empty_like(a)
    gemm = {"name": f"GEMM {GEMM_N}³ float32", "step": lambda: np.matmul(a, a, out=c),
            "flops": 2 * GEMM_N ** 3, "times": []}
    cases = [make_case(name, cls, opts, shape, args.batch) for name, cls, opts, shape in LAYERS]
    cases.append(make_case("Conv 1-32 k4 s2 (first layer, no dx)", *LAYERS[2][1:], args.batch,
                           needs_input_grad=False))

    everything = [gemm, *cases]
    for case in everything:       # warm up: buffers, BLAS threads, caches
        for _ in range(3):
            case["step"]()
    for _ in range(args.repeat):  # interleaved rounds
        for case in everything:
            t0 = time.perf_counter()
            case["step"]()
            case["times"].append(time.perf_counter() - t0)

    for case in everything:
        case["ms"] = 1e3 * statistics.median(case["times"])
        case["gflops"] = case["flops"] / case["ms"] / 1e6
    peak = gemm["gflops"]
    rows = [{"name": c["name"], "mflop": c["flops"] / 1e6, "ms": c["ms"], "gflops": c["gflops"],
             "ratio": c["gflops"] / peak} for c in everything]

    info = {"batch": args.batch, "repeat": args.repeat, "numpy": np.__version__, "blas": blas_info(),
            "cpus": os.cpu_count(), "machine": platform.machine(), "rows": rows}
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(f"numpy {info['numpy']}, {info['blas']}, {info['cpus']} CPUs; batch {args.batch}, "
          f"median of {args.repeat} interleaved rounds; fwd+bwd FLOPs = 3 × forward")
    print(f"{'':40s} {'MFLOP':>9s} {'ms':>9s} {'GFLOP/s':>9s} {'/ GEMM':>7s}")
    for r in rows:
        print(f"{r['name']:40s} {r['mflop']:9.1f} {r['ms']:9.3f} {r['gflops']:9.1f} {r['ratio']:7.2f}")


if __name__ == "__main__":
    main()
