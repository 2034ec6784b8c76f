"""The public import path of the layer classes: ``nnpy.layers.Dense``, ``from nnpy.layers import Conv2D``.

The same classes as ``nnpy.nn.layers`` -- where they are written, one file per family, and which
nnpy's own code imports -- plus their base class ``Layer``: two paths to one set of classes, this
short one for users (the README, notebooks, plugins).
"""
from .nn.layers import *  # noqa: F401,F403
from .nn.layers import Chain, Graph, Residual, TestTimeAugment  # noqa: F401
from .nn.layer import Layer  # noqa: F401
