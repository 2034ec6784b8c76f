"""``nnpy learn``'s JSON API against a real server on a free local port, and its command."""
import http.client
import json
import socket
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from nnpy.cli import main
from nnpy.learn import make_learn_server


@pytest.fixture()
def server():
    srv = make_learn_server("127.0.0.1", 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def call(server, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data is not None else {})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def test_page_state_and_the_step_through(server):
    status, page = call(server, "GET", "/")
    assert status == 200 and b"Forward" in page and b"http://" not in page and b"https://" not in page
    status, state = call(server, "GET", "/api/state")
    state = json.loads(state)
    assert status == 200 and state["step"] == 0 and [l["type"] for l in state["layers"]] == \
        ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert call(server, "POST", "/api/backward", {})[0] == 409           # Forward first
    status, fwd = call(server, "POST", "/api/forward", {})
    fwd = json.loads(fwd)
    assert status == 200 and len(fwd["layers"]) == 5
    # the output the API reports is what the server's model computes for that batch
    np.testing.assert_allclose(np.array(fwd["layers"][-1]["output"]["values"]),
                               server.session.outputs[-1][:32], rtol=1e-6)
    assert json.loads(call(server, "POST", "/api/backward", {})[1])["layers"][0]["name"] == "dense_3"
    assert json.loads(call(server, "POST", "/api/step", {})[1])["step"] == 1
    status, trained = call(server, "POST", "/api/train", {"steps": 5})
    assert status == 200 and json.loads(trained)["step"] == 6


def test_a_new_setup_and_bad_requests_answer_one_line(server):
    status, state = call(server, "POST", "/api/setup", {"problem": "xor", "hidden": [4, 4, 4], "activation": "Sigmoid"})
    state = json.loads(state)
    assert status == 200 and state["setup"]["problem"] == "xor" and len(state["layers"]) == 7
    for body, culprit in [({"hidden": [4, "x"]}, "hidden[1]"), ({"activation": "Softmax"}, "activation"),
                          (b"{not json", "not JSON")]:
        status, answer = call(server, "POST", "/api/setup", body)
        assert status == 400 and culprit in json.loads(answer)["error"]
    status, answer = call(server, "POST", "/api/train", {"steps": 10 ** 6})
    assert status == 400 and "train: steps must be a whole number from 1 to 200" in json.loads(answer)["error"]
    assert call(server, "POST", "/api/train", [1])[0] == 400
    assert call(server, "POST", "/api/state", {})[0] == 404
    assert call(server, "GET", "/etc/passwd")[0] == 404
    assert call(server, "POST", "/api/setup", b"x" * (64 * 1024 + 1))[0] == 413
    assert json.loads(call(server, "GET", "/api/state")[1])["setup"]["problem"] == "xor"   # unchanged


def test_nnpy_learn_on_a_busy_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = CliRunner().invoke(main, ["learn", "--port", str(busy.getsockname()[1])])
    assert result.exit_code == 2
    assert result.output.startswith("nnpy: error: cannot listen on 127.0.0.1:") and result.output.count("\n") == 1
