"""Export a built nnpy model to other formats: ONNX, for onnxruntime, Netron and converters.

    graph.py    GraphBuilder: collects ONNX nodes and initializers under nnpy's layer names
    layers.py   one small function per layer type: the ONNX nodes that layer becomes
    onnx.py     export_onnx(model, path, …): input normalization, outputs, metadata, check, save

Needs the optional ``onnx`` package (``pip install -e ".[onnx]"``); it is imported
only when an export runs, and its absence is one line saying what to install.
"""
from __future__ import annotations

from ..errors import NnpyError

INSTALL_HINT = 'pip install -e ".[onnx]"'


class MissingOnnxError(NnpyError):
    """The optional ``onnx`` package is needed for what was asked."""


class ExportError(NnpyError):
    """A model (or one of its layers) cannot be written in the asked format."""


def require_onnx(what: str = "ONNX export"):
    """The ``onnx`` module; ``MissingOnnxError`` with the install command when it is absent."""
    try:
        import onnx
    except ImportError:
        raise MissingOnnxError(f"{what}: the onnx package is not installed; install it with: "
                               f"{INSTALL_HINT}") from None
    return onnx


from .layers import onnx_exporter  # noqa: E402  (after the errors the submodules import)
from .onnx import OPSET, export_onnx, to_onnx  # noqa: E402

__all__ = ["ExportError", "MissingOnnxError", "OPSET", "export_onnx", "onnx_exporter", "require_onnx",
           "to_onnx"]
