"""Losses: ``forward(pred, target) -> float`` (mean over the batch), ``backward() -> grad_pred``.

``pred`` is what the model outputs (logits for the classification losses). Targets
may be integer class ids or one-hot / probability rows.
"""
from __future__ import annotations

from .. import functional as F
from ..backend import xp
from ..functional import softmax  # noqa: F401  (nnpy.nn.losses.softmax: the one softmax, re-exported)
from ..registry import LOSSES, register_loss


class Loss:
    """Base class. Subclasses cache in ``forward`` what ``backward`` needs.

    ``applies``: the activation layer's name that the loss applies to the model's outputs
    itself (a model must not end with that layer: ``activation_clash``), or None.
    ``task``: the kind of model the loss trains, ``classification`` or ``regression`` (None:
    not said; such a model counts as a classifier, and any metric may measure it)."""

    applies: str | None = None
    task: str | None = None

    def forward(self, pred, target) -> float:
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError

    def __call__(self, pred, target) -> float:
        return self.forward(pred, target)

    @property
    def type_name(self) -> str:
        return getattr(type(self), "registered_name", type(self).__name__)


def activation_clash(model, loss) -> str | None:
    """Why training goes wrong when ``model`` (a layer or a chain of them) ends with the
    activation that ``loss`` applies itself (Softmax before cross_entropy: the loss takes the
    softmax of probabilities, whose gradient is tiny), naming the layer and the fix; else None."""
    last = model
    while getattr(last, "layers", None):          # the last layer of a chain, of a chain, …
        last = last.layers[-1]
    applied = getattr(loss, "applies", None)
    if applied is None or last.type_name != applied:
        return None
    return (f"the model's last layer '{last.name or last.type_name}' ({applied}) feeds loss "
            f"'{loss.type_name}', which applies {applied.lower()} itself: training follows the wrong "
            f"gradient and learns slowly or not at all; remove that layer (the loss takes the raw outputs, "
            f"the logits)")


def _check_same_shape(loss: Loss, pred, target):
    target = xp.asarray(target)
    if target.shape != pred.shape:
        if target.size == pred.size:
            target = target.reshape(pred.shape)
        else:
            raise ValueError(f"loss '{loss.type_name}': predictions have shape {pred.shape} "
                             f"but targets {target.shape}")
    return target.astype(pred.dtype, copy=False)


@register_loss("cross_entropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "ce")
class CrossEntropy(Loss):
    """Softmax cross-entropy from logits, fused for stability.

    pred (N, C) logits — or (N, T, C), averaged over all N·T positions; target (N,)
    or (N, T) integer classes, or one-hot / probability rows of pred's shape.
    With ``label_smoothing`` ε the target becomes (1 − ε)·onehot + ε/C.

    L = −mean_n Σ_c t_nc · log_softmax(z_n)_c;   dL/dz = (softmax(z) − t) / N.
    """

    applies = "Softmax"
    task = "classification"

    def __init__(self, label_smoothing: float = 0.0):
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), not {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, pred, target):
        c = pred.shape[-1]
        z = pred.reshape(-1, c)                               # (M, C)
        log_p = F.log_softmax(z, axis=1)                      # (M, C)
        target = xp.asarray(target)
        n = z.shape[0]
        if target.ndim == pred.ndim and target.shape[-1] == c and target.size == pred.size:
            t = target.reshape(-1, c).astype(pred.dtype, copy=False)
        else:
            labels = target.reshape(-1).astype(xp.int64, copy=False)
            if labels.shape[0] != n:
                raise ValueError(f"loss 'cross_entropy': {n} predictions but {labels.shape[0]} targets")
            if labels.min(initial=0) < 0 or labels.max(initial=0) >= c:
                raise ValueError(f"loss 'cross_entropy': target classes must be in [0, {c}), "
                                 f"got {labels.min()}..{labels.max()}")
            t = F.one_hot(labels, c, z.dtype)
        if self.label_smoothing:
            t = t * (1 - self.label_smoothing) + self.label_smoothing / c
        self.probs, self.t, self.shape = xp.exp(log_p), t, pred.shape
        return float(F.cross_entropy(log_p, t))

    def backward(self):
        return F.cross_entropy_backward(self.probs, self.t).astype(self.probs.dtype, copy=False).reshape(self.shape)


@register_loss("binary_cross_entropy", "binary_crossentropy", "bce")
class BinaryCrossEntropy(Loss):
    """Sigmoid + binary cross-entropy from logits, element-wise, mean over all elements.

    L = mean(max(z, 0) − z·t + log(1 + exp(−|z|)));   dL/dz = (σ(z) − t) / size.
    """

    applies = "Sigmoid"
    task = "classification"

    def forward(self, pred, target):
        self.t = _check_same_shape(self, pred, target)
        loss, self.sig = F.binary_cross_entropy(pred, self.t)
        return float(loss)

    def backward(self):
        return F.binary_cross_entropy_backward(self.sig, self.t).astype(self.t.dtype, copy=False)


@register_loss("mse", "mean_squared_error")
class MSE(Loss):
    """L = mean((pred − t)²) over all elements;  dL/dpred = 2 (pred − t) / size."""

    task = "regression"

    def forward(self, pred, target):
        self.diff = pred - _check_same_shape(self, pred, target)
        return float(F.mse(self.diff))

    def backward(self):
        return F.mse_backward(self.diff)


@register_loss("mae", "mean_absolute_error")
class MAE(Loss):
    """L = mean(|pred − t|);  dL/dpred = sign(pred − t) / size."""

    task = "regression"

    def forward(self, pred, target):
        self.diff = pred - _check_same_shape(self, pred, target)
        return float(F.mae(self.diff))

    def backward(self):
        return F.mae_backward(self.diff)


@register_loss("huber", "smooth_l1")
class Huber(Loss):
    """L = mean(½d² if |d| ≤ δ else δ(|d| − ½δ)) with d = pred − t;  dL/dd = clip(d, −δ, δ) / size."""

    task = "regression"

    def __init__(self, delta: float = 1.0):
        if float(delta) <= 0:
            raise ValueError(f"delta must be positive, not {delta!r}")
        self.delta = float(delta)

    def forward(self, pred, target):
        self.diff = pred - _check_same_shape(self, pred, target)
        return float(F.huber(self.diff, self.delta))

    def backward(self):
        return F.huber_backward(self.diff, self.delta)


def loss_task(spec) -> str | None:
    """The ``task`` of a loss given as a name, a ``{type: …}`` spec or a ``Loss``."""
    if isinstance(spec, Loss):
        return spec.task
    return getattr(LOSSES.get(spec["type"] if isinstance(spec, dict) else spec), "task", None)


def make_loss(spec) -> Loss:
    """A loss from ``"cross_entropy"`` or ``{"type": "huber", "delta": 2.0}``."""
    return spec if isinstance(spec, Loss) else LOSSES.make(spec)


build_loss = make_loss   # deprecated: the old name, kept for users
