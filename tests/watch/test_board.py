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


def test_weight_histograms_are_numpys_of_each_layers_weights():
    """The board's histograms at the run's end are ``np.histogram(w, 30)`` of each weighted
    layer's arrays (the same edges and counts), and they are refreshed at most every
    ``histogram_interval`` seconds (an hour: only at the epochs' ends)."""
    board = Board()
    model = tiny_model()
    x, y = tiny_data(96)
    updates = []
    original = board.set_histograms
    board.set_histograms = lambda h: (updates.append(1), original(h))
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[WatchCallback(board, interval=0, histogram_interval=3600)])
    run = json.loads(json.dumps(board.snapshot()))           # as the page receives it
    assert len(updates) == 1 + 2                              # the first point, then each epoch's end
    assert [h["layer"] for h in run["histograms"]] == ["dense_1", "dense_2"]
    for layer, histogram in zip((model.layers[0], model.layers[2]), run["histograms"]):
        assert [p["name"] for p in histogram["params"]] == list(layer.params)
        for param in histogram["params"]:
            counts, edges = np.histogram(layer.params[param["name"]], bins=30)
            assert param["counts"] == counts.tolist() and len(counts) == 30
            np.testing.assert_array_equal(param["edges"], edges)


def tiny_images(n, seed):
    """(n, 1, 6, 6) images whose class is which quarter holds the bright square."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 0.3, (n, 1, 6, 6)).astype(np.float32)
    for k, (r, c) in enumerate(((0, 0), (0, 3), (3, 0), (3, 3))):
        x[y == k, 0, r:r + 3, c:c + 3] += 1.0
    return x, y


def test_validation_mistakes_are_really_misclassified_with_their_images():
    board = Board()
    model = nnpy.Sequential([nnpy.layers.Flatten(), nnpy.layers.Dense(4)], seed=1)
    model.compile(optimizer={"type": "sgd", "lr": 0.001}, loss="cross_entropy")   # barely trained: many mistakes
    x, y = tiny_images(64, 0)
    x_val, y_val = tiny_images(300, 1)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, validation_data=(x_val, y_val),
              callbacks=[WatchCallback(board)])
    mistakes = json.loads(json.dumps(board.snapshot()))["mistakes"]
    predicted = model.forward(x_val[:256], training=False).argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_val[:256])
    assert mistakes["epoch"] == 1 and mistakes["searched"] == 256 and mistakes["wrong"] == len(wrong) > 8
    assert [m["index"] for m in mistakes["samples"]] == wrong[:8].tolist()
    for m in mistakes["samples"]:
        assert m["true"] == y_val[m["index"]] != m["predicted"] == predicted[m["index"]]
        image = m["image"]
        assert (image["height"], image["width"], image["channels"]) == (6, 6, 1)
        sample = x_val[m["index"], 0]
        expected = np.round(255 * (sample - sample.min()) / (sample.max() - sample.min()))
        np.testing.assert_array_equal(np.reshape(image["pixels"], (6, 6)), expected)


def test_no_mistakes_without_validation_or_for_non_images():
    board = Board()
    x, y = tiny_data(96)
    tiny_model().fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[WatchCallback(board)])
    assert board.snapshot()["mistakes"] == {}
    tiny_model().fit(x, y, epochs=1, batch_size=32, verbose=0, validation_data=(x, y), callbacks=[WatchCallback(board)])
    samples = board.snapshot()["mistakes"]["samples"]
    assert samples and all(m["image"] is None for m in samples)


@pytest.mark.parametrize("rank", [0, 1])
def test_only_process_0_serves_and_records(monkeypatch, rank):
    """Under ``mpiexec -n N nnpy train --watch`` each process builds its callbacks: process 0
    starts the server and gets the callback; any other starts nothing and records nothing."""
    import nnpy.engine.parallel as parallel
    import nnpy.watch as watch
    from nnpy.cli import watch_callbacks

    started = []
    monkeypatch.setattr(parallel, "communicator", lambda: type("Comm", (), {"rank": rank, "size": 2})())
    monkeypatch.setattr(watch, "start_watch_server", lambda board, host, port: started.append(board) or
                        type("Server", (), {"server_address": ("127.0.0.1", 1)})())
    callbacks = watch_callbacks(0, "127.0.0.1", "run")
    if rank == 0:
        assert len(started) == 1 and [type(c) for c in callbacks] == [WatchCallback]
        assert callbacks[0].board is started[0]
    else:
        assert started == [] and callbacks == []
