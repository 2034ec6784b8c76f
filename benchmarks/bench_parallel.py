"""Data-parallel training speed: 1 process × 2 BLAS threads against 2 processes × 1 thread, the
share of time in Allreduce, and a cost-model projection to 8, 32 and 128 processes.

    pip install -e ".[mpi,plot]"
    python benchmarks/bench_parallel.py [--rounds 5] [--steps 12] [--png benchmarks/parallel.png] [--json]

Measured, on this machine: each set-up trains ``configs/alexnet.yaml`` (MNIST, global batch
128) through ``nnpy.engine.run.train`` — the path of ``nnpy train`` — in a fresh process
(``mpiexec -n 2`` for the second), for 3 warm-up steps and ``--steps`` timed ones. The two
set-ups run alternately, ``--rounds`` times each; a figure is the median over rounds of a
run's median step. A step is from one step's end to the next (data, forward, backward,
Allreduce, optimizer). The Allreduce share is the loop's ``allreduce`` phase (the gradient
buffer; it includes waiting for the slower process) over the step time.

Projected (a model, not a measurement): ``N`` processes, one per machine, each training 64
samples per step (the measured per-process batch, so the global batch grows as 64·N) in the
measured compute time per step ``t_c`` (2 × 1 run: step time minus Allreduce time). A step
adds a ring all-reduce of the float32 gradients (``B`` bytes) and the one-integer stop flag:

    t_comm(N) = 2·(N − 1)/N · B / bandwidth + 2 · latency · log2 N
    efficiency(N) = t_c / (t_c + t_comm(N)),   samples/s = 64·N / (t_c + t_comm(N))

at 10 Gbit/s (latency 25 µs, TCP Ethernet) and 100 Gbit/s (latency 5 µs, RDMA), the link at
its full rate, no overlap of communication with backward (nnpy reduces after backward).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "alexnet.yaml"
WARMUP, BATCH, PER_PROCESS = 3, 128, 64
NETWORKS = (("10 Gbit/s", 10e9, 25e-6), ("100 Gbit/s", 100e9, 5e-6))
PROJECTED = (2, 8, 32, 128)


# ---- one measurement (the worker: one process, or each process under mpiexec) -------------
def worker(threads: int, steps: int, out: str) -> None:
    from threadpoolctl import threadpool_limits

    from nnpy.engine.parallel import communicator
    from nnpy.engine.plan import load_plan
    from nnpy.engine.run import train
    from nnpy.engine.callbacks import Callback

    comm = communicator()                           # MPI started (several processes) or not
    threadpool_limits(threads, user_api="blas")      # exactly the threads this set-up asks for

    class StepClock(Callback):
        def __init__(self):
            self.ends, self.allreduce = [], []

        def on_batch_end(self, trainer):
            self.ends.append(time.perf_counter())
            self.allreduce.append(trainer.timer.totals.get("allreduce", 0.0))

    folder = Path(out).with_suffix("")
    overrides = [f"data.limit={BATCH * (WARMUP + steps + 1)}", "data.val_split=0", "train.epochs=1",
                 f"checkpoint.dir={folder}/ck", f"log.dir={folder}/runs", "checkpoint.save_best=false",
                 "checkpoint.monitor=train_loss"]
    plan = load_plan(CONFIG, overrides)
    clock = StepClock()
    with open(os.devnull, "w") as quiet:
        train(plan, stdout=quiet, progress=False, callbacks=[clock])
    if comm.rank == 0:
        step = [b - a for a, b in zip(clock.ends, clock.ends[1:])][WARMUP:]
        reduce = [b - a for a, b in zip(clock.allreduce, clock.allreduce[1:])][WARMUP:]
        Path(out).write_text(json.dumps({"step": step, "allreduce": reduce, "processes": comm.size,
                                         "threads": threads, "params": plan.model.count_params()}))


# ---- the driver ---------------------------------------------------------------------------
def measure(processes: int, threads: int, steps: int, folder: Path, k: int) -> dict:
    out = folder / f"run{k}.json"
    cmd = [sys.executable, __file__, "--worker", "--threads", str(threads), "--steps", str(steps), "--out", str(out)]
    if processes > 1:
        cmd = [mpiexec(), "-n", str(processes), *cmd]
    subprocess.run(cmd, check=True, cwd=folder, timeout=900)
    run = json.loads(out.read_text())
    step = statistics.median(run["step"])
    run["step_s"] = step
    run["allreduce_share"] = sum(run["allreduce"]) / sum(run["step"])
    run["allreduce_s"] = run["allreduce_share"] * step
    return run


def mpiexec() -> str:
    import shutil
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("mpiexec", path=path)
    if not found:
        sys.exit('bench_parallel.py: mpiexec not found: pip install -e ".[mpi]"')
    return found


def comm_seconds(n: int, gradient_bytes: int, bandwidth: float, latency: float) -> float:
    """A step's communication on ``n`` processes: a ring all-reduce of the gradients, and two
    all-reduce latencies (the gradient buffer's and the stop flag's)."""
    return 2 * (n - 1) / n * gradient_bytes * 8 / bandwidth + 2 * latency * math.log2(n)


def projection(compute_s: float, gradient_bytes: int) -> list[dict]:
    rows = []
    for network, bandwidth, latency in NETWORKS:
        for n in PROJECTED:
            comm = comm_seconds(n, gradient_bytes, bandwidth, latency)
            rows.append({"network": network, "processes": n, "comm_ms": 1e3 * comm,
                         "step_ms": 1e3 * (compute_s + comm), "efficiency": compute_s / (compute_s + comm),
                         "samples_per_s": PER_PROCESS * n / (compute_s + comm)})
    return rows


def report(setups: dict, rows: list[dict], compute_s: float, gradient_bytes: int) -> str:
    lines = ["| set-up | global batch | ms/step | per round (ms/step) | samples/s | Allreduce share | |",
             "|---|---|---|---|---|---|---|"]
    for name, runs in setups.items():
        step = statistics.median(r["step_s"] for r in runs)
        share = statistics.median(r["allreduce_share"] for r in runs)
        rounds = " ".join(f"{1e3 * r['step_s']:.0f}" for r in runs)
        lines.append(f"| {name} | {BATCH} | {1e3 * step:.1f} | {rounds} | {BATCH / step:.0f} | "
                     f"{'—' if runs[0]['processes'] == 1 else f'{100 * share:.1f}%'} | measured |")
    lines += ["", f"Projection: t_c = {1e3 * compute_s:.1f} ms per step of {PER_PROCESS} samples per process, "
              f"B = {gradient_bytes / 1e6:.2f} MB of float32 gradients.", "",
              "| network | processes | global batch | all-reduce ms | ms/step | efficiency | samples/s | |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['processes']} | {PER_PROCESS * r['processes']} | {r['comm_ms']:.2f} | "
                     f"{r['step_ms']:.1f} | {100 * r['efficiency']:.1f}% | {r['samples_per_s']:.0f} | projected |")
    return "\n".join(lines)


def plot(compute_s: float, gradient_bytes: int, measured: float, path: Path) -> None:
    from nnpy.viz import new_figure

    fig = new_figure((9, 3.6))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ns = [2 ** k for k in range(1, 8)]
    for network, bandwidth, latency in NETWORKS:
        comm = [comm_seconds(n, gradient_bytes, bandwidth, latency) for n in ns]
        left.plot(ns, [100 * compute_s / (compute_s + c) for c in comm], marker="o", label=f"{network} (projected)")
        right.plot(ns, [PER_PROCESS * n / (compute_s + c) for n, c in zip(ns, comm)], marker="o",
                   label=f"{network} (projected)")
    right.plot(ns, [PER_PROCESS * n / compute_s for n in ns], "k--", linewidth=1, label="ideal")
    right.plot([2], [measured], "r*", markersize=12, label="measured, 2 processes, 1 machine")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.set_xlabel("processes (one per machine, 64 samples each)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    right.set_yscale("log")
    left.set_ylim(50, 100)
    left.set_ylabel("scaling efficiency (%)")
    right.set_ylabel("samples/s")
    left.set_title("configs/alexnet.yaml, data-parallel: efficiency", fontsize=9)
    right.set_title("throughput", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--png", default=None, help="write the projection plot here (needs matplotlib)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.threads, args.steps, args.out)
    setups = {"1 process × 2 BLAS threads": (1, 2), "2 processes × 1 BLAS thread": (2, 1)}
    runs = {name: [] for name in setups}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):                   # alternate, starting with each in turn
            order = list(setups.items()) if k % 2 == 0 else list(setups.items())[::-1]
            for i, (name, (processes, threads)) in enumerate(order):
                runs[name].append(measure(processes, threads, args.steps, Path(tmp), 2 * k + i))
    two = runs["2 processes × 1 BLAS thread"]
    compute_s = statistics.median(r["step_s"] - r["allreduce_s"] for r in two)
    gradient_bytes = 4 * two[0]["params"]
    rows = projection(compute_s, gradient_bytes)
    measured = BATCH / statistics.median(r["step_s"] for r in two)
    if args.json:
        print(json.dumps({"runs": runs, "compute_s": compute_s, "projection": rows}))
    else:
        print(report(runs, rows, compute_s, gradient_bytes))
    if args.png:
        plot(compute_s, gradient_bytes, measured, Path(args.png))
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
