"""Pictures of runs and models: training curves, evaluation reports, filters.

Charts (curves, confusion matrix, probability bars) need the optional matplotlib
(``pip install -e ".[plot]"``); image grids (misclassified digits, convolution
filters) are drawn with Pillow alone. Nothing here opens a window: figures are
rendered off-screen by matplotlib's Agg canvas and written as PNG files.

    curves.py   metrics.csv of one or more runs -> loss / metric / learning-rate chart
    report.py   ``nnpy val --report``: confusion.png, mistakes.png, report.md
    grids.py    Pillow image grids: misclassified samples, first-layer convolution kernels

``nnpy demo --explain`` draws its pictures with these helpers in ``nnpy.digits.explain``.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import NnpyError

INSTALL_HINT = 'pip install -e ".[plot]"'


class MissingExtraError(NnpyError):
    """An optional dependency (matplotlib) is needed for what was asked."""


def new_figure(figsize: tuple, **kwargs):
    """A matplotlib ``Figure`` on the off-screen Agg canvas (no pyplot, no global state).

    Raises ``MissingExtraError`` with the install command when matplotlib is absent.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def require_matplotlib(what: str = "drawing charts") -> None:
    """Fail early, in one line, when matplotlib is not installed (``what`` names the command)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"{what}: matplotlib is not installed; install it with: {INSTALL_HINT}") \
            from None


def save_figure(fig, path) -> None:
    """Write ``fig`` as a PNG, creating the folder; white background, tight margins."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, facecolor="white", bbox_inches="tight", pad_inches=0.15)
