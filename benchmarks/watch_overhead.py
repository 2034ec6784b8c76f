"""What ``nnpy train --watch`` costs a run: one epoch of configs/mlp.yaml (784-512-512-10,
batch 128) on the first ``--limit`` MNIST digits, trained without and with the watch
(its callback, its server thread and a client asking for the run every 0.25 s, twice as
often as the page does), alternating, ``--rounds`` times each.

Three numbers: the epoch's seconds (median of the rounds, with and without: noisy on a
shared machine), the seconds spent inside the callback itself over the epoch (exact), and
what answering one request costs the server thread with a full board (1000 points), as a
share of the time at the page's 2 requests a second (the thread that holds the GIL then
is not training).

    PYTHONPATH=. python benchmarks/watch_overhead.py --limit 6000 --rounds 3
"""
from __future__ import annotations

import argparse
import http.client
import io
import statistics
import tempfile
import threading
import time

from nnpy.engine.plan import load_plan
from nnpy.engine.run import train
from nnpy.watch import Board, WatchCallback, start_watch_server


class TimedWatch(WatchCallback):
    """A WatchCallback that adds up the seconds spent in its own hooks."""

    spent = 0.0

    def on_batch_end(self, trainer):
        start = time.perf_counter()
        super().on_batch_end(trainer)
        self.spent += time.perf_counter() - start

    def on_epoch_end(self, trainer, logs):
        start = time.perf_counter()
        super().on_epoch_end(trainer, logs)
        self.spent += time.perf_counter() - start


def poll(port: int, stop: threading.Event, every: float = 0.25) -> None:
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/run")
        conn.getresponse().read()
        conn.close()
        stop.wait(every)


def one_epoch(limit: int, watched: bool, work: str) -> tuple[float, float]:
    """(the epoch's training seconds, the seconds inside the callback)."""
    overrides = [f"data.limit={limit}", "data.val_split=0", "train.epochs=1", f"log.dir={work}/runs",
                 f"checkpoint.dir={work}/ckpt", "checkpoint.monitor=train_accuracy"]
    plan = load_plan("configs/mlp.yaml", overrides)
    callbacks, stop, server = [], threading.Event(), None
    if watched:
        board = Board()
        server = start_watch_server(board, "127.0.0.1", 0)
        threading.Thread(target=poll, args=(server.server_address[1], stop), daemon=True).start()
        callbacks = [TimedWatch(board)]
    try:
        result = train(plan, stdout=io.StringIO(), progress=False, callbacks=callbacks)
    finally:
        stop.set()
        if server is not None:
            server.shutdown()
            server.server_close()
    return result.state.history[-1]["seconds"], (callbacks[0].spent if callbacks else 0.0)


def serving_cost() -> float:
    """Seconds to answer GET /api/run (snapshot and JSON) from a full board, the median of 50."""
    import json

    board = Board()
    board.start({"name": "x", "epochs": 1, "batches_per_epoch": 1, "metric": "accuracy", "layers": ["a", "b"]})
    latest = {"epoch": 0, "batch": 1, "step": 1, "lr": 0.1, "grad_norms": [["a", 1.0], ["b", 2.0]],
              "phases": {"data": 1.0, "forward": 1.0, "backward": 1.0, "optimizer": 1.0}}
    for step in range(1000):
        board.add_step({"step": step, "epoch": step / 100, "loss": 0.5, "metric": 0.9, "lr": 0.1}, latest)
        board.add_epoch({"epoch": step, "train_loss": 0.5, "train_accuracy": 0.9, "lr": 0.1, "seconds": 1.0}, latest)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        json.dumps(board.snapshot()).encode()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    plain, watched, inside = [], [], []
    with tempfile.TemporaryDirectory() as work:
        one_epoch(512, False, work)                       # warm up (imports, allocator)
        for _ in range(args.rounds):
            plain.append(one_epoch(args.limit, False, work)[0])
            seconds, spent = one_epoch(args.limit, True, work)
            watched.append(seconds)
            inside.append(spent / seconds)
    a, b = statistics.median(plain), statistics.median(watched)
    print(f"one epoch of mlp on {args.limit} digits, {args.rounds} rounds each")
    print(f"without --watch: {', '.join(f'{s:.2f}' for s in plain)} s (median {a:.2f} s)")
    print(f"with --watch:    {', '.join(f'{s:.2f}' for s in watched)} s (median {b:.2f} s)")
    print(f"epoch time with ÷ without: {b / a:.3f}")
    print(f"inside the callback: {100 * max(inside):.3f}% of the epoch at most")
    cost = serving_cost()
    print(f"answering the page (1000 points): {1e3 * cost:.2f} ms a request, {100 * 2 * cost:.2f}% of the time "
          f"at the page's 2 requests a second")


if __name__ == "__main__":
    main()
