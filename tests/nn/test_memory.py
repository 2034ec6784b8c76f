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
if sys.argv[1] == "import":
    import nnpy.nn
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


def faults_per_step(*, import_nnpy: bool, keep: str | None = None) -> float:
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("NNPY_KEEP_FREED_MEMORY", None)
    if keep is not None:
        env["NNPY_KEEP_FREED_MEMORY"] = keep
    out = subprocess.run([sys.executable, "-c", STEP, "import" if import_nnpy else "plain"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc thresholds (Linux)")
def test_importing_nnpy_nn_keeps_freed_pages():
    assert faults_per_step(import_nnpy=False) > 300            # numpy alone: ~1100 faults a step
    assert faults_per_step(import_nnpy=True) < 10
    assert faults_per_step(import_nnpy=True, keep="0") > 300   # the opt-out leaves glibc alone


def test_keep_freed_memory_is_idempotent():
    from nnpy.nn import memory
    first = memory.keep_freed_memory()
    assert memory.keep_freed_memory() is first
