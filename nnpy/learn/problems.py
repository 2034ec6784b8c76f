"""Small 2-D classification problems, made with numpy: points ``x`` ``(N, 2)`` in about
[-1, 1]² (float32) and labels ``y`` ``(N,)`` in {0, 1} (int64), half of each class.

    circles   a ring around a disc
    moons     two interleaved half circles
    spirals   two arms winding around each other (needs a few layers)
    xor       the four quadrants, opposite ones alike (no straight line separates them)

Each takes ``n`` (even) and a seeded ``numpy.random.Generator``; ``noise`` is the standard
deviation of the Gaussian jitter added to every point.
"""
from __future__ import annotations

import numpy as np


def _halves(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _labelled(first: np.ndarray, second: np.ndarray, rng, noise: float):
    """Class 0 points ``first`` and class 1 points ``second``, jittered, as (x, y)."""
    x = np.concatenate([first, second]) + rng.normal(0, noise, (len(first) + len(second), 2))
    y = np.concatenate([np.zeros(len(first)), np.ones(len(second))]).astype(np.int64)
    return x.astype(np.float32), y


def circles(n: int, rng, noise: float = 0.06):
    """Class 0: a disc of radius 0.4; class 1: a ring of radius 0.8."""
    a, b = _halves(n)
    r0, t0 = 0.4 * np.sqrt(rng.uniform(0, 1, a)), rng.uniform(0, 2 * np.pi, a)
    t1 = rng.uniform(0, 2 * np.pi, b)
    return _labelled(np.stack([r0 * np.cos(t0), r0 * np.sin(t0)], 1),
                     0.8 * np.stack([np.cos(t1), np.sin(t1)], 1), rng, noise)


def moons(n: int, rng, noise: float = 0.08):
    """Two half circles of radius 0.6, the lower one shifted right into the upper's hollow."""
    a, b = _halves(n)
    t0, t1 = rng.uniform(0, np.pi, a), rng.uniform(0, np.pi, b)
    upper = np.stack([0.6 * np.cos(t0) - 0.3, 0.6 * np.sin(t0) - 0.15], 1)
    lower = np.stack([0.3 - 0.6 * np.cos(t1), 0.15 - 0.6 * np.sin(t1)], 1)
    return _labelled(upper, lower, rng, noise)


def spirals(n: int, rng, noise: float = 0.04):
    """Two arms of 1.5 turns each, the second the first turned half a circle."""
    a, b = _halves(n)

    def arm(k, phase):
        t = np.sqrt(rng.uniform(0, 1, k)) * 3 * np.pi
        r = 0.9 * t / (3 * np.pi)
        return np.stack([r * np.cos(t + phase), r * np.sin(t + phase)], 1)

    return _labelled(arm(a, 0.0), arm(b, np.pi), rng, noise)


def xor(n: int, rng, noise: float = 0.05):
    """Points in [-1, 1]², away from the axes; class 1 where x₁·x₂ < 0."""
    a, b = _halves(n)

    def quadrants(k, sign):
        p = rng.uniform(0.1, 0.9, (k, 2)) * rng.choice([-1, 1], (k, 1))
        p[:, 1] *= sign
        return p

    return _labelled(quadrants(a, 1), quadrants(b, -1), rng, noise)


PROBLEMS = {"circles": circles, "moons": moons, "spirals": spirals, "xor": xor}


def make_problem(name: str, n: int, seed: int):
    """``PROBLEMS[name](n, rng)`` with ``rng`` from ``seed``: (x (n, 2) float32, y (n,) int64)."""
    return PROBLEMS[name](n, np.random.default_rng(seed))
