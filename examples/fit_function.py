"""Fit y = sin(x1) − cos(x2) on [−5, 5]² with Tensors and nnpy's Adam — mini_torch's task.

    python examples/fit_function.py [--steps 15000]

The network of configs/function.yaml (2-64-64-1, tanh), written as three Tensor
expressions; ``backward()`` fills each parameter's ``.grad`` and nnpy's optimizer and
scheduler update them through ``Parameters``. Prints the test MSE (≤ 1e-3 expected).
"""
import argparse

import numpy as np

import nnpy
from nnpy.autograd import Parameters, Tensor, mse, no_grad, tanh


def main(steps: int = 15000, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, (5000, 2)).astype(np.float32)
    y = (np.sin(x[:, :1]) - np.cos(x[:, 1:])).astype(np.float32)
    x = x / 2.886                                                   # inputs with unit variance
    (x_train, y_train), (x_test, y_test) = (x[:4000], y[:4000]), (x[4000:], y[4000:])

    def weights(n_in, n_out):                                       # Glorot uniform
        limit = np.sqrt(6 / (n_in + n_out))
        return Tensor(rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32), requires_grad=True)

    p = Parameters(W1=weights(2, 64), W2=weights(64, 64), W3=weights(64, 1),
                   b1=Tensor(np.zeros(64, np.float32), requires_grad=True),
                   b2=Tensor(np.zeros(64, np.float32), requires_grad=True),
                   b3=Tensor(np.zeros(1, np.float32), requires_grad=True))
    t = p.tensors

    def net(inputs):
        h = tanh(inputs @ t["W1"] + t["b1"])
        h = tanh(h @ t["W2"] + t["b2"])
        return h @ t["W3"] + t["b3"]

    optimizer = nnpy.make_optimizer({"type": "adam", "lr": 3e-3}, p)
    schedule = nnpy.make_scheduler({"type": "cosine", "total": steps, "warmup": 100}, optimizer)
    for _ in range(steps):
        batch = rng.integers(0, len(x_train), 32)
        loss = mse(net(Tensor(x_train[batch])), y_train[batch])
        p.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    with no_grad():
        return mse(net(Tensor(x_test)), y_test).item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15000)
    args = parser.parse_args()
    print(f"test MSE {main(args.steps):.2e}")
