"""Optimizers: short loops over named parameters, updated in place.

An optimizer is attached to a model (anything with ``named_parameters()`` and
``named_gradients()``, e.g. a Layer). Its state is plain arrays keyed by the same
names as the parameters, so ``state_dict()`` serializes to JSON checkpoints. A model
that has frozen layers (``Layer.trainable = False``) gives only the others
(``named_trainable_parameters``): their weights are never touched and keep no state.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from .. import kernels
from ..backend import xp
from ..kernels import blas
from ..kernels import split_update as split
from ..registry import OPTIMIZERS, register_optimizer


class Optimizer:
    """Base class: gradient clipping, weight-decay bookkeeping, state and serialization.

    ``model``: what to update -- anything with ``named_parameters()`` and ``named_gradients()``,
    e.g. a Layer (may be attached later with ``attach``).
    ``max_grad_norm``: if set, all gradients are scaled down together so that their
    global L2 norm is at most this value.
    ``weight_decay_on``: ``all`` decays every parameter; ``matrices`` only those of 2 or more
    axes -- weights, kernels, embedding tables; not biases, not BatchNorm's or LayerNorm's gamma
    and beta (GPT-2's and nanoGPT's rule; "no bias decay" of Goyal et al. and He et al.'s tricks).
    ``elementwise``: True when ``update`` treats each weight on its own (no shapes, norms or
    sums over a parameter), so that ``step`` may hand it contiguous pieces of a parameter.
    """

    elementwise = False

    def __init__(self, model=None, lr: float = 0.01, weight_decay: float = 0.0,
                 max_grad_norm: float | None = None, weight_decay_on: str = "all"):
        if float(lr) < 0:
            raise ValueError(f"lr must be non-negative, not {lr!r}")
        if float(weight_decay) < 0:
            raise ValueError(f"weight_decay must be non-negative, not {weight_decay!r}")
        if max_grad_norm is not None and float(max_grad_norm) <= 0:
            raise ValueError(f"max_grad_norm must be positive, not {max_grad_norm!r}")
        if weight_decay_on not in ("all", "matrices"):
            raise ValueError(f"weight_decay_on must be 'all' or 'matrices', not {weight_decay_on!r}")
        self.lr = float(lr)
        self.initial_lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.weight_decay_on = weight_decay_on
        self._decayed_names: set | None = None      # set by step(); None: decay every parameter
        self.iterations = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.last_grad_norm: float | None = None
        self.model = None
        self._buffers: dict = {}    # reusable scratch space, not state: see _scratch
        if model is not None:
            self.attach(model)

    @property
    def type_name(self) -> str:
        return getattr(type(self), "registered_name", type(self).__name__)

    def attach(self, model) -> "Optimizer":
        """Update ``model``'s parameters from now on."""
        self.model = model
        return self

    def zero_grad(self) -> None:
        """Set every gradient to zero (backward overwrites them anyway; kept for PyTorch habits)."""
        self.model.zero_grad()

    def _slot(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        """The state array ``key`` of parameter ``name`` (zeros at first use); while a piece of
        the parameter is updated (``nnpy.kernels.split_update``), the matching piece of it."""
        piece = split.piece()
        slots = self.state.setdefault(name, {})
        if key not in slots:
            with split.new_slot_lock:
                if key not in slots:
                    slots[key] = xp.zeros_like(like if piece is None else piece[2])
        if piece is None:
            return slots[key]
        return slots[key].reshape(-1)[piece[0]:piece[1]]

    def _scratch(self, like: np.ndarray, k: int = 0) -> np.ndarray:
        """Scratch array ``k`` shaped like ``like``, reused across parameters and steps
        (each thread updating a piece has its own).

        The update formulas write their intermediate terms here (``out=``) instead of
        allocating a parameter-sized temporary per term: fresh large arrays cost page
        faults, and on a 4-million-weight layer that doubled the optimizer's time.
        """
        thread = threading.get_ident() if split.piece() is not None else None
        key = (like.dtype.str, k, thread)
        buf = self._buffers.get(key)
        if buf is None or buf.size < like.size:
            buf = self._buffers[key] = xp.empty(like.size, like.dtype)
        return buf[:like.size].reshape(like.shape)

    def _decays(self, p) -> bool:
        """Whether parameter ``p`` is decayed (``weight_decay``, ``weight_decay_on``)."""
        return bool(self.weight_decay) and (self.weight_decay_on == "all" or p.ndim >= 2)

    def _decays_now(self, name: str) -> bool:
        """Whether this step decays ``name`` (called by ``update``, which may see a piece of it)."""
        return bool(self.weight_decay) and (self._decayed_names is None or name in self._decayed_names)

    def _decayed(self, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``g + weight_decay · p`` (the L2 term) in scratch 0; the model's gradient is left as
        backward wrote it."""
        decay = xp.multiply(p, p.dtype.type(self.weight_decay), out=self._scratch(p, 0))
        return xp.add(g, decay, out=decay)

    def clip_gradients(self, grads: dict) -> float:
        """Scale ``grads`` in place to a global norm ≤ max_grad_norm; return the norm before."""
        norm = math.sqrt(sum(float(xp.vdot(g, g)) for g in grads.values()))
        if self.max_grad_norm is not None and norm > self.max_grad_norm:
            scale = self.max_grad_norm / (norm + 1e-12)
            for g in grads.values():
                g *= g.dtype.type(scale)
        return norm

    def step(self) -> None:
        """Apply one update to every parameter of the attached model."""
        if self.model is None:
            raise RuntimeError(f"optimizer '{self.type_name}' is not attached to a model")
        params, grads = trainable_parameters(self.model)
        self._decayed_names = {name for name, p in params.items() if self._decays(p)}
        if self.max_grad_norm is not None:
            self.last_grad_norm = self.clip_gradients(grads)
        self.iterations += 1
        for name, p in params.items():
            g = grads[name]
            if self.elementwise and kernels.fast() and split.applies(p, g):
                split.split_update(self.update, name, p, g)      # pieces on several threads, same bits
            else:
                self.update(name, p, g)

    def update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        """Update ``p`` (a parameter, or a contiguous piece of it) in place from its gradient ``g``."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"type": self.type_name, "lr": self.lr, "iterations": self.iterations,
                "state": {n: dict(s) for n, s in self.state.items()}}

    def load_state_dict(self, d: dict) -> None:
        """Restore moments and the step count. The learning rate is not restored: it comes
        from the config and the scheduler (whose position is saved), so a changed lr applies."""
        self.iterations = int(d["iterations"])
        self.state = {n: {k: xp.array(v) for k, v in s.items()} for n, s in d["state"].items()}


def trainable_parameters(model) -> tuple[dict, dict]:
    """(parameters, gradients) an optimizer updates: a Layer's trainable ones (frozen layers
    left out), or everything of another model (``nnpy.autograd.Parameters``)."""
    if hasattr(model, "named_trainable_parameters"):
        return model.named_trainable_parameters(), trainable_gradients(model)
    return model.named_parameters(), trainable_gradients(model)


def trainable_gradients(model) -> dict:
    """The gradients of ``trainable_parameters``, alone (what the loop checks each step)."""
    if hasattr(model, "named_trainable_gradients"):
        return model.named_trainable_gradients()
    return model.named_gradients()


@register_optimizer("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's formulation).

        g ← g + weight_decay · p
        v ← momentum · v + g
        p ← p − lr · (g + momentum · v)   if nesterov
        p ← p − lr · v                    otherwise   (p − lr · g without momentum)
    """

    elementwise = True

    def __init__(self, model=None, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, max_grad_norm: float | None = None, weight_decay_on: str = "all"):
        super().__init__(model, lr, weight_decay, max_grad_norm, weight_decay_on)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"momentum must be in [0, 1), not {momentum!r}")
        if nesterov and not momentum:
            raise ValueError("nesterov needs a momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def update(self, name, p, g):
        if self._decays_now(name):
            g = self._decayed(p, g)
        v = self._slot(name, "velocity", p) if self.momentum else None
        if kernels.fast() and blas.axpby_applies(g, p) and (v is None or blas.axpby_applies(g, v)):
            self._update_in_single_passes(p, g, v)
            return
        t = p.dtype.type
        lr, step = t(self.lr), self._scratch(p, 1)
        if v is None:
            p -= xp.multiply(g, lr, out=step)
            return
        v *= t(self.momentum)
        v += g
        if self.nesterov:
            p -= xp.multiply(g, lr, out=step)
            p -= xp.multiply(v, lr * t(self.momentum), out=step)
        else:
            p -= xp.multiply(v, lr, out=step)

    def _update_in_single_passes(self, p, g, v):
        """The fast twin of ``update``'s lines: each one pass of BLAS's y ← α·x + β·y
        (``kernels.blas.axpby``) instead of numpy's two or three. v's numbers are numpy's bit for
        bit; each ``p ← p − lr·…`` is rounded once, where numpy rounds the product first (apart
        by that rounding for a few percent of the weights; PyTorch's update rounds once too).
        The training step toggled in one process: mlp 64 0.87-0.92, alexnet 64 0.975-0.985;
        between processes against the plain update, mlp 64 0.93, mlp 256 0.97."""
        t = p.dtype.type
        lr, momentum = t(self.lr), t(self.momentum)
        if v is None:
            blas.axpby(-lr, g, 1.0, p)                      # p ← p − lr·g
            return
        blas.axpby(1.0, g, momentum, v)                     # v ← m·v + g
        if self.nesterov:
            blas.axpby(-lr, g, 1.0, p)                      # p ← p − lr·g − lr·m·v
            blas.axpby(-(lr * momentum), v, 1.0, p)
        else:
            blas.axpby(-lr, v, 1.0, p)                      # p ← p − lr·v


@register_optimizer("rmsprop")
class RMSprop(Optimizer):
    """RMSprop (Keras' defaults):

        s ← rho · s + (1 − rho) · g²
        p ← p − lr · g / (sqrt(s) + epsilon)
    """

    elementwise = True

    def __init__(self, model=None, lr: float = 0.001, rho: float = 0.9, epsilon: float = 1e-7,
                 weight_decay: float = 0.0, max_grad_norm: float | None = None, weight_decay_on: str = "all"):
        super().__init__(model, lr, weight_decay, max_grad_norm, weight_decay_on)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def update(self, name, p, g):
        t = p.dtype.type
        if self._decays_now(name):
            g = self._decayed(p, g)
        s = self._slot(name, "square_avg", p)
        s *= t(self.rho)
        term = xp.multiply(g, t(1 - self.rho), out=self._scratch(p, 1))
        term *= g
        s += term                                                     # (1 − rho) · g²
        denom = xp.sqrt(s, out=self._scratch(p, 2))
        denom += t(self.epsilon)
        step = xp.multiply(g, t(self.lr), out=self._scratch(p, 1))
        step /= denom
        p -= step


@register_optimizer("adam")
class Adam(Optimizer):
    """Adam (PyTorch's formulation; weight_decay is an L2 term added to the gradient):

        m ← β1 · m + (1 − β1) · g;   v ← β2 · v + (1 − β2) · g²
        p ← p − lr / (1 − β1ᵗ) · m / (sqrt(v) / sqrt(1 − β2ᵗ) + epsilon)
    """

    elementwise = True

    decoupled = False

    def __init__(self, model=None, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0, max_grad_norm: float | None = None,
                 weight_decay_on: str = "all"):
        super().__init__(model, lr, weight_decay, max_grad_norm, weight_decay_on)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def update(self, name, p, g):
        t = p.dtype.type
        if self._decays_now(name):
            if self.decoupled:
                p *= t(1 - self.lr * self.weight_decay)
            else:
                g = self._decayed(p, g)
        m = self._slot(name, "m", p)
        v = self._slot(name, "v", p)
        term = self._scratch(p, 1)
        m *= t(self.beta1)
        m += xp.multiply(g, t(1 - self.beta1), out=term)
        v *= t(self.beta2)
        xp.multiply(g, t(1 - self.beta2), out=term)
        term *= g
        v += term                                                     # (1 − β2) · g²
        bias1 = 1 - self.beta1 ** self.iterations
        bias2 = 1 - self.beta2 ** self.iterations
        denom = xp.sqrt(v, out=self._scratch(p, 2))
        denom *= t(1 / math.sqrt(bias2))
        denom += t(self.epsilon)
        step = xp.multiply(m, t(self.lr / bias1), out=term)
        step /= denom
        p -= step


@register_optimizer("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p ← p · (1 − lr · weight_decay) first."""

    decoupled = True

    def __init__(self, model=None, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.01, max_grad_norm: float | None = None,
                 weight_decay_on: str = "all"):
        super().__init__(model, lr, beta1, beta2, epsilon, weight_decay, max_grad_norm, weight_decay_on)


def make_optimizer(spec, model=None) -> Optimizer:
    """An optimizer from ``"adam"`` or ``{"type": "sgd", "lr": 0.1, "momentum": 0.9}``."""
    if isinstance(spec, Optimizer):
        return spec.attach(model) if model is not None else spec
    return OPTIMIZERS.make(spec, model=model)


build_optimizer = make_optimizer   # deprecated: the old name, kept for users
