"""The old path of ``nnpy.symbols`` (a config's model section → a model), kept for users."""
from ..symbols import build_model, graph_section, make_model, model_layers  # noqa: F401
