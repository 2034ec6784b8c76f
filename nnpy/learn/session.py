"""One model learning one 2-D problem, a step at a time: what ``nnpy learn``'s page shows.

    session = LearnSession(check_setup({"problem": "moons", "hidden": [8, 8], "activation": "Tanh"}))
    session.forward()     # a batch through each layer in order: every layer's output
    session.backward()    # the loss's gradient back through each layer in reverse order
    session.step()        # the optimizer's change to every weight
    session.train(20)     # 20 whole steps (forward, backward, step) on the next batches
    session.state()       # the points, the decision boundary, the loss curve, gradient norms

The numbers are the model's own: the layers' ``forward`` outputs and ``backward`` gradients
(``Layer.grads``) for the same batch, the optimizer's ``step``; the session only walks the
model's layers one by one (as ``Chain.forward`` / ``Chain.backward`` do) to keep each
layer's output and the gradient each layer received.

Everything a page can ask for is bounded (``MAX_…``): the setup is checked by
``check_setup`` (one ``ConfigError`` line naming the key), a request trains at most
``MAX_STEPS_PER_CALL`` steps, the curves keep the last ``HISTORY`` points.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from ..engine.model import Sequential
from ..errors import ConfigError
from ..nn.losses import make_loss
from ..nn.metrics import accuracy
from ..registry import LAYERS, OPTIMIZERS
from .problems import PROBLEMS, make_problem

ACTIVATIONS = ("ReLU", "Sigmoid", "Tanh")
OPTIMIZER_NAMES = ("sgd", "adam")
MAX_HIDDEN_LAYERS = 8
MAX_UNITS = 64
N_POINTS = 256
MAX_STEPS_PER_CALL = 200
HISTORY = 500            # loss and gradient-norm points kept (the newest)
ROWS_SHOWN = 32          # samples of a batch whose values are sent (statistics use all)
GRID = 48                # the decision boundary's grid: GRID × GRID points of [-EXTENT, EXTENT]²
EXTENT = 1.25
HIST_BINS = 16


@dataclass(frozen=True)
class Setup:
    """What the page chooses: the problem, the MLP and how it learns."""
    problem: str = "moons"
    hidden: tuple = (8, 8)
    activation: str = "ReLU"
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 32
    seed: int = 0

    def layer_specs(self) -> list[dict]:
        """``Dense(h), activation`` per hidden size, then ``Dense(2)`` (the two classes' logits)."""
        specs = []
        for units in self.hidden:
            specs += [{"type": "Dense", "units": units}, {"type": self.activation}]
        return specs + [{"type": "Dense", "units": 2}]


def _whole_number(what: str, value, low: int, high: int) -> int:
    """``value`` if it is an int in [low, high]; else a ConfigError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    return value


def check_setup(raw: dict) -> Setup:
    """A ``Setup`` from the page's JSON object (missing keys keep their defaults); a
    ``ConfigError`` (or ``RegistryError``) in one line naming the key for anything else."""
    if not isinstance(raw, dict):
        raise ConfigError(f"setup: expected a JSON object, not {type(raw).__name__}")
    valid = list(Setup.__dataclass_fields__)
    unknown = [k for k in raw if k not in valid]
    if unknown:
        raise ConfigError(f"setup: unknown key {unknown[0]!r}; valid keys: {', '.join(valid)}")
    s = {**asdict(Setup()), **raw}
    if s["problem"] not in PROBLEMS:
        raise ConfigError(f"setup: problem must be one of {', '.join(PROBLEMS)}, not {s['problem']!r}")
    if not isinstance(s["hidden"], (list, tuple)) or len(s["hidden"]) > MAX_HIDDEN_LAYERS:
        raise ConfigError(f"setup: hidden must be a list of at most {MAX_HIDDEN_LAYERS} layer sizes, "
                          f"not {s['hidden']!r}")
    for i, units in enumerate(s["hidden"]):
        LAYERS.check_options("Dense", {"units": units}, where=f"setup: hidden[{i}] (Dense)")
        _whole_number(f"setup: hidden[{i}]", units, 1, MAX_UNITS)
    activation = LAYERS.get(s["activation"]).registered_name if s["activation"] in LAYERS else None
    if activation not in ACTIVATIONS:
        raise ConfigError(f"setup: activation must be one of {', '.join(ACTIVATIONS)}, not {s['activation']!r}")
    if s["optimizer"] not in OPTIMIZER_NAMES:
        raise ConfigError(f"setup: optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, not {s['optimizer']!r}")
    OPTIMIZERS.check_options(s["optimizer"], {"lr": s["lr"]}, where=f"setup: optimizer '{s['optimizer']}'")
    if not 0 < float(s["lr"]) <= 10:
        raise ConfigError(f"setup: lr must be in (0, 10], not {s['lr']!r}")
    return Setup(problem=s["problem"], hidden=tuple(s["hidden"]), activation=activation,
                 optimizer=s["optimizer"], lr=float(s["lr"]),
                 batch_size=_whole_number("setup: batch_size", s["batch_size"], 1, N_POINTS),
                 seed=_whole_number("setup: seed", s["seed"], 0, 2 ** 31 - 1))


def array_view(a: np.ndarray) -> dict:
    """What the page draws of an array: its shape, its values (a batch: the first
    ``ROWS_SHOWN`` samples; a vector as one row), mean / std / min / max and a histogram
    (``HIST_BINS`` counts between ``edges``) of all of it."""
    a = np.asarray(a)
    rows = a.reshape(1, -1) if a.ndim == 1 else a[:ROWS_SHOWN]
    counts, edges = np.histogram(a, bins=HIST_BINS)
    return {"shape": list(a.shape), "values": rows.tolist(), "mean": float(a.mean()), "std": float(a.std()),
            "min": float(a.min()), "max": float(a.max()), "norm": float(np.linalg.norm(a)),
            "hist": {"counts": counts.tolist(), "edges": edges.tolist()}}


class PhaseError(ConfigError):
    """A button pressed out of order (Backward before Forward, Step before Backward)."""


class LearnSession:
    """A ``Setup``'s data (``N_POINTS`` points), model and optimizer, and where the
    step-through is: ``phase`` is ``ready``, ``forward`` (outputs kept) or ``backward``
    (gradients filled).

    ``viewer`` is a second model holding the same parameter arrays: the boundary and the
    loss on all points are computed with it, so that looking never overwrites what the
    model's layers keep between a Forward and its Backward."""

    def __init__(self, setup: Setup):
        self.setup = setup
        self.x, self.y = make_problem(setup.problem, N_POINTS, setup.seed)
        self.model = Sequential(setup.layer_specs(), name="learn", seed=setup.seed)
        self.model.compile(optimizer={"type": setup.optimizer, "lr": setup.lr}, loss="cross_entropy")
        self.model.build((2,))
        self.viewer = Sequential(setup.layer_specs(), name="learn-viewer", seed=setup.seed)
        self.viewer.build((2,))
        for mine, its in zip(self.viewer.layers, self.model.layers):
            mine.params = its.params       # the same weights: the viewer sees every step at once
        self.viewer_loss = make_loss("cross_entropy")
        self.order_rng = np.random.default_rng(setup.seed + 1)
        self.order, self.cursor = np.zeros(0, np.int64), 0
        self.steps = 0
        self.phase = "ready"
        self.losses: deque = deque(maxlen=HISTORY)          # (step, batch loss)
        self.grad_norms: deque = deque(maxlen=HISTORY)      # (step, [‖dL/dW‖ per Dense])

    @property
    def layers(self) -> list:
        return self.model.layers

    def dense_layers(self) -> list:
        return [layer for layer in self.layers if "W" in layer.params]

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` points of a shuffled pass over the data (reshuffled each pass)."""
        if self.cursor + self.setup.batch_size > len(self.order):
            self.order, self.cursor = self.order_rng.permutation(N_POINTS), 0
        picked = self.order[self.cursor:self.cursor + self.setup.batch_size]
        self.cursor += self.setup.batch_size
        return self.x[picked], self.y[picked]

    # ---- the three moves of a training step -------------------------------------------
    def _forward(self) -> float:
        """A new batch through every layer in order; keeps each output; returns the loss."""
        self.xb, self.yb = self.next_batch()
        self.outputs, h = [], self.xb
        for layer in self.layers:
            h = layer.forward(h, training=True)
            self.outputs.append(h)
        self.loss = self.model.loss.forward(h, self.yb)
        self.phase = "forward"
        return self.loss

    def _backward(self) -> None:
        """dL/d(logits) back through every layer in reverse order; keeps the gradient each
        layer received (dL/d its output) and fills the layers' ``grads``."""
        if self.phase != "forward":
            raise PhaseError("press Forward first: backward needs a batch's forward pass")
        g = self.model.loss.backward()
        self.grad_outputs = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            self.grad_outputs[i] = g
            g = self.layers[i].backward(g)
        self.grad_norms.append((self.steps, [float(np.linalg.norm(layer.grads["W"]))
                                             for layer in self.dense_layers()]))
        self.phase = "backward"

    def _step(self) -> None:
        """The optimizer updates every weight from the gradients of the last backward."""
        if self.phase != "backward":
            raise PhaseError("press Backward first: the optimizer steps along the gradients backward fills")
        self.model.optimizer.step()
        self.losses.append((self.steps, float(self.loss)))
        self.steps += 1
        self.phase = "ready"

    # ---- what the page asks for ----------------------------------------------------------
    def forward(self) -> dict:
        """Forward a new batch: its points, each layer's output (in order), the loss."""
        loss = self._forward()
        return {"phase": self.phase, "step": self.steps, "loss": loss,
                "batch": {"x": self.xb.tolist(), "y": self.yb.tolist()},
                "layers": [{**self.describe(i), "output": array_view(out)} for i, out in enumerate(self.outputs)]}

    def backward(self) -> dict:
        """Backward: per layer in the order the gradients arrive (last layer first), the
        gradient it received and its parameters' gradients."""
        self._backward()
        return {"phase": self.phase, "step": self.steps, "loss": self.loss,
                "layers": [{**self.describe(i), "grad_output": array_view(self.grad_outputs[i]),
                            "grads": {k: array_view(g) for k, g in self.layers[i].grads.items()}}
                           for i in reversed(range(len(self.layers)))]}

    def step(self) -> dict:
        """Step: per layer with parameters, each parameter after the update and its change."""
        before = {(i, k): p.copy() for i, layer in enumerate(self.layers) for k, p in layer.params.items()}
        self._step()
        return {"phase": self.phase, "step": self.steps,
                "layers": [{**self.describe(i),
                            "params": {k: {"after": array_view(p), "change": array_view(p - before[i, k])}
                                       for k, p in layer.params.items()}}
                           for i, layer in enumerate(self.layers) if layer.params]}

    def train(self, steps: int) -> dict:
        """``steps`` whole training steps (at most ``MAX_STEPS_PER_CALL``), then ``state()``."""
        steps = _whole_number("train: steps", steps, 1, MAX_STEPS_PER_CALL)
        for _ in range(steps):
            self._forward()
            self._backward()
            self._step()
        return self.state()

    def describe(self, i: int) -> dict:
        layer = self.layers[i]
        return {"index": i, "name": layer.name, "type": layer.type_name,
                "input_shape": list(layer.input_shape), "output_shape": list(layer.output_shape),
                "param_shapes": {k: list(p.shape) for k, p in layer.params.items()}}

    def boundary(self) -> dict:
        """P(class 1) on a ``GRID`` × ``GRID`` grid over [-EXTENT, EXTENT]², rows from the top
        (largest x₂) down, columns left to right."""
        ticks = np.linspace(-EXTENT, EXTENT, GRID, dtype=np.float32)
        gx, gy = np.meshgrid(ticks, ticks[::-1])
        grid = np.stack([gx.ravel(), gy.ravel()], 1)
        probs = self.viewer.predict_proba(grid)[:, 1].reshape(GRID, GRID)
        return {"size": GRID, "extent": EXTENT, "probs": np.round(probs, 4).tolist()}

    def state(self) -> dict:
        """Everything the page draws between steps: setup, layers, data, boundary, curves."""
        logits = self.viewer.predict(self.x)
        dense = self.dense_layers()
        return {"setup": {**asdict(self.setup), "hidden": list(self.setup.hidden)},
                "limits": {"activations": list(ACTIVATIONS), "problems": list(PROBLEMS),
                           "optimizers": list(OPTIMIZER_NAMES), "max_hidden_layers": MAX_HIDDEN_LAYERS,
                           "max_units": MAX_UNITS, "max_steps": MAX_STEPS_PER_CALL},
                "phase": self.phase, "step": self.steps,
                "layers": [self.describe(i) for i in range(len(self.layers))],
                "points": {"x": self.x.tolist(), "y": self.y.tolist()},
                "loss": self.viewer_loss.forward(logits, self.y), "accuracy": accuracy(logits, self.y),
                "losses": [list(p) for p in self.losses],
                "grad_norm_layers": [layer.name for layer in dense],
                "grad_norms": [[s, norms] for s, norms in self.grad_norms],
                "weight_norms": [float(np.linalg.norm(layer.params["W"])) for layer in dense],
                "boundary": self.boundary()}
