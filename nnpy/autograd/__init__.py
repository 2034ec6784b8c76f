"""Automatic differentiation on numpy: a ``Tensor`` that records its computation,
reverse-mode ``backward``/``grad`` (to any order), and layers and losses written by
their forward alone.

    from nnpy.autograd import Tensor, tanh, grad
    x = Tensor([0.5], requires_grad=True)
    y = tanh(x)
    (dy,) = grad(y, x, create_graph=True)      # 1 − tanh²
    (d2y,) = grad(dy, x)                       # −2 tanh · (1 − tanh²)

Modules: ``tensor`` (Tensor, no_grad), ``function`` (the Function base: forward and
backward side by side), ``backprop`` (backward, grad), the operations ``arith``,
``elementwise``, ``shape``, ``reduce``, ``losses``, ``conv``; ``layer``
(AutogradLayer, AutogradLoss), ``parameters`` (Parameters: Tensors for nnpy's
optimizers), ``dot`` (to_dot) and ``gradcheck``
(check_grad: a function's gradients against finite differences).
Imports only ``nnpy.backend``, ``nnpy.errors``, ``nnpy.registry`` and ``nnpy.nn``.
"""
from .tensor import Tensor, is_grad_enabled, no_grad, set_grad_enabled  # first: the operations import it
from .arith import matmul
from .backprop import grad
from .conv import conv2d, max_pool2d
from .dot import to_dot
from .elementwise import abs, cos, dropout, exp, log, maximum, relu, sigmoid, sin, sqrt, tanh, where  # noqa: A004
from .function import Function
from .gradcheck import check_grad
from .layer import AutogradLayer, AutogradLoss
from .losses import cross_entropy, log_softmax, mse, softmax
from .parameters import Parameters
from .reduce import max, mean, sum  # noqa: A004
from .shape import broadcast_to, concatenate, flatten, reshape, stack, sum_to, transpose

__all__ = ["Tensor", "Function", "grad", "no_grad", "set_grad_enabled", "is_grad_enabled",
           "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "maximum", "where", "dropout",
           "matmul", "sum", "mean", "max", "reshape", "transpose", "flatten", "broadcast_to", "sum_to",
           "concatenate", "stack", "softmax", "log_softmax", "cross_entropy", "mse", "conv2d", "max_pool2d",
           "AutogradLayer", "AutogradLoss", "Parameters", "to_dot", "check_grad"]
