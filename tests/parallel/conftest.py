"""Running ``nnpy train`` on one process and under ``mpiexec -n N`` for the data-parallel tests."""
import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnpy.engine.parallel.launch import THREAD_VARIABLES
from nnpy.io.checkpoint import load_checkpoint

from ..prerequisites import missing as missing_prerequisite

REPO = Path(__file__).resolve().parents[2]
RUN_TRAIN = Path(__file__).with_name("run_train.py")


def find_mpiexec() -> str | None:
    """``mpiexec`` beside this Python (where the mpich wheel puts it) or on the PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which("mpiexec", path=path)


@pytest.fixture(scope="session")
def mpiexec():
    """The launcher; a missing one skips the test (fails it under CI=true: .ci/run installs the extra)."""
    found = find_mpiexec()
    missing = [m for m in ("mpi4py", "threadpoolctl") if importlib.util.find_spec(m) is None]
    if found and not missing:
        return found
    missing_prerequisite(f"the mpi extra is not installed (missing: {', '.join(missing + ['mpiexec'] * (not found))}; "
                         f"pip install -e \".[mpi]\", as .ci/run does)")


def train(processes: int, cwd: Path, args, mpiexec=None, timeout: float = 180, **popen):
    """``nnpy train`` through tests/parallel/run_train.py: in one process (``processes == 1``,
    no launcher, one BLAS thread so a loaded machine does not slow it) or under
    ``mpiexec -n processes``. ``args``: run_train.py's options, ``--``, then nnpy train's."""
    cmd = [sys.executable, str(RUN_TRAIN), *map(str, args)]
    env = dict(os.environ)
    if processes > 1:
        cmd = [mpiexec, "-n", str(processes), *cmd]
    else:
        env.update({v: "1" for v in THREAD_VARIABLES})
    if popen:
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def sets(overrides) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


def max_relative_difference(a: dict, b: dict) -> float:
    """max over arrays of max|a − b| / max|a| (each array measured against its own scale)."""
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), 1e-30)) for k in a)


def weights(path: Path) -> dict:
    return load_checkpoint(path)["model"]


def metric_rows(run_root: Path) -> list[list[float]]:
    """The rows of the one metrics.csv under ``run_root`` (a runs/<name> folder), without seconds."""
    (run_dir,) = list(run_root.iterdir())
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.reader(f))
    keep = [i for i, column in enumerate(rows[0]) if column != "seconds"]
    assert len(keep) == len(rows[0]) - 1
    return [[float(row[i]) for i in keep] for row in rows[1:]]


def assert_same_run(one: Path, many: Path, name: str, tolerance: float = 1e-5) -> float:
    """Final weights equal to ``tolerance`` relative, metrics.csv equal to 4 digits; returns
    the weights' largest relative difference."""
    diff = max_relative_difference(weights(one / "ck" / "last.json"), weights(many / "ck" / "last.json"))
    assert diff < tolerance, diff
    a, b = metric_rows(one / "runs" / name), metric_rows(many / "runs" / name)
    assert len(a) == len(b)
    assert np.abs(np.array(a) - np.array(b)).max() < 5e-5, (a, b)
    return diff
