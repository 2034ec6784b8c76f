"""Which process of how many this is, and starting MPI when there are several.

A launcher (``mpiexec``, ``srun``) tells each process its rank in the environment; nnpy reads
it there, so a one-process run never imports MPI. Several processes need the ``mpi`` extra
(``mpi4py``, an MPI, ``threadpoolctl``); without it the run is refused with one line.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass

from ...errors import NnpyError
from .comm import Communicator, mark_agreed

INSTALL_HINT = 'pip install -e ".[mpi]"'

#: (rank, size) variables set by launchers, first match wins.
RANK_SIZE_VARIABLES = (
    ("PMI_RANK", "PMI_SIZE"),                            # MPICH and Intel MPI (Hydra), srun --mpi=pmi2
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),    # Open MPI
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"),      # MVAPICH2
)
#: A user who sets one of these has chosen the BLAS threads per process: nnpy leaves them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class MissingMPIError(NnpyError):
    """Several processes were launched but the ``mpi`` extra is not installed."""


@dataclass(frozen=True)
class Launch:
    rank: int = 0
    size: int = 1


def launched(environ=None) -> Launch:
    """This process's rank and the number of processes, from the launcher's environment
    (``Launch(0, 1)`` when none launched it)."""
    env = os.environ if environ is None else environ
    for rank_var, size_var in RANK_SIZE_VARIABLES:
        try:
            return Launch(int(env.get(rank_var, 0)), int(env[size_var]))
        except (KeyError, ValueError):
            continue
    return Launch()


_COMM: Communicator | None = None


def communicator() -> Communicator:
    """The run's processes: a ``Communicator`` for one process, an ``MPICommunicator`` (MPI
    started, BLAS threads limited) for several. Made once per process."""
    global _COMM
    if _COMM is None:
        launch = launched()
        _COMM = Communicator() if launch.size == 1 else _start_mpi(launch)
    return _COMM


def _start_mpi(launch: Launch) -> Communicator:
    missing = [m for m in ("mpi4py", "threadpoolctl") if importlib.util.find_spec(m) is None]
    if missing:
        error = MissingMPIError(f"this is process {launch.rank} of {launch.size} started by a launcher "
                                f"(mpiexec), but {' and '.join(missing)} is not installed: {INSTALL_HINT}")
        raise mark_agreed(error, launch.rank)
    try:
        from .comm import MPICommunicator
        comm = MPICommunicator()
    except (ImportError, RuntimeError) as exc:      # mpi4py without an MPI library
        error = MissingMPIError(f"mpi4py cannot start MPI ({' '.join(str(exc).split())}): {INSTALL_HINT}")
        raise mark_agreed(error, launch.rank)
    comm.blas_threads = limit_blas_threads(comm.local_size)
    return comm


_LIMITS = None      # the threadpoolctl limit, held for the life of the process


def limit_blas_threads(local_processes: int) -> int | None:
    """Give each of the ``local_processes`` processes on this machine its share of the cores
    as BLAS threads (``threadpoolctl``), so N processes do not run N × cores threads. A
    process already bound to fewer cores (``mpiexec -bind-to``) uses those; a user's
    ``OMP_NUM_THREADS`` (or OpenBLAS / MKL variable) is left alone. Returns the threads set."""
    global _LIMITS
    if any(v in os.environ for v in THREAD_VARIABLES):
        return None
    from threadpoolctl import threadpool_limits

    total = os.cpu_count() or 1
    mine = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    threads = mine if mine < total else max(1, total // local_processes)
    _LIMITS = threadpool_limits(limits=threads, user_api="blas")
    return threads


def runs_on_this_process(command: str | None) -> bool:
    """Called by the CLI before ``command`` runs (no MPI is started here). Under a launcher with
    several processes, ``nnpy train`` runs on all of them (the run starts MPI:
    ``start_processes``); any other command runs on process 0 alone, which says so: False tells
    the other processes to exit at once."""
    launch = launched()
    if launch.size == 1 or command is None or command == "train":
        return True
    if launch.rank != 0:
        return False
    print(f"note: nnpy {command} runs on one process; the other {launch.size - 1} process(es) the "
          f"launcher started exit at once (only nnpy train runs on several)", file=sys.stderr, flush=True)
    return True


def start_processes() -> Communicator:
    """The processes of a data-parallel ``nnpy train``: MPI started (``communicator()``), and
    only process 0 prints."""
    comm = communicator()
    if comm.rank != 0:
        sys.stdout = open(os.devnull, "w")
    return comm


def stop_processes(error: BaseException) -> None:
    """After ``error`` ended a command: under several processes, end the others too, unless
    every process stops with this error (``agreed``)."""
    if _COMM is not None and _COMM.size > 1 and not getattr(error, "agreed", False):
        _COMM.abort(2)
