"""Weight initializers: ``init(shape, rng, dtype) -> array``.

``fan_in``/``fan_out`` follow the usual convention: for a Dense weight of shape
(in, out) they are (in, out); for a Conv2D weight (out_c, in_c, kh, kw) they are
(in_c·kh·kw, out_c·kh·kw); recurrent weights (in, k·units) count one gate block.
"""
from __future__ import annotations

import math

from ..backend import xp
from ..registry import INITIALIZERS, register_initializer


def fans(shape: tuple) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` (see the module docstring)."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) >= 3:  # (out_c, in_c, *kernel)
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    n = shape[0] if shape else 1
    return n, n


class Initializer:
    """Base class; ``__call__(shape, rng, dtype)`` returns a new array."""

    def __call__(self, shape, rng, dtype):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


@register_initializer("zeros")
class Zeros(Initializer):
    def __call__(self, shape, rng, dtype):
        return xp.zeros(shape, dtype=dtype)


@register_initializer("ones")
class Ones(Initializer):
    def __call__(self, shape, rng, dtype):
        return xp.ones(shape, dtype=dtype)


@register_initializer("constant")
class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, rng, dtype):
        return xp.full(shape, self.value, dtype=dtype)


@register_initializer("normal")
class Normal(Initializer):
    def __init__(self, mean: float = 0.0, std: float = 0.05):
        self.mean, self.std = float(mean), float(std)

    def __call__(self, shape, rng, dtype):
        return rng.normal(self.mean, self.std, size=shape).astype(dtype)


@register_initializer("uniform")
class Uniform(Initializer):
    def __init__(self, low: float = -0.05, high: float = 0.05):
        self.low, self.high = float(low), float(high)

    def __call__(self, shape, rng, dtype):
        return rng.uniform(self.low, self.high, size=shape).astype(dtype)


class _VarianceScaling(Initializer):
    """Draw with variance ``scale / fan`` from a normal or a uniform distribution."""
    scale, mode, distribution = 1.0, "fan_in", "normal"

    def __call__(self, shape, rng, dtype):
        fan_in, fan_out = fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return rng.uniform(-limit, limit, size=shape).astype(dtype)
        return rng.normal(0.0, math.sqrt(var), size=shape).astype(dtype)


@register_initializer("glorot_uniform", "xavier_uniform")
class GlorotUniform(_VarianceScaling):
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    scale, mode, distribution = 1.0, "fan_avg", "uniform"


@register_initializer("glorot_normal", "xavier_normal")
class GlorotNormal(_VarianceScaling):
    """N(0, 2 / (fan_in + fan_out))."""
    scale, mode, distribution = 1.0, "fan_avg", "normal"


@register_initializer("he_uniform", "kaiming_uniform")
class HeUniform(_VarianceScaling):
    """U(-a, a) with a = sqrt(6 / fan_in): keeps ReLU activations' variance."""
    scale, mode, distribution = 2.0, "fan_in", "uniform"


@register_initializer("he_normal", "kaiming_normal")
class HeNormal(_VarianceScaling):
    """N(0, 2 / fan_in)."""
    scale, mode, distribution = 2.0, "fan_in", "normal"


@register_initializer("lecun_normal")
class LecunNormal(_VarianceScaling):
    """N(0, 1 / fan_in)."""
    scale, mode, distribution = 1.0, "fan_in", "normal"


@register_initializer("lecun_uniform")
class LecunUniform(_VarianceScaling):
    scale, mode, distribution = 1.0, "fan_in", "uniform"


@register_initializer("orthogonal")
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one, times ``gain``."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def __call__(self, shape, rng, dtype):
        rows = shape[0]
        cols = math.prod(shape[1:]) if len(shape) > 1 else 1
        a = rng.normal(size=(max(rows, cols), min(rows, cols)))
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diag(r))  # make the decomposition unique
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)


def make_initializer(spec) -> Initializer:
    """An initializer from a name, a ``{"type": …}`` mapping or an Initializer."""
    if isinstance(spec, Initializer) or callable(spec) and not isinstance(spec, (str, dict, type)):
        return spec
    return INITIALIZERS.make(spec)


get_initializer = build_initializer = make_initializer   # deprecated: the old names, kept for users
