"""The old path of ``nnpy.nn.placeholders`` (Keras' functional API), kept for users; ``Symbol``,
``is_symbolic`` and ``call_symbolic`` are the old names of ``Placeholder``, ``is_placeholder`` and
``record_call``."""
from .placeholders import Input, Placeholder, graph_nodes, is_placeholder, record_call  # noqa: F401

Symbol, is_symbolic, call_symbolic = Placeholder, is_placeholder, record_call
