"""``nnpy train --watch``'s callback, board and server: the points are the loop's own numbers,
the board stays bounded, a stalled or vanished client costs the run nothing, and a busy
port is one line before training starts."""
import http.client
import json
import socket
import time

import numpy as np
import pytest
from click.testing import CliRunner

import nnpy
from nnpy.cli import main
from nnpy.watch import Board, WatchCallback, start_watch_server


def tiny_model(seed=0):
    model = nnpy.Sequential([nnpy.layers.Dense(16), nnpy.layers.Tanh(), nnpy.layers.Dense(3)], seed=seed)
    model.compile(optimizer={"type": "sgd", "lr": 0.1}, loss="cross_entropy")
    return model


def tiny_data(n=96):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)


def get(server, path):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_points_are_the_loops_numbers_and_epochs_its_logs():
    """With interval 0 every batch is a point: the batch losses, weighted by batch size,
    average to the epoch's train_loss the loop logs; the norms are the layers' gradients."""
    board = Board()
    model = tiny_model()
    x, y = tiny_data(100)                                    # batches of 32, 32, 32, 4
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[WatchCallback(board, interval=0)])
    run = board.snapshot()
    assert run["status"] == "finished" and run["info"]["layers"] == ["dense_1", "dense_2"]
    assert [p["step"] for p in run["steps"]] == list(range(1, 9))
    sizes = np.array([32, 32, 32, 4])
    for epoch, points in enumerate((run["steps"][:4], run["steps"][4:])):
        mean = float(np.dot([p["loss"] for p in points], sizes) / sizes.sum())
        assert mean == pytest.approx(history.history["loss"][epoch], rel=1e-6)
        assert run["epochs"][epoch]["train_loss"] == pytest.approx(history.history["loss"][epoch])
    norms = dict(run["latest"]["grad_norms"])
    dense = model.layers[0]
    expected = np.sqrt(sum(float(np.vdot(g, g)) for g in dense.grads.values()))
    assert norms["dense_1"] == pytest.approx(expected, rel=1e-6)
    assert set(run["latest"]["phases"]) >= {"forward", "backward", "optimizer"}


def test_the_board_keeps_only_the_newest_points():
    board = Board(max_points=5)
    x, y = tiny_data(96)
    tiny_model().fit(x, y, epochs=8, batch_size=8, verbose=0, callbacks=[WatchCallback(board, interval=0)])
    run = board.snapshot()
    assert [p["step"] for p in run["steps"]] == [92, 93, 94, 95, 96]
    assert [e["epoch"] for e in run["epochs"]] == [4, 5, 6, 7, 8]


def test_points_come_at_most_every_interval():
    board = Board()
    x, y = tiny_data(96)
    tiny_model().fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[WatchCallback(board, interval=3600)])
    assert board.snapshot()["steps"] == [] and len(board.snapshot()["epochs"]) == 3


def test_stalled_and_vanished_clients_cost_the_run_nothing():
    board = Board()
    server = start_watch_server(board, "127.0.0.1", 0)
    stalled = []
    try:
        for _ in range(8):                      # connect, send half a request, never read
            s = socket.create_connection(("127.0.0.1", server.server_address[1]))
            s.sendall(b"GET /api/run HTTP/1.1\r\n")
            stalled.append(s)
        gone = socket.create_connection(("127.0.0.1", server.server_address[1]))
        gone.sendall(b"GET /api/run HTTP/1.1\r\nHost: x\r\n\r\n")
        gone.close()                            # asked, then vanished before the answer
        x, y = tiny_data(96)
        start = time.perf_counter()
        tiny_model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[WatchCallback(board, interval=0)])
        assert time.perf_counter() - start < 10
        status, body = get(server, "/api/run")
        run = json.loads(body)
        assert status == 200 and run["status"] == "finished" and len(run["steps"]) == 36
        status, page = get(server, "/")
        assert status == 200 and b"/api/run" in page and b"https://" not in page
        assert get(server, "/api/nothing")[0] == 404
    finally:
        for s in stalled:
            s.close()
        server.shutdown()
        server.server_close()


def test_watch_on_a_busy_port_is_one_line_before_training(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = CliRunner().invoke(main, ["train", "--config", "configs/mlp.yaml", "--set", "data.limit=64",
                                           "--set", f"log.dir={tmp_path}", "--set", f"checkpoint.dir={tmp_path}",
                                           "--watch", str(busy.getsockname()[1])])
    assert result.exit_code == 2
    assert result.output.startswith("nnpy: error: cannot listen on 127.0.0.1:") and result.output.count("\n") == 1
    assert not list(tmp_path.iterdir())                # nothing trained, nothing written
