"""Time full training steps (forward, loss, backward, optimizer) of the configs' models, and
the inference throughput of the shipped models, against PyTorch on the same CPU — each
library in a process of its own.

    python benchmarks/bench_train.py --model alexnet --batch 64 [--steps 30] [--rounds 3] [--vs-torch] [--json]
    python benchmarks/bench_train.py --inference mnist.json --batch 256 [--vs-torch]
    python benchmarks/bench_train.py --all [--rounds 3]     # every row of TARGETS vs PyTorch, a markdown table
    python benchmarks/bench_train.py --table rows.jsonl     # the table of rows saved with --json
    python benchmarks/bench_train.py --table a.jsonl b.jsonl --pool   # several runs' rounds as one table
    python benchmarks/bench_train.py --all --baseline ../old-checkout   # also this nnpy ÷ an older one

Training data is random but MNIST-shaped (rnn: sequences of length 50 with 1 feature, a tanh
RNN with hidden 64 and a per-step linear head, MSE). ``--inference FILE``: a model of
``data/trained_models`` evaluated as ``nnpy val`` does (``forward(x, training=False)`` on a
batch of ``--batch`` images) against its twin with the same weights in ``eval()`` mode under
``torch.no_grad()``, checked to predict the same classes. The PyTorch twin (``torch_twin.py``)
is the same network layer by layer — same threads as OpenBLAS, float32, same batch, SGD with
momentum.

Why a process per library: after numpy's GEMMs OpenBLAS's worker threads keep spinning for a
while, and so do PyTorch's OpenMP threads after its own; in one process whichever library runs
second finds the cores busy (a PyTorch MLP step measured 2.23 ms alone and 5.6 ms right after
numpy GEMMs in the same process, on a Xeon). So this process only starts workers and
aggregates what they print; it imports neither numpy nor nnpy nor torch. Each round of a row
runs, one after the other, fresh processes of ``--worker``:

    gemm    numpy's float32 GEMM speed (2048³), for the "% of GEMM" column
    nnpy    the nnpy step: --warmup steps, then --steps timed ones (bench_worker_nnpy.py)
    torch   the PyTorch twin's step, the same way (bench_worker_torch.py; never imports nnpy:
            it builds the twin from the model an nnpy ``spec`` process wrote once per row)

nnpy and torch swap which goes first from one round to the next. A row reports the median over
the rounds of each process's median step, and the range (min–max) of those per-round medians;
nnpy/torch is the ratio of the two medians (the targets are on it), its range that of the rounds'
ratios; the next column is the median of those ratios (a round's two processes run back to back,
so a slow minute of the machine slows both). Each worker is a standalone run:
``python benchmarks/bench_train.py --worker torch --model mlp --batch 64`` prints (as JSON) what a
round of ``--model mlp --batch 64 --vs-torch`` gets from it.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# the nnpy to time: this checkout, or another one named by NNPY_BENCH_REPO (--baseline's processes)
sys.path.insert(0, os.environ.get("NNPY_BENCH_REPO") or os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))                # the workers, torch_twin, twin_spec

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

#: The targets of issue 17: (model or shipped file, batch) -> the largest acceptable
#: nnpy/torch ratio of step times (training) or of times per batch (inference).
# nnpy ÷ PyTorch, each in its own process: issue 29's targets (its aims: mlp ≤ 0.8, the rest ≤ 1.0)
TARGETS = {("mlp", 64): 1.0, ("mlp", 256): 1.0, ("alexnet", 64): 1.2, ("alexnet", 256): 1.2,
           ("lenet", 64): 1.2, ("lenet", 128): 1.2, ("resnet", 64): 1.5, ("rnn", 32): 1.0,
           ("mnist.json", 256): 1.0, ("fashion-mnist.json", 256): 1.5}

#: --worker KIND runs ``run_KIND(args)`` of this module, in a process of its own.
WORKERS = {"nnpy": "bench_worker_nnpy", "gemm": "bench_worker_nnpy", "spec": "bench_worker_nnpy",
           "torch": "bench_worker_torch"}
#: The modules a process reports having imported: a timing process must hold one library only.
WATCHED = ("numpy", "nnpy.nn", "torch")
#: The environment variables that set the BLAS kernel and the threads, printed with each table.
THREAD_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


# ---- used inside the workers (standard library only) -------------------------------------

def time_steps(step, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        out.append(time.perf_counter() - t)
    return out


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


def measure(step, warmup: int, steps: int) -> dict:
    """``warmup`` untimed calls of ``step``, then ``steps`` timed ones: their median in ms, and
    the CPU share of other processes meanwhile."""
    time_steps(step, warmup)
    before, t0 = cpu_seconds(), time.perf_counter()
    times = time_steps(step, steps)
    return {"ms_per_step": round(1000 * statistics.median(times), 3), "steps": steps,
            "others": others_share(before, cpu_seconds(), time.perf_counter() - t0)}


def blas_threads() -> int:
    """The threads OpenBLAS uses (OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, else every CPU):
    PyTorch is given as many."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").strip().isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def imported_modules() -> list[str]:
    """Which of ``WATCHED`` this process has imported."""
    return [name for name in WATCHED if name in sys.modules]


# ---- the parent: starts the workers, aggregates ----------------------------------------

def target_args(name: str, batch: int) -> list[str]:
    """The command-line arguments naming one row: a model of MODELS or a shipped file."""
    return ["--inference" if name.endswith(".json") else "--model", name, "--batch", str(batch)]


def run_worker(kind: str, argv: list[str], repo: str | None = None) -> dict:
    """Run ``--worker kind`` in a fresh process and return the JSON line it printed; ``repo``:
    time the nnpy of that checkout instead of this one."""
    env = {**os.environ, "NNPY_BENCH_REPO": repo} if repo else None
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", kind, *argv],
                          capture_output=True, text=True, env=env)
    sys.stderr.write(done.stderr if done.returncode == 0 else "")
    if done.returncode != 0:
        raise SystemExit(f"bench_train: the {kind} process failed ({' '.join(argv)}):\n"
                         f"{done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_spec(target: list[str], directory: str) -> str:
    """Have an nnpy process write the row's model (twin_spec.py) into ``directory``; return it."""
    run_worker("spec", [*target, "--out", directory])
    return directory


def one_round(target: list[str], round_index: int, spec: str | None, args) -> dict:
    """One round of a row: the GEMM process, then nnpy's and (with a ``spec``) PyTorch's, the
    one that goes first swapping with each round. Returns each worker's JSON by kind."""
    timing = [*target, "--steps", str(args.steps), "--warmup", str(args.warmup)]
    result = {"gemm": run_worker("gemm", ["--gemm-size", str(args.gemm_size)])}
    order = ["nnpy", *(["torch"] if spec else []), *(["baseline"] if args.baseline else [])]
    shift = round_index % len(order)                        # each goes first in turn
    for kind in order[shift:] + order[:shift]:
        if kind == "baseline":
            result[kind] = run_worker("nnpy", timing, repo=args.baseline)
        else:
            result[kind] = run_worker(kind, timing + (["--spec", spec] if kind == "torch" else []))
    return result


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo (Linux), with the number of CPUs."""
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        name = None
    import platform
    return f"{name or platform.processor() or 'unknown CPU'}, {os.cpu_count()} CPUs"


def environment(first: dict) -> dict:
    """What the table was measured on: CPU, numpy and its BLAS (from the nnpy process), PyTorch
    and its threads (from the torch process), the thread variables that were set."""
    env = {"cpu": cpu_model(), "numpy": first["nnpy"]["numpy"], "blas": "; ".join(first["nnpy"]["blas"]),
           "vars": {var: os.environ[var] for var in THREAD_VARS if var in os.environ}}
    if "torch" in first:
        env["torch"] = f"{first['torch']['torch']}, {first['torch']['threads']} threads"
    return env


def spread(values: list[float], digits: int = 3) -> list[float]:
    return [round(min(values), digits), round(max(values), digits)]


def worst_others(runs: list[dict]) -> list[float] | None:
    """The largest CPU share of other processes, and of the hypervisor, over the timing processes."""
    return worst_share([r[k]["others"] for r in runs for k in ("nnpy", "torch") if k in r])


def worst_share(shares: list) -> list[float] | None:
    """[the largest share of other processes, the largest stolen] of (others, stolen) pairs (None: unknown)."""
    shares = [s for s in shares if s]
    return [max(o for o, _ in shares), max(s for _, s in shares)] if shares else None


#: the row's keys for another kind of process timed beside nnpy: its median ms/step, their range,
#: nnpy ÷ it (medians), and the range of the rounds' ratios
COMPARED = {"torch": ("torch_ms_per_step", "torch_ms_range", "ratio_vs_torch", "ratio_range"),
            "baseline": ("baseline_ms_per_step", "baseline_ms_range", "ratio_vs_baseline", "baseline_ratio_range")}


def summarize(name: str, batch: int, runs: list[dict], args) -> dict:
    """A row of the table from its rounds (each ``one_round``'s result). ``per_round`` keeps each
    round's figures (ms per step by kind of process, the GEMM's GFLOP/s), so that rows of several
    runs can be pooled later (``pool``)."""
    per_round = {"nnpy": [r["nnpy"]["ms_per_step"] for r in runs], "gemm": [r["gemm"]["gflops"] for r in runs]}
    per_round.update({kind: [r[kind]["ms_per_step"] for r in runs] for kind in COMPARED if kind in runs[0]})
    row = {"model": name, "inference": name.endswith(".json"), "batch": batch, "flops": runs[0]["nnpy"]["flops"],
           "peak_mb": max(r["nnpy"]["peak_mb"] for r in runs), "others": worst_others(runs),
           "method": {"rounds": len(runs), "steps": args.steps, "warmup": args.warmup, "gemm_size": args.gemm_size},
           "env": environment(runs[0]),
           "imported": {kind: runs[0][kind]["imported"] for kind in runs[0]}}
    row["imported"]["parent"] = imported_modules()
    return {**row, **figures(row["flops"], batch, per_round)}


def figures(flops: float, batch: int, per_round: dict) -> dict:
    """A row's figures from its rounds: medians over them, their ranges, nnpy ÷ each other kind."""
    ours, gemms = per_round["nnpy"], per_round["gemm"]
    ms, gemm = statistics.median(ours), statistics.median(gemms)
    gflops = flops / ms / 1e6
    row = {"ms_per_step": round(ms, 3), "ms_range": spread(ours), "samples_per_s": round(batch / ms * 1000, 1),
           "gflops": round(gflops, 2), "gemm_gflops": round(gemm, 1), "gemm_range": spread(gemms, 1),
           "efficiency": round(gflops / gemm, 3), "per_round": per_round}
    for kind, keys in COMPARED.items():                 # PyTorch's processes, --baseline's
        if kind in per_round:
            theirs = per_round[kind]
            ratios = [a / b for a, b in zip(ours, theirs)]
            row.update(zip(keys, (round(statistics.median(theirs), 3), spread(theirs),
                                  round(ms / statistics.median(theirs), 3), spread(ratios))))
            if kind == "torch":
                # each round's two processes ran back to back, so a slow minute of the machine slows
                # both: the median of the rounds' own ratios, beside the ratio of the medians (the target's)
                row["ratio_paired"] = round(statistics.median(ratios), 3)
    return row


def pool(rows: list[dict]) -> list[dict]:
    """Rows of the same model and batch from several runs (``--table A B --pool``) as one row
    over all their rounds: on a noisy machine one run's few rounds can land on either side of a
    target, the median of many is steadier. Only rows that kept their rounds (``per_round``) and
    were measured on the same set-up pool; a row alone stays as it is."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["batch"]), []).append(r)
    pooled = []
    for (name, batch), group in groups.items():
        if len(group) == 1:
            pooled.append(group[0])
            continue
        if any("per_round" not in r for r in group):
            raise SystemExit(f"bench_train: --pool: a row of {name} (batch {batch}) has no per-round "
                             f"figures (measured before they were kept): leave its file out")
        if any(r["env"] != group[0]["env"] or r["method"]["steps"] != group[0]["method"]["steps"] for r in group):
            raise SystemExit(f"bench_train: --pool: the rows of {name} (batch {batch}) were measured on "
                             f"different set-ups (CPU, libraries, threads or steps): pool like with like")
        kinds = [k for k in group[0]["per_round"] if all(k in r["per_round"] for r in group)]
        per_round = {k: [v for r in group for v in r["per_round"][k]] for k in kinds}
        row = {"model": name, "inference": group[0]["inference"], "batch": batch, "flops": group[0]["flops"],
               "peak_mb": max(r["peak_mb"] for r in group),
               "others": worst_share([r.get("others") for r in group]),
               "method": {**group[0]["method"], "rounds": len(per_round["nnpy"]), "runs": len(group)},
               "env": group[0]["env"], "imported": group[0]["imported"]}
        pooled.append({**row, **figures(row["flops"], batch, per_round)})
    return pooled


def torch_installed() -> bool:
    """PyTorch importable (found, not imported: this process stays free of it)."""
    if importlib.util.find_spec("torch") is None:
        print("PyTorch is not installed: --vs-torch skipped", file=sys.stderr)
        return False
    return True


def run_rows(targets: list[tuple[str, int]], args) -> list[dict]:
    """Every (model or file, batch) of ``targets``, ``args.rounds`` times over (the whole list
    each round, so a slow minute of the machine hits every row once at most)."""
    runs = {t: [] for t in targets}
    with tempfile.TemporaryDirectory() as tmp:
        specs = {}
        if args.vs_torch and torch_installed():
            for i, (name, batch) in enumerate(targets):
                os.mkdir(os.path.join(tmp, str(i)))
                specs[(name, batch)] = write_spec(target_args(name, batch), os.path.join(tmp, str(i)))
        for r in range(args.rounds):
            for name, batch in targets:
                runs[(name, batch)].append(one_round(target_args(name, batch), r, specs.get((name, batch)), args))
    return [summarize(name, batch, runs[(name, batch)], args) for name, batch in targets]


def range_note(bounds, digits: int = 2) -> str:
    """" (min–max)" over the rounds of a row measured in several, else nothing."""
    return "" if not bounds or bounds[0] == bounds[1] else f" ({bounds[0]:.{digits}f}–{bounds[1]:.{digits}f})"


def print_header(rows: list[dict]) -> None:
    """Where and how the rows were measured (each distinct set-up once)."""
    seen = []
    for env in (r["env"] for r in rows):
        if env in seen:
            continue
        seen.append(env)
        print(f"CPU: {env['cpu']}")
        print(f"numpy {env['numpy']}, BLAS: {env['blas']}")
        print(f"PyTorch {env['torch']}" if "torch" in env else "PyTorch: not timed")
        print("environment: " + (", ".join(f"{k}={v}" for k, v in env["vars"].items())
                                 or f"none of {', '.join(THREAD_VARS)} set"))
    m = rows[0]["method"]
    pooled = f" (pooled from {m['runs']} runs)" if m.get("runs") else ""
    print(f"method: each library in a process of its own, {m['rounds']} round(s){pooled} alternating which goes "
          f"first; in each process {m['warmup']} warm-up steps, then the median of {m['steps']}; a cell is "
          f"the median over the rounds (min–max of the rounds in brackets)")
    gemms = [g for r in rows for g in r["gemm_range"]]
    print(f"numpy float32 GEMM: {min(gemms):.0f}–{max(gemms):.0f} GFLOP/s "
          f"({m['gemm_size']}³, a process of its own each round of each row)")
    shares = [r["others"] for r in rows if r.get("others")]
    if shares:
        print(f"other processes used at most {max(o for o, _ in shares):.0f}% of one CPU while a process "
              f"timed, the hypervisor stole at most {max(s for _, s in shares):.0f}%")


def print_table(rows: list[dict]) -> None:
    """The markdown table of ``run_rows`` results, with each row's target."""
    print_header(rows)
    if any("ratio_vs_baseline" in r for r in rows):
        print_baseline_table(rows)
    print("\n| model | batch | nnpy ms/step | samples/s | GFLOP/s | % of GEMM | PyTorch ms/step | nnpy/torch | "
          "rounds' ratios: median | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        target = TARGETS.get((r["model"], r["batch"]))
        ratio = r.get("ratio_vs_torch")
        ok = "" if ratio is None or target is None else (" ✓" if ratio <= target else " ✗")
        name = f"{r['model']} (inference)" if r["inference"] else r["model"]
        theirs = "n/a" if ratio is None else f"{r['torch_ms_per_step']:.2f}{range_note(r['torch_ms_range'])}"
        ratio_text = "n/a" if ratio is None else f"{ratio:.2f}{ok}{range_note(r['ratio_range'])}"
        paired = f"{r['ratio_paired']:.2f}" if "ratio_paired" in r else "–"
        print(f"| {name} | {r['batch']} | {r['ms_per_step']:.2f}{range_note(r['ms_range'])} | {r['samples_per_s']:.0f} | "
              f"{r['gflops']:.1f} | {100 * r['efficiency']:.0f}% | {theirs} | {ratio_text} | {paired} | "
              f"{'' if target is None else f'≤ {target}'} |")


def print_baseline_table(rows: list[dict]) -> None:
    """This checkout's nnpy against ``--baseline``'s, timed in alternating processes."""
    print("\n| model | batch | nnpy now ms/step | baseline ms/step | now/baseline |")
    print("|---|---|---|---|---|")
    for r in rows:
        if "ratio_vs_baseline" not in r:        # a run without --baseline, in the same file
            continue
        name = f"{r['model']} (inference)" if r["inference"] else r["model"]
        print(f"| {name} | {r['batch']} | {r['ms_per_step']:.2f}{range_note(r['ms_range'])} | "
              f"{r['baseline_ms_per_step']:.2f}{range_note(r['baseline_ms_range'])} | "
              f"{r['ratio_vs_baseline']:.3f}{range_note(r['baseline_ratio_range'], 3)} |")


def run_as_worker(args) -> None:
    """``--worker KIND``: run the worker in this process, print its result as one JSON line."""
    if args.worker != "gemm" and (args.model is None) == (args.inference is None):
        raise SystemExit(f"--worker {args.worker} needs --model or --inference")
    if args.worker == "spec" and not args.out:
        raise SystemExit("--worker spec needs --out DIR")
    result = getattr(importlib.import_module(WORKERS[args.worker]), f"run_{args.worker}")(args)
    print(json.dumps({"worker": args.worker, **result, "imported": imported_modules()}))


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=sorted(MODELS))
    p.add_argument("--inference", metavar="FILE", help="a file of data/trained_models: time nnpy val's forward")
    p.add_argument("--all", action="store_true", help="every model and batch of the targets, vs PyTorch")
    p.add_argument("--rounds", type=int, default=3, help="fresh processes per library and row (default 3)")
    p.add_argument("--table", metavar="JSONL", nargs="+", help="print the table of rows saved with --json, one a line")
    p.add_argument("--pool", action="store_true", help="(--table) the rows of one model and batch from several "
                   "runs as one row over all their rounds")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=30, help="timed steps in each process")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps in each process before them")
    p.add_argument("--gemm-size", type=int, default=2048, help="n of the n³ GEMM of the %% of GEMM column")
    p.add_argument("--json", action="store_true", help="the rows as JSON lines instead of the table")
    p.add_argument("--vs-torch", action="store_true")
    p.add_argument("--baseline", metavar="REPO", help="another nnpy checkout (an older commit), timed the same "
                   "way in processes of its own, alternating: the now/baseline column")
    p.add_argument("--worker", choices=sorted(WORKERS), help="(internal) be one timing process, print JSON")
    p.add_argument("--spec", metavar="DIR", help="(--worker torch) the model as a spec process wrote it")
    p.add_argument("--out", metavar="DIR", help="(--worker spec) where to write the model")
    args = p.parse_args(argv)
    if args.worker:
        run_as_worker(args)
        return []
    if args.pool and not args.table:
        p.error("--pool goes with --table")
    if args.table:
        rows = []
        for name in args.table:
            try:
                with open(name) as f:
                    lines = [line for line in f if line.strip()]
                rows += [json.loads(line) for line in lines]
            except (OSError, ValueError) as exc:
                raise SystemExit(f"bench_train: --table {name}: {exc}")
            if not lines:
                raise SystemExit(f"bench_train: --table {name}: no rows (a run still writing it, or one that failed?)")
        print_table(pool(rows) if args.pool else rows)
        return []
    if args.all:
        args.vs_torch = True
        targets = list(TARGETS)
    elif (args.model is None) == (args.inference is None):
        p.error("give --model, --inference, --all or --table")
    else:
        targets = [(args.inference or args.model, args.batch)]
    rows = run_rows(targets, args)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print_table(rows)
    return rows


if __name__ == "__main__":
    main()
