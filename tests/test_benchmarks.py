"""benchmarks/bench_train.py times each library in a process of its own (issue 29).

In one process, OpenBLAS's threads still spinning after numpy's GEMMs slowed PyTorch's next
step 2.5× (and PyTorch's OpenMP threads nnpy's): these tests check that no timing process
holds both libraries, and that the parent that starts them holds neither. The workers run
for a step or two on tiny batches, with one BLAS thread.
"""
import ast
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.prerequisites import REPO, missing, require_module

BENCH = REPO / "benchmarks"
ONE_THREAD = {**{k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_CORETYPE")},
              "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def bench(*argv: str) -> list[dict]:
    """The JSON lines ``bench_train.py argv`` prints."""
    done = subprocess.run([sys.executable, str(BENCH / "bench_train.py"), *argv], env=ONE_THREAD,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def bench_train(monkeypatch):
    """benchmarks/bench_train.py as a module (its sys.path entries undone after the test)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("bench_train", BENCH / "bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_parent_and_the_nnpy_process_never_hold_pytorch():
    (row,) = bench("--model", "mlp", "--batch", "2", "--steps", "2", "--warmup", "1", "--rounds", "1",
                   "--gemm-size", "64", "--json")
    assert row["imported"]["parent"] == []                      # neither numpy nor nnpy nor torch
    assert row["imported"]["nnpy"] == ["numpy", "nnpy.nn"]      # it did run nnpy's layers...
    assert row["imported"]["gemm"] == ["numpy", "nnpy.nn"]      # ... and the GEMM no torch either
    assert row["ms_per_step"] > 0 and row["gemm_gflops"] > 0 and "torch_ms_per_step" not in row
    # the table's set-up lines come from the processes that timed
    assert row["env"]["vars"] == {"OPENBLAS_NUM_THREADS": "1"}
    assert row["env"]["numpy"] and "1 threads" in row["env"]["blas"] and row["env"]["cpu"]


def test_the_pytorch_process_never_imports_nnpy():
    """The twin of a shipped model, built in the PyTorch process from the model an nnpy process
    wrote as data, predicts what nnpy predicted (the worker exits 1 otherwise)."""
    if importlib.util.find_spec("torch") is None:
        missing("torch is not installed (.ci/run installs it)")
    (result,) = bench("--worker", "torch", "--inference", "mnist.json", "--batch", "8", "--steps", "1",
                      "--warmup", "0")
    assert result["imported"] == ["numpy", "torch"]             # numpy comes with torch; no nnpy
    assert result["threads"] == 1 and result["ms_per_step"] > 0  # as many threads as OpenBLAS


def imports_of(path) -> set[str]:
    """The top-level package of every import statement in ``path``, inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("file, forbidden", [
    ("bench_train.py", {"numpy", "nnpy", "torch"}),    # the parent; workers are imported by name
    ("bench_worker_torch.py", {"nnpy", "bench_worker_nnpy"}),
    ("torch_twin.py", {"nnpy"}),
    ("twin_spec.py", {"nnpy", "torch"}),
    ("bench_worker_nnpy.py", {"torch", "torch_twin", "bench_worker_torch"}),
])
def test_each_side_imports_only_its_own_library(file, forbidden):
    assert not imports_of(BENCH / file) & forbidden


def test_rounds_alternate_which_library_goes_first(bench_train, monkeypatch):
    started = []
    monkeypatch.setattr(bench_train, "run_worker",
                        lambda kind, argv, repo=None: started.append(kind + ("@old" if repo else "")) or {})
    options = type("Args", (), {"steps": 3, "warmup": 1, "gemm_size": 64, "baseline": None})
    for r in range(3):
        bench_train.one_round(["--model", "mlp", "--batch", "2"], r, "spec-dir", options)
    assert started == ["gemm", "nnpy", "torch", "gemm", "torch", "nnpy", "gemm", "nnpy", "torch"]
    started.clear()
    options.baseline = "old"                         # a third process kind: each goes first in turn
    for r in range(3):
        bench_train.one_round(["--model", "mlp", "--batch", "2"], r, "spec-dir", options)
    assert started == ["gemm", "nnpy", "torch", "nnpy@old", "gemm", "torch", "nnpy@old", "nnpy",
                       "gemm", "nnpy@old", "nnpy", "torch"]


def test_a_row_is_the_median_over_rounds_with_their_range(bench_train):
    def round_(ours, theirs, gemm):
        return {"gemm": {"gflops": gemm, "imported": []},
                "nnpy": {"ms_per_step": ours, "flops": 2e9, "peak_mb": 50.0, "others": [3.0, 0.0],
                         "numpy": "2.x", "blas": ["openblas"], "imported": []},
                "torch": {"ms_per_step": theirs, "others": [7.0, 1.0], "torch": "2.x", "threads": 2, "imported": []}}
    options = type("Args", (), {"steps": 3, "warmup": 1, "gemm_size": 64})
    row = bench_train.summarize("mlp", 64, [round_(10, 20, 100), round_(30, 20, 90), round_(20, 40, 110)], options)
    assert (row["ms_per_step"], row["ms_range"]) == (20, [10, 30])
    assert (row["torch_ms_per_step"], row["torch_ms_range"]) == (20, [20, 40])
    assert (row["ratio_vs_torch"], row["ratio_range"]) == (1.0, [0.5, 1.5])   # per-round ratios 0.5, 1.5, 0.5
    assert row["ratio_paired"] == 0.5                                           # their median
    assert row["gflops"] == 100.0 and row["efficiency"] == 1.0                 # 2 GFLOP in 20 ms; GEMM median 100
    assert row["others"] == [7.0, 1.0] and row["env"]["torch"] == "2.x, 2 threads"


def test_a_table_of_runs_with_and_without_a_baseline_prints_both(bench_train, capsys):
    """``--table`` of a file that holds a ``--baseline`` run and a run without one (results/ keeps
    several runs of a day in one file): every row in the main table, the baseline's rows in its own."""
    def round_(ours):
        return {"gemm": {"gflops": 100, "imported": []},
                "nnpy": {"ms_per_step": ours, "flops": 2e9, "peak_mb": 50.0, "others": [3.0, 0.0],
                         "numpy": "2.x", "blas": ["openblas"], "imported": []},
                "torch": {"ms_per_step": 20, "others": [7.0, 1.0], "torch": "2.x", "threads": 2, "imported": []}}
    options = type("Args", (), {"steps": 3, "warmup": 1, "gemm_size": 64})
    plain = bench_train.summarize("resnet", 64, [round_(30)], options)
    with_baseline = {**bench_train.summarize("resnet", 64, [round_(25)], options), "baseline_ms_per_step": 27.0,
                     "baseline_ms_range": [26.0, 28.0], "ratio_vs_baseline": 0.926, "baseline_ratio_range": [0.9, 0.95]}
    bench_train.print_table([with_baseline, plain])
    out = capsys.readouterr().out
    assert out.count("| resnet | 64 |") == 3 and "0.926" in out and "1.50" in out and "1.25" in out


def test_a_baseline_checkout_is_timed_in_processes_of_its_own(tmp_path):
    """--baseline REPO: the other checkout's nnpy is what its processes import (NNPY_BENCH_REPO)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    fake = tmp_path / "old"
    (fake / "nnpy").mkdir(parents=True)
    (fake / "nnpy" / "__init__.py").write_text("raise ImportError('the baseline checkout was imported')\n")
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "bench_train.py"), "--worker", "nnpy",
                           "--model", "mlp", "--batch", "2", "--steps", "1", "--warmup", "0"],
                          capture_output=True, text=True, env={**__import__("os").environ, "NNPY_BENCH_REPO": str(fake)})
    assert done.returncode != 0 and "the baseline checkout was imported" in done.stderr
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "bench_train.py"), "--worker", "nnpy",
                           "--model", "mlp", "--batch", "2", "--steps", "1", "--warmup", "0"],
                          capture_output=True, text=True, env={**__import__("os").environ, "NNPY_BENCH_REPO": str(repo)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["ms_per_step"] > 0


@pytest.mark.parametrize("lib, other", [("nnpy", "torch"), ("torch", "nnpy")])
def test_the_generation_benchmark_times_each_library_in_a_process_without_the_other(lib, other):
    """bench_generate.py's workers: each generates characters and never imports the other library."""
    require_module("torch")
    code = (f"import sys; sys.argv = ['bench_generate.py', '--lib', '{lib}', '--tokens', '3', '--threads', '1']; "
            f"sys.path.insert(0, {str(BENCH)!r}); import runpy; runpy.run_path({str(BENCH / 'bench_generate.py')!r}, "
            f"run_name='__main__'); print('{other}' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=ONE_THREAD, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report, imported_other = done.stdout.splitlines()[-2:]
    assert json.loads(report)["lib"] == lib and json.loads(report)["chars_per_s"] > 0
    assert imported_other == "False"


def _round(ours, theirs, gemm=100.0, blas="openblas"):
    return {"gemm": {"gflops": gemm, "imported": []},
            "nnpy": {"ms_per_step": ours, "flops": 2e9, "peak_mb": 50.0, "others": [3.0, 0.0],
                     "numpy": "2.x", "blas": [blas], "imported": []},
            "torch": {"ms_per_step": theirs, "others": [7.0, 1.0], "torch": "2.x", "threads": 2, "imported": []}}


def test_pooled_runs_are_one_row_over_all_their_rounds(bench_train, tmp_path, capsys):
    """``--table A B --pool``: the rows of one model and batch from two runs become one row whose
    medians and ranges are over the rounds of both (here 5: ours 10 20 30 40 50, theirs 20 each)."""
    options = type("Args", (), {"steps": 3, "warmup": 1, "gemm_size": 64})
    first = bench_train.summarize("resnet", 64, [_round(10, 20), _round(50, 20, 120)], options)
    second = bench_train.summarize("resnet", 64, [_round(30, 20), _round(20, 20), _round(40, 20, 80)], options)
    mlp = bench_train.summarize("mlp", 64, [_round(3, 4)], options)
    assert first["ratio_vs_torch"] == 1.5 and second["ratio_vs_torch"] == 1.5      # medians 30 and 30
    pooled = bench_train.pool([first, mlp, second])
    assert [r["model"] for r in pooled] == ["resnet", "mlp"] and pooled[1] == mlp     # alone: as it was
    row = pooled[0]
    assert (row["ms_per_step"], row["ms_range"], row["method"]["rounds"], row["method"]["runs"]) == (30, [10, 50], 5, 2)
    assert (row["ratio_vs_torch"], row["ratio_range"]) == (1.5, [0.5, 2.5])
    assert (row["gemm_gflops"], row["gemm_range"]) == (100, [80, 120])
    files = []
    for i, rows in enumerate(([first, mlp], [second])):
        files.append(tmp_path / f"run{i}.jsonl")
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in rows))
    bench_train.main(["--table", *map(str, files), "--pool"])
    out = capsys.readouterr().out
    assert "5 round(s) (pooled from 2 runs)" in out
    assert out.count("| resnet | 64 |") == 1 and "| mlp | 64 |" in out
    bench_train.main(["--table", *map(str, files)])                    # unpooled: each run's row
    assert capsys.readouterr().out.count("| resnet | 64 |") == 2


def test_rows_that_cannot_be_pooled_are_refused_in_one_line(bench_train):
    """Rows saved before the rounds were kept, or measured on another set-up, are not pooled."""
    options = type("Args", (), {"steps": 3, "warmup": 1, "gemm_size": 64})
    row = bench_train.summarize("resnet", 64, [_round(10, 20)], options)
    old = {k: v for k, v in row.items() if k != "per_round"}
    with pytest.raises(SystemExit, match="resnet .batch 64. has no per-round figures"):
        bench_train.pool([row, old])
    other_blas = bench_train.summarize("resnet", 64, [_round(10, 20, blas="mkl")], options)
    with pytest.raises(SystemExit, match="different set-ups"):
        bench_train.pool([row, other_blas])


def test_a_table_of_an_empty_or_unreadable_file_is_one_line(bench_train, tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "torn.jsonl").write_text('{"model": "mlp", "bat\n')
    for name, words in (("empty.jsonl", "no rows"), ("torn.jsonl", "torn.jsonl: "), ("absent.jsonl", "No such file")):
        with pytest.raises(SystemExit, match=words):
            bench_train.main(["--table", str(tmp_path / name)])
