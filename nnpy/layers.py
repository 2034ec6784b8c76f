"""``nnpy.layers.Dense``, ``from nnpy.layers import Conv2D``: every built-in layer class."""
from .nn.layers import *  # noqa: F401,F403
from .nn.layers import Chain, Graph, Residual  # noqa: F401
from .nn.layer import Layer  # noqa: F401
