"""``nnpy learn``: a local page to step through a small network learning a 2-D problem --
Forward (each layer's output), Backward (each layer's gradient, in reverse order), Step
(the optimizer's change to the weights), Train (the decision boundary, loss and gradient
norms, live).

    problems.py   circles, moons, spirals, xor: 2-D points made with numpy
    session.py    LearnSession: the model, its batch, the step-through, the numbers shown
    server.py     the HTTP server and its JSON API (standard library ``http.server``)
    static/       the page: one HTML file with plain JavaScript (no build step, works offline)
"""
from .session import LearnSession, Setup, check_setup
from .server import LearnServer, make_learn_server

__all__ = ["LearnServer", "LearnSession", "Setup", "check_setup", "make_learn_server"]
