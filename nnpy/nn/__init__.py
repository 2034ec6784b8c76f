"""The neural-network core: layers, losses, initializers, metrics and the gradient checker.

Knows nothing of configs, files, datasets or the command line.
"""
from . import initializers, layers, memory
from .gradcheck import GradcheckResult, gradcheck
from .layer import Layer, build_layer, make_layer   # build_layer: the old name, kept for users
from .layers import *  # noqa: F401,F403
