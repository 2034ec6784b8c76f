"""Parameters that never receive a gradient: they do not train, and nothing else would say so.

A parameter whose gradient is zero in every step of the first epoch of a fit is almost always a
bug: a hand-written layer whose ``backward`` does not fill ``self.grads[key]``, or an
AutogradLayer whose ``forward`` computes its output from a copy of the parameter's array
instead of the parameter itself. ``GradientWatch`` looks at the gradients after each backward
of the first epoch (until every parameter has had one) and then prints one warning line per
such parameter on stderr, once -- like TensorFlow's "Gradients do not exist for variables".
"""
from __future__ import annotations

import sys

from ..autograd.layer import AutogradLayer


class GradientWatch:
    """Warns once per parameter that got no gradient in any step of the first epoch of a fit.

    ``model``: a layer (``walk()`` gives its layers, each with ``params`` and ``grads``); any
    other model is not watched. ``quiet``: watch but print nothing (a data-parallel process
    other than process 0: the gradients are the same everywhere).
    """

    def __init__(self, model, quiet: bool = False):
        self.model, self.quiet = model, quiet
        self.waiting: list | None = None     # (layer, key) without a gradient so far; None: not watching
        self.reported: set = set()            # (id(layer), key) already warned about

    def start(self) -> None:
        """A fit begins: watch every parameter not reported yet."""
        layers = self.model.walk() if hasattr(self.model, "walk") else ()
        self.waiting = [(layer, key) for layer in layers if layer.trainable for key in layer.params
                        if (id(layer), key) not in self.reported]           # frozen layers get none

    def after_backward(self) -> None:
        """Forget the parameters whose gradient of this step is not all zeros."""
        if self.waiting:
            self.waiting = [(layer, key) for layer, key in self.waiting if not layer.grads[key].any()]

    def report(self) -> None:
        """At the end of an epoch: the first time, one warning line per parameter still waiting."""
        if self.waiting is None:
            return
        for layer, key in self.waiting:
            self.reported.add((id(layer), key))
            if not self.quiet:
                print(f"nnpy: warning: {no_gradient_message(layer, key)}", file=sys.stderr, flush=True)
        self.waiting = None


def no_gradient_message(layer, key: str) -> str:
    """The warning for parameter ``key`` of ``layer``: what happened and how to fix it."""
    name = f"layer '{layer.name or layer.type_name}' ({layer.type_name})"
    if isinstance(layer, AutogradLayer):
        fix = (f"compute forward's output from self.param('{key}') or self.params['{key}'] (an array taken "
               f"from it with .data or numpy does not train), or remove the parameter")
    else:
        fix = f"its backward must fill self.grads['{key}'] with dL/d{key}"
    return (f"{name}: parameter '{key}' got no gradient in any step of the first epoch, so training "
            f"leaves it as it was; {fix}")
