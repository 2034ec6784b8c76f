"""The processes of a run, seen from one of them: ``Communicator`` (one process, no MPI) and
``MPICommunicator`` (``mpi4py``'s ``COMM_WORLD``).

Every method is collective: each process of the run calls it, in the same order. The buffers
are numpy arrays reduced or broadcast in place, so nothing is pickled.
"""
from __future__ import annotations

import sys
import traceback

import numpy as np

from ...errors import NnpyError


class ProcessError(NnpyError):
    """An error another process of the run met (its message says which process)."""


class Communicator:
    """A run of one process: every collective is the identity."""

    rank, size = 0, 1
    machines = 1            # machines the processes run on
    local_size = 1          # processes of the run on this machine

    def allreduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        """Replace ``buffer`` on every process by the element-wise sum over the processes."""
        return buffer

    def allreduce_min(self, value: int) -> int:
        return int(value)

    def bcast(self, buffer: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite ``buffer`` on every process with process ``root``'s."""
        return buffer

    def bcast_bytes(self, data: bytes | None, root: int = 0) -> bytes:
        """Process ``root``'s ``data`` on every process (the others pass None)."""
        return data

    def barrier(self) -> None:
        pass

    def abort(self, code: int) -> None:
        """End every process of the run now (the way out of an error only this process met)."""
        sys.exit(code)

    # ---- built on the collectives above --------------------------------------------------
    def bcast_text(self, text: str | None, root: int = 0) -> str:
        return self.bcast_bytes(None if text is None else text.encode("utf-8"), root).decode("utf-8")

    def first_text(self, text: str | None) -> tuple[int, str] | None:
        """``(rank, text)`` of the lowest-ranked process whose ``text`` is not None, on every
        process; None when no process has one. One integer ``Allreduce`` when nobody has."""
        source = self.allreduce_min(self.size if text is None else self.rank)
        if source == self.size:
            return None
        return source, self.bcast_text(text if self.rank == source else None, root=source)

    def raise_first(self, error: NnpyError | None) -> None:
        """If any process met an ``NnpyError``, raise the lowest-ranked one's on every process
        (``agreed``: every process stops with it; ``quiet`` except on process 0, which prints it)."""
        first = self.first_text(None if error is None else str(error))
        if first is None:
            return
        source, message = first
        if self.rank != source:
            error = ProcessError(f"process {source} of {self.size}: {message}")
        raise mark_agreed(error, self.rank)

    def everywhere(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` on every process, its result returned. An ``NnpyError`` on
        any process is raised on all of them (``raise_first``); any other error ends them all
        (``abort_on``), so no process waits for one that has gone."""
        if self.size == 1:
            return fn(*args, **kwargs)
        result = error = None
        try:
            result = fn(*args, **kwargs)
        except NnpyError as exc:
            if getattr(exc, "agreed", False):      # fn's own collectives agreed on it already
                raise
            error = exc
        except BaseException as exc:
            self.abort_on(exc)
        self.raise_first(error)
        return result

    def on_process_0(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` on process 0 only (None elsewhere); its ``NnpyError`` is
        raised on every process."""
        return self.everywhere(lambda: fn(*args, **kwargs) if self.rank == 0 else None)

    def abort_on(self, error: BaseException) -> None:
        """The way out of an error only this process met: say what it was (a traceback unless
        it is a user's ``NnpyError``) and end every process, so none waits for this one."""
        code = 1
        if isinstance(error, NnpyError):
            print(f"nnpy: error: process {self.rank} of {self.size}: {' '.join(str(error).split())}",
                  file=sys.stderr, flush=True)
            code = 2
        elif isinstance(error, KeyboardInterrupt):
            code = 130
        else:
            print(f"nnpy: process {self.rank} of {self.size} failed; stopping all of them:", file=sys.stderr)
            traceback.print_exception(error, file=sys.stderr)
        self.abort(code)


def mark_agreed(error: BaseException, rank: int) -> BaseException:
    """Mark ``error`` as raised on every process at once (this one being ``rank``): no process
    needs aborting, and only process 0 reports it (``quiet`` elsewhere)."""
    error.agreed = True
    error.quiet = rank != 0
    return error


class MPICommunicator(Communicator):
    """``MPI.COMM_WORLD`` of ``mpi4py``; the module is imported here and only here."""

    def __init__(self):
        from mpi4py import MPI

        self.MPI = MPI
        self.world = MPI.COMM_WORLD
        self.rank, self.size = self.world.Get_rank(), self.world.Get_size()
        node = self.world.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)   # the processes on this machine
        self.local_size = node.Get_size()
        first_on_machine = np.array([node.Get_rank() == 0], np.int64)
        self.machines = int(self.allreduce_sum(first_on_machine)[0])
        node.Free()

    def allreduce_sum(self, buffer):
        self.world.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        return buffer

    def allreduce_min(self, value):
        buf = np.array([value], np.int64)
        self.world.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.MIN)
        return int(buf[0])

    def bcast(self, buffer, root=0):
        self.world.Bcast(buffer, root=root)
        return buffer

    def bcast_bytes(self, data, root=0):
        length = np.array([0 if data is None else len(data)], np.int64)
        self.world.Bcast(length, root=root)
        buf = np.frombuffer(bytearray(data), np.uint8) if self.rank == root else np.empty(int(length[0]), np.uint8)
        self.world.Bcast(buf, root=root)
        return buf.tobytes()

    def barrier(self):
        self.world.Barrier()

    def abort(self, code):
        sys.stdout.flush()
        sys.stderr.flush()
        self.world.Abort(code)
