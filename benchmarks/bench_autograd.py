"""Training-step time of the configs/mlp.yaml MLP with AutogradLayer dense layers vs the built-in ones.

    python benchmarks/bench_autograd.py [--batch 128] [--steps 200] [--json]
    OMP_NUM_THREADS=1 python benchmarks/bench_autograd.py --cpu-time    # steadier on a busy machine

784-512-512-10 with ReLU and dropout 0.25 (configs/mlp.yaml), cross-entropy, SGD with
Nesterov momentum and weight decay, float32, on MNIST-shaped random data. Three models,
timed in one process, interleaved in rounds of 5 steps after warm-up; medians:

  builtin   the built-in Dense, ReLU and Dropout layers (hand-written backward);
  dense     the same network with each Dense an AutogradLayer (``x @ W + b``);
  whole     the whole MLP as one AutogradLayer (matmuls, relu, dropout in Tensor ops).

A step is forward + loss + backward + optimizer step. All three start from the same
weights and draw the same dropout masks, so their losses are checked to agree.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from nnpy.autograd import AutogradLayer, dropout, relu  # noqa: E402
from nnpy.layers import Chain, Dense, Dropout, Flatten, ReLU  # noqa: E402
from nnpy.nn.losses import make_loss  # noqa: E402
from nnpy.optim import make_optimizer  # noqa: E402

HIDDEN, RATE = (512, 512), 0.25


class TensorDense(AutogradLayer):
    """y = x @ W + b with the backward derived."""

    def __init__(self, units: int, init="glorot_uniform", name=None):
        super().__init__(name)
        self.units, self.init = units, init

    def build(self, input_shape):
        self.add_param("W", (input_shape[-1], self.units), self.init)
        self.add_param("b", (self.units,), "zeros")
        return (self.units,)

    def forward(self, x, training=False):
        return x @ self.param("W") + self.param("b")


class TensorMLP(AutogradLayer):
    """The whole MLP in Tensor operations: [x @ W + b → relu → dropout] × 2 → x @ W + b."""

    def build(self, input_shape):
        sizes = (input_shape[0], *HIDDEN, 10)
        for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            self.add_param(f"W{k}", (n_in, n_out), "he_normal" if k < len(sizes) - 1 else "glorot_uniform")
            self.add_param(f"b{k}", (n_out,), "zeros")
        return (10,)

    def forward(self, x, training=False):
        for k in (1, 2):
            x = dropout(relu(x @ self.param(f"W{k}") + self.param(f"b{k}")), RATE, training, self.rng)
        return x @ self.param("W3") + self.param("b3")


def builtin_layers(dense=Dense):
    layers = [Flatten()]
    for units in HIDDEN:
        layers += [dense(units, init="he_normal"), ReLU(), Dropout(RATE)]
    return layers + [dense(10)]


def make_step(layers, batch: int):
    """A closure doing one training step; the model is initialized with seed 0, dropout seed 1."""
    model = Chain(layers, name="model")
    model.needs_input_grad = False
    model.initialize((1, 28, 28), rng=np.random.default_rng(0))
    model.set_rng(np.random.default_rng(1))
    loss = make_loss("cross_entropy")
    opt = make_optimizer({"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
                         model)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    losses = []

    def step():
        pred = model.forward(x, training=True)
        losses.append(loss.forward(pred, y))
        model.backward(loss.backward())
        opt.step()
    return step, losses


CLOCK = time.perf_counter


def time_steps(step, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = CLOCK()
        step()
        out.append(CLOCK() - t)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    from nnpy.nn.memory import keep_freed_memory
    keep_freed_memory()          # as the nnpy command does for every run
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=200, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.add_argument("--cpu-time", action="store_true",
                   help="time the process's CPU seconds instead of wall time (steadier on a busy machine; "
                        "use with OMP_NUM_THREADS=1)")
    args = p.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter

    models = {"builtin": make_step(builtin_layers(), args.batch),
              "dense": make_step(builtin_layers(TensorDense), args.batch),
              "whole": make_step([Flatten(), TensorMLP()], args.batch)}
    for step, _ in models.values():
        time_steps(step, args.warmup)
    first = {name: losses[:args.warmup] for name, (_, losses) in models.items()}
    for name in ("dense", "whole"):       # same network, same weights, same dropout masks: same losses
        np.testing.assert_allclose(first[name], first["builtin"], rtol=1e-4)
    times = {name: [] for name in models}
    for _ in range(max(1, args.steps // 5)):
        for name, (step, _) in models.items():
            times[name] += time_steps(step, 5)
    ms = {name: 1000 * statistics.median(t) for name, t in times.items()}
    result = {"batch": args.batch, "steps": len(times["builtin"]), "clock": "cpu" if args.cpu_time else "wall",
              "ms_per_step": {k: round(v, 3) for k, v in ms.items()},
              "ratio_dense": round(ms["dense"] / ms["builtin"], 3),
              "ratio_whole": round(ms["whole"] / ms["builtin"], 3)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"MLP 784-512-512-10, batch {args.batch}, {result['steps']} steps each, median ms/step "
              f"({result['clock']} time):")
        for name, value in ms.items():
            print(f"  {name:8s} {value:8.2f} ms   {value / ms['builtin']:.3f}× builtin")
    return result


if __name__ == "__main__":
    main()
