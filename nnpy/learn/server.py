"""The HTTP server of ``nnpy learn``: one page and a JSON API over one ``LearnSession``.

    GET  /               the page (``static/index.html``: HTML and plain JavaScript)
    GET  /api/state      ``LearnSession.state()``: setup, layers, points, boundary, curves
    POST /api/setup      body: a JSON setup (``check_setup``) → a new session's state
    POST /api/forward    a new batch forward → every layer's output, in order, and the loss
    POST /api/backward   → the gradients, layer by layer as they arrive (last layer first)
    POST /api/step       → every parameter after the optimizer's step, and its change
    POST /api/train      body: {"steps": n} (1…200) → n whole steps, then the state

Errors are ``{"error": "<one line>"}``: 400 for a setup or body that does not pass the
checks (naming the key), 409 for a button out of order (Backward before Forward), 404 for
any other path. One lock serializes the requests: each is bounded (the setup's limits,
``MAX_STEPS_PER_CALL``), so a page cannot make the server work without end.
"""
from __future__ import annotations

import json
import threading
from urllib.parse import urlsplit

from ..errors import ConfigError, NnpyError
from ..localweb import JSONHandler, LocalServer, listen
from .session import LearnSession, PhaseError, Setup, check_setup

ACTIONS = ("forward", "backward", "step", "train", "setup")


class LearnHandler(JSONHandler):
    """Routes the page's requests to ``server.session`` (under ``server.lock``)."""

    server_version = "nnpy-learn"
    max_body = 64 * 1024
    log_name = "nnpy learn"

    def do_GET(self) -> None:
        self._get({"/api/state": lambda: self.server.locked(self.server.session.state)})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        action = path.removeprefix("/api/")
        if not path.startswith("/api/") or action not in ACTIONS:
            self._refuse(404, f"no such page: {path[:100]}")
            return
        body = self._body("a JSON object")
        if body is None:
            return
        try:
            request = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            self._error(400, "the body is not JSON")
            return
        self._answer(lambda: self.server.locked(self.server.act, action, request), {PhaseError: 409, NnpyError: 400})


class LearnServer(LocalServer):
    """A threading server holding the page, the session and the lock around it."""

    log_name = "nnpy learn"
    page_package = "nnpy.learn"

    def __init__(self, address, setup: Setup, verbose: bool = False):
        self.session = LearnSession(setup)
        self.lock = threading.Lock()
        super().__init__(address, LearnHandler, verbose)

    def locked(self, fn, *args):
        """``fn(*args)`` holding the session's lock."""
        with self.lock:
            return fn(*args)

    def act(self, action: str, request: dict) -> dict:
        """What a POST to ``/api/<action>`` answers (the caller holds the lock)."""
        if action == "setup":
            self.session = LearnSession(check_setup(request))
            return self.session.state()
        if action == "train":
            if not isinstance(request, dict):
                raise ConfigError('train: the body must be a JSON object such as {"steps": 10}')
            return self.session.train(request.get("steps", 10))
        return getattr(self.session, action)()


def make_learn_server(host: str = "127.0.0.1", port: int = 8000, setup: Setup | None = None,
                      verbose: bool = False) -> LearnServer:
    """A ``LearnServer`` on ``host:port`` (0: any free port), starting from ``setup``."""
    return listen(LearnServer, host, port, setup or Setup(), verbose)
