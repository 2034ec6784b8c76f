"""How nnpy tells it was launched on several processes, without importing MPI (no mpiexec needed)."""
import importlib.util
import subprocess
import sys

import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.engine.parallel import launch
from nnpy.engine.parallel.launch import Launch, launched

from .conftest import REPO


def test_the_rank_and_size_come_from_the_launcher_s_environment():
    assert launched({}) == Launch(0, 1)
    assert launched({"PMI_RANK": "1", "PMI_SIZE": "4"}) == Launch(1, 4)                          # MPICH, Intel MPI
    assert launched({"OMPI_COMM_WORLD_RANK": "2", "OMPI_COMM_WORLD_SIZE": "3"}) == Launch(2, 3)  # Open MPI
    assert launched({"PMI_SIZE": "x", "MV2_COMM_WORLD_RANK": "0", "MV2_COMM_WORLD_SIZE": "2"}) == Launch(0, 2)


def run_cli(args, rank, size, monkeypatch):
    monkeypatch.setattr(launch, "_COMM", None)          # as in a freshly launched process
    env = {"PMI_RANK": str(rank), "PMI_SIZE": str(size)}
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.mark.parametrize("rank", [0, 1])
def test_several_processes_without_the_extra_are_refused_with_one_line_from_process_0(monkeypatch, rank, tmp_path):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mpi4py" else find_spec(name, *a))
    monkeypatch.chdir(tmp_path)
    r = run_cli(["train", "--config", REPO / "configs" / "mlp.yaml"], rank, 2, monkeypatch)
    assert r.exit_code == 2
    if rank == 0:
        assert r.stderr.count("\n") == 1 and "process 0 of 2" in r.stderr and 'pip install -e ".[mpi]"' in r.stderr
        assert r.stderr.startswith("nnpy: error: ")
    else:
        assert r.stderr == "" and r.stdout == ""           # process 0 says it
    assert not (tmp_path / "runs").exists()


def test_val_and_demo_run_on_process_0_alone_and_say_so(monkeypatch):
    r = run_cli(["demo", REPO / "data" / "samples", "--json"], 0, 2, monkeypatch)
    assert r.exit_code == 0, r.output
    assert "note: nnpy demo runs on one process; the other 1 process(es) the launcher started exit at once" in r.stderr
    assert r.stdout.startswith("[{")
    for command in (["val", "--ckpt", REPO / "data" / "trained_models" / "mnist.json"], ["demo", REPO / "data" / "samples"]):
        r = run_cli(command, 1, 2, monkeypatch)
        assert r.exit_code == 0 and r.output == ""          # the others exit at once, doing nothing


def test_a_one_process_run_imports_no_mpi(tmp_path):
    code = ("import sys; from nnpy.cli import main\n"
            "try:\n"
            f"    main(['train', '--config', {str(REPO / 'configs' / 'mlp.yaml')!r}, '--set', 'data.limit=300',\n"
            "          '--set', 'data.val_split=100', '--set', 'model.hidden=[8]', '--set', 'train.epochs=1'])\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            "print(sorted(m for m in ('mpi4py', 'threadpoolctl') if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"
