"""Data-parallel training over MPI: ``mpiexec -n N nnpy train --config FILE`` trains as one
process would, on a global batch shared out between N processes (``pip install -e ".[mpi]"``).

    launch.py    which process of how many (the launcher's environment); starting MPI
    comm.py      Communicator (one process, no MPI) and MPICommunicator (mpi4py)
    sharding.py  ShardedLoader: this process's part of every global batch
    trainer.py   DataParallelTrainer: one gradient Allreduce per step, agreed stops (AgreedStop)
    run.py       DataParallelRun: engine/run.py's Run on one process of several

Importing this package imports no MPI: ``communicator()`` starts it, and only when a launcher
started several processes.
"""
from .comm import Communicator
from .launch import (INSTALL_HINT, Launch, MissingMPIError, communicator, launched, runs_on_this_process,
                     start_processes, stop_processes)

__all__ = ["Communicator", "INSTALL_HINT", "Launch", "MissingMPIError", "communicator", "launched",
           "runs_on_this_process", "start_processes", "stop_processes"]
