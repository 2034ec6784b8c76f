"""Time full training steps (forward, loss, backward, optimizer) of the configs' models, and
the inference throughput of the shipped models, against PyTorch on the same CPU.

    python benchmarks/bench_train.py --model alexnet --batch 64 [--steps 30] [--json] [--vs-torch]
    python benchmarks/bench_train.py --inference mnist.json --batch 256 [--vs-torch]
    python benchmarks/bench_train.py --all [--rounds 3]   # every row of TARGETS, as a markdown table

Training data is random but MNIST-shaped (rnn: sequences of length 50 with 1 feature, a tanh
RNN with hidden 64 and a per-step linear head, MSE). Reported: median ms/step and samples/s
after warm-up, achieved GFLOP/s (forward + backward = 3 × forward FLOPs) and its ratio to
numpy's float32 GEMM GFLOP/s measured in the same run, peak memory (RSS). With
``--vs-torch`` (PyTorch importable), the same network in PyTorch (``torch_twin.py``: built
from the nnpy model, layer by layer) — same threads, float32, same batch, SGD with momentum —
is timed alternately with nnpy, 5 steps at a time, and the ratio nnpy/torch printed.

``--inference FILE``: a model of ``data/trained_models`` evaluated as ``nnpy val`` does
(``forward(x, training=False)`` over batches of ``--batch`` images) against its twin with the
same weights in ``eval()`` mode under ``torch.no_grad()``; images/s, and a check that both
predict the same classes.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))                # torch_twin

import nnpy  # noqa: E402
from nnpy.models import build_model  # noqa: E402
from nnpy.nn.losses import build_loss  # noqa: E402
from nnpy.optim import build_optimizer  # noqa: E402

MODELS = {
    "mlp": ({"symbol": "mlp", "hidden": [512, 1024]}, (1, 28, 28), 10),
    "alexnet": ({"symbol": "alexnet"}, (1, 28, 28), 10),
    "lenet": ({"symbol": "lenet", "dropout": [0, 0]}, (1, 28, 28), 10),
    # the model of configs/resnet-fashion.yaml
    "resnet": ({"symbol": "resnet", "widths": [32, 64, 128], "blocks": [2, 2, 2], "stem_stride": 2}, (1, 28, 28), 10),
    "rnn": ({"layers": [{"type": "RNN", "units": 64, "return_sequences": True}, {"type": "Dense", "units": 1}]},
            (50, 1), 1),
}
TRAINED = os.path.join(os.path.dirname(__file__), "..", "data", "trained_models")


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
        info = [f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')} threads={d.get('num_threads')}"
                for d in threadpool_info() if d.get("user_api") == "blas"]
        return "; ".join(info) or "unknown"
    except ImportError:
        return f"threadpoolctl not installed; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"


def gemm_gflops(n: int = 2048, repeat: int = 5) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def make_nnpy(model_name: str, batch: int):
    spec, shape, outputs = MODELS[model_name]
    model = build_model(spec, shape, outputs, rng=np.random.default_rng(0))
    model.set_rng(np.random.default_rng(1))
    loss = build_loss("mse" if model_name == "rnn" else "cross_entropy")
    opt = build_optimizer({"type": "sgd", "lr": 0.01, "momentum": 0.9}, model)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, *shape), dtype=np.float32)
    y = (rng.standard_normal((batch, 50, 1), dtype=np.float32) if model_name == "rnn"
         else rng.integers(0, 10, batch))

    def step():
        pred = model.forward(x, training=True)
        loss.forward(pred, y)
        model.backward(loss.backward())
        opt.step()
    return step, model.flops() * batch * 3, model


def make_torch(model, model_name: str, batch: int):
    """A training step of ``model``'s PyTorch twin on random data of the same shapes."""
    import torch
    import torch.nn as tnn
    from torch_twin import torch_twin

    torch.manual_seed(0)
    net = torch_twin(model).train()
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


def make_inference(file: str, batch: int, vs_torch: bool):
    """``nnpy val``'s evaluation loop body for a shipped model, and its twin's (or None)."""
    from nnpy.engine.checkpoints import plan_from_checkpoint

    plan, _ = plan_from_checkpoint(os.path.join(TRAINED, file))
    model = plan.model
    x = np.random.default_rng(2).random((batch, *plan.data.input_shape), dtype=np.float32)
    x = (x - 0.2) / 0.35                    # normalized, as the data loader gives them

    def step():
        return model.forward(x, training=False)
    if not vs_torch:
        return step, None, model
    import torch
    from torch_twin import torch_twin

    net = torch_twin(model, copy_weights=True).eval()
    tx = torch.from_numpy(x)

    def torch_step():
        with torch.no_grad():
            return net(tx)
    ours, theirs = step(), torch_step().numpy()
    if not np.array_equal(ours.argmax(1), theirs.argmax(1)) or np.abs(ours - theirs).max() > 1e-3:
        raise SystemExit(f"{file}: the PyTorch twin does not predict what nnpy predicts "
                         f"(largest difference {np.abs(ours - theirs).max():.2g})")
    return step, torch_step, model


def torch_available() -> bool:
    """PyTorch importable; it then uses as many threads as BLAS (``OMP_NUM_THREADS`` or every CPU)."""
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: --vs-torch skipped", file=sys.stderr)
        return False
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    return True


def time_steps(step, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        out.append(time.perf_counter() - t)
    return out


#: The targets of issue 17: (model or shipped file, batch) -> the largest acceptable
#: nnpy/torch ratio of step times (training) or of times per batch (inference).
TARGETS = {("mlp", 64): 1.0, ("mlp", 256): 1.0, ("alexnet", 64): 1.0, ("alexnet", 256): 1.0,
           ("lenet", 64): 1.0, ("lenet", 128): 1.0, ("resnet", 64): 1.0, ("rnn", 32): 1.0,
           ("mnist.json", 256): 1.0, ("fashion-mnist.json", 256): 1.0}


def cpu_seconds() -> tuple[float, float, float] | None:
    """(busy CPU seconds of the whole machine, of them stolen by the hypervisor, of this process)
    from /proc/stat (Linux); None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    own = os.times()
    return (user + nice + system + irq + softirq + steal) / tick, steal / tick, own.user + own.system


def others_share(before, after, wall: float) -> tuple[float, float] | None:
    """(% of one CPU used by other processes, % stolen by the hypervisor) during a run."""
    if before is None or after is None or wall <= 0:
        return None
    busy, steal, own = (b - a for a, b in zip(before, after))
    return round(100 * max(busy - steal - own, 0.0) / wall, 1), round(100 * steal / wall, 1)


def print_table(rows: list[dict]) -> None:
    """The markdown table of ``main(..., quiet=True)`` results, with each row's target."""
    gemms = [r["gemm_gflops"] for r in rows]
    print(f"numpy float32 GEMM: {min(gemms):.0f}–{max(gemms):.0f} GFLOP/s (2048³, measured before each row)")
    shares = [r["others"] for r in rows if r.get("others")]
    if shares:
        print(f"other processes used at most {max(o for o, _ in shares):.0f}% of one CPU during a row, "
              f"the hypervisor stole at most {max(s for _, s in shares):.0f}%")
    ranges = any("ratio_range" in r for r in rows)
    print("\n| model | batch | nnpy ms/step | samples/s | GFLOP/s | % of GEMM | PyTorch ms/step | nnpy/torch |"
          + (" over the rounds |" if ranges else "") + " target |")
    print("|---|---|---|---|---|---|---|---|" + ("---|" if ranges else "") + "---|")
    for r in rows:
        target = TARGETS.get((r["model"], r["batch"]))
        ratio = r.get("ratio_vs_torch")
        ok = "" if ratio is None or target is None else (" ✓" if ratio <= target else " ✗")
        name = f"{r['model']} (inference)" if r["inference"] else r["model"]
        print(f"| {name} | {r['batch']} | {r['ms_per_step']:.2f} | {r['samples_per_s']:.0f} | {r['gflops']:.1f} | "
              f"{100 * r['efficiency']:.0f}% | {r.get('torch_ms_per_step', float('nan')):.2f} | "
              f"{ratio if ratio is not None else 'n/a'}{ok} |"
              + (f" {r['ratio_range'][0]}–{r['ratio_range'][1]} |" if ranges else "")
              + f" {'' if target is None else f'≤ {target}'} |")


def run_all(steps: int, rounds: int = 1) -> None:
    """Every (model, batch) of TARGETS against PyTorch, as a markdown table. With ``rounds`` > 1
    the whole list is run that many times over (so a slow minute of the machine hits every row
    once at most), and each row shows the round with the median nnpy/torch ratio, and the
    range of the ratio over the rounds."""
    print(f"BLAS: {blas_info()}")
    runs = {key: [] for key in TARGETS}
    for _ in range(rounds):
        for model, batch in TARGETS:
            what = ["--inference", model] if model.endswith(".json") else ["--model", model]
            runs[(model, batch)].append(main([*what, "--batch", str(batch), "--steps", str(steps),
                                              "--vs-torch", "--json"], quiet=True))
    rows = []
    for results in runs.values():
        ratios = sorted(r.get("ratio_vs_torch") or 0.0 for r in results)
        row = next(r for r in results if (r.get("ratio_vs_torch") or 0.0) == ratios[(len(ratios) - 1) // 2])
        if rounds > 1:
            row = {**row, "ratio_range": (ratios[0], ratios[-1])}
        rows.append(row)
    print_table(rows)


def main(argv=None, quiet: bool = False) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=sorted(MODELS))
    p.add_argument("--inference", metavar="FILE", help="a file of data/trained_models: time nnpy val's forward")
    p.add_argument("--all", action="store_true", help="every model and batch of the targets, vs PyTorch")
    p.add_argument("--rounds", type=int, default=1, help="with --all: run the whole list this many times")
    p.add_argument("--table", metavar="JSONL", help="print the table of rows saved with --json, one a line")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--vs-torch", action="store_true")
    args = p.parse_args(argv)
    if args.all:
        run_all(args.steps, args.rounds)
        return {}
    if args.table:
        with open(args.table) as f:
            print_table([json.loads(line) for line in f if line.strip()])
        return {}
    if (args.model is None) == (args.inference is None):
        p.error("give --model, --inference, --all or --table")

    gemm = gemm_gflops()
    torch_step = None
    vs_torch = args.vs_torch and torch_available()
    if args.inference:
        step, torch_step, model = make_inference(args.inference, args.batch, vs_torch)
        flops = model.flops() * args.batch                      # forward only
    else:
        step, flops, model = make_nnpy(args.model, args.batch)
        if vs_torch:
            torch_step = make_torch(model, args.model, args.batch)
    time_steps(step, args.warmup)
    if torch_step:
        time_steps(torch_step, args.warmup)
    ours, theirs = [], []
    rounds = max(1, args.steps // 5)
    before, t0 = cpu_seconds(), time.perf_counter()
    for _ in range(rounds):  # interleave in rounds of 5 steps so drift hits both alike
        ours += time_steps(step, 5)
        if torch_step:
            theirs += time_steps(torch_step, 5)
    others = others_share(before, cpu_seconds(), time.perf_counter() - t0)
    ms = 1000 * statistics.median(ours)
    result = {"model": args.inference or args.model, "inference": bool(args.inference), "batch": args.batch,
              "ms_per_step": round(ms, 3),
              "samples_per_s": round(args.batch / ms * 1000, 1),
              "gflops": round(flops / (ms / 1000) / 1e9, 2), "gemm_gflops": round(gemm, 1),
              "efficiency": round(flops / (ms / 1000) / 1e9 / gemm, 3),
              "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "others": others, "blas": blas_info()}
    if theirs:
        torch_ms = 1000 * statistics.median(theirs)
        result["torch_ms_per_step"] = round(torch_ms, 3)
        result["ratio_vs_torch"] = round(ms / torch_ms, 3)
    if quiet:
        return result
    if args.json:
        print(json.dumps(result))
    else:
        print(f"BLAS: {blas_info()}")
        print(f"numpy float32 GEMM (2048³): {gemm:.1f} GFLOP/s")
        print(f"{result['model']} batch {args.batch}: {ms:.2f} ms/step (median of {len(ours)}), "
              f"{result['samples_per_s']:.0f} samples/s, {result['gflops']:.1f} GFLOP/s = "
              f"{100 * result['efficiency']:.1f}% of GEMM, peak RSS {result['peak_mb']:.0f} MB")
        if theirs:
            print(f"PyTorch {result['torch_ms_per_step']:.2f} ms/step → nnpy/torch = {result['ratio_vs_torch']:.2f}")
        if others:
            print(f"during the timed steps: other processes {others[0]:.0f}% of one CPU, steal {others[1]:.0f}%")
    return result


if __name__ == "__main__":
    main()
