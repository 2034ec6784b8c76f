"""nnpy.nn.memory: freed arrays stay in the process, so a repeated step faults no new pages in."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A "step" that allocates and frees three 1.6 MB arrays (a BatchNorm-sized activation and two
# results), repeated; prints the page faults per step after a warm-up.
STEP = """
import resource, sys
import numpy as np
if sys.argv[1] in ("import", "ask"):
    import nnpy
if sys.argv[1] == "ask":
    nnpy.keep_freed_memory()
def step():
    a = np.ones((64, 32, 14, 14), np.float32); b = a * 2; c = a + b
    return float(c[0, 0, 0, 0])
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def faults_per_step(mode: str, keep: str | None = None) -> float:
    """Page faults per step in a fresh interpreter: ``mode`` is plain (numpy only), import
    (``import nnpy``) or ask (``import nnpy; nnpy.keep_freed_memory()``)."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("NNPY_KEEP_FREED_MEMORY", None)
    if keep is not None:
        env["NNPY_KEEP_FREED_MEMORY"] = keep
    out = subprocess.run([sys.executable, "-c", STEP, mode],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds (Linux)")
def test_importing_nnpy_leaves_the_allocator_alone_until_asked():
    assert faults_per_step("plain") > 300            # numpy alone: ~1100 faults a step
    assert faults_per_step("import") > 300           # importing a library changes nothing process-wide
    assert faults_per_step("ask") < 10               # nnpy.keep_freed_memory(): freed pages reused
    assert faults_per_step("ask", keep="0") > 300    # the opt-out leaves glibc alone even then


def test_the_command_line_keeps_freed_memory(monkeypatch):
    from click.testing import CliRunner

    from nnpy import cli
    from nnpy.nn import memory

    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(1) or True)
    result = CliRunner().invoke(cli.main, ["list", "optimizers"])
    assert result.exit_code == 0, result.output
    assert calls == [1]


def test_keep_freed_memory_is_idempotent():
    from nnpy.nn import memory
    first = memory.keep_freed_memory()
    assert memory.keep_freed_memory() is first


THREADS = """
import threading, sys
import numpy as np
import nnpy
from nnpy.kernels import threads
threads.MIN_BYTES = 1 << 20
if sys.argv[1] == "ask":
    nnpy.set_num_threads(2)
relu = nnpy.make_layer({"type": "ReLU"})
relu.initialize((64, 32, 32))
relu.forward(np.ones((64, 64, 32, 32), np.float32))            # 16 MiB: a pass large enough to split
print(sum(t.name.startswith("nnpy") for t in threading.enumerate()))
"""


@pytest.mark.parametrize("mode,started", [("import", 0), ("ask", 1)])
def test_no_thread_starts_unless_asked(mode, started):
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("NNPY_NUM_THREADS", None)
    env.pop("NNPY_REFERENCE", None)          # the pool is a fast kernel's: reference mode never starts it
    out = subprocess.run([sys.executable, "-c", THREADS, mode], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert int(out) == started


def test_the_command_line_starts_the_thread_pool(monkeypatch):
    from click.testing import CliRunner

    from nnpy import cli
    from nnpy.kernels import threads

    calls = []
    monkeypatch.setattr(threads, "set_num_threads", lambda n=None: calls.append(n))
    result = CliRunner().invoke(cli.main, ["list", "optimizers"])
    assert result.exit_code == 0, result.output
    assert calls == [None]


# After a product, how many of this process's threads are running (state R in /proc): this
# thread, plus OpenBLAS's worker while it still spins waiting for the next product.
IDLE_WORKERS = """
import glob, os, sys, time
import numpy as np
import nnpy
from nnpy.kernels.blas import openblas_function

def running_after_a_product():
    a = np.ones((1024, 1024), np.float32)
    product = a @ a                              # large enough to run on OpenBLAS's two threads
    time.sleep(0.02)                             # 2**20 ticks are < 1 ms; OpenBLAS's default 2**28, > 50 ms
    states = []
    for path in glob.glob("/proc/self/task/*/stat"):
        with open(path) as f:
            states.append(f.read().rsplit(")", 1)[1].split()[0])
    return states.count("R"), float(product[0, 0])

before = running_after_a_product()
nnpy.set_num_threads(2)
after = running_after_a_product()
print(before[0], after[0], before[1], after[1], openblas_function("openblas_thread_timeout")[0]())
"""


def idle_workers(timeout: str | None) -> list:
    env = {**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "2"}
    for name in ("NNPY_NUM_THREADS", "NNPY_REFERENCE", "OPENBLAS_THREAD_TIMEOUT"):
        env.pop(name, None)
    if timeout is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = timeout
    out = subprocess.run([sys.executable, "-c", IDLE_WORKERS], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def _has_openblas_workers() -> bool:
    from nnpy.kernels.blas import openblas_function
    return sys.platform.startswith("linux") and openblas_function("openblas_read_env") is not None


@pytest.mark.skipif(not _has_openblas_workers(), reason="numpy's BLAS is not an OpenBLAS nnpy can reach")
def test_the_thread_pool_lets_openblas_workers_sleep_between_products():
    before, after, product_before, product_after, spin = idle_workers(None)
    assert before == "2", "OpenBLAS's idle worker spins by default: this thread and it"
    assert after == "1", "with nnpy's pool on, OpenBLAS's idle worker sleeps"
    assert product_before == product_after == "1024.0"         # the workers restarted compute as before
    assert spin == "20"


@pytest.mark.skipif(not _has_openblas_workers(), reason="numpy's BLAS is not an OpenBLAS nnpy can reach")
def test_a_users_openblas_thread_timeout_is_left_alone():
    before, after, _, _, spin = idle_workers("26")
    assert (before, after, spin) == ("2", "2", "26")
