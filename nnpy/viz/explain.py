"""``nnpy demo --explain DIR``: one PNG per input showing how the prediction came about.

Three panels: the image as read (grey levels), the 28×28 digit the preprocessing made of
it (``nnpy.data.images.to_mnist`` — what the model was given, before normalization) and
the predicted probability of every class, the winner highlighted.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..data.images import read_grey, to_mnist
from . import new_figure, save_figure

MAX_BARS = 20          # with more classes, only the most probable ones are drawn
DISPLAY_SIDE = 400     # large photos are reduced to this longer side for display


def _for_display(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    if max(h, w) <= DISPLAY_SIDE:
        return grey
    k = DISPLAY_SIDE / max(h, w)
    img = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32))
    return np.asarray(img.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX))


def _unique_path(out_dir: Path, stem: str, taken: set) -> Path:
    name, k = f"{stem}.png", 1
    while name in taken:
        k += 1
        name = f"{stem}-{k}.png"
    taken.add(name)
    return out_dir / name


def explain_figure(path: Path, probs: dict, out: Path) -> None:
    """Original, preprocessed and probability bars of one image into ``out``."""
    grey = read_grey(path)
    digit = to_mnist(grey, name=str(path))
    names, values = list(probs), np.array(list(probs.values()))
    order = np.argsort(-values)[:MAX_BARS] if len(values) > MAX_BARS else np.arange(len(values))
    best = int(np.argmax(values))

    fig = new_figure((11.5, 3.8))
    ax_in, ax_seen, ax_bars = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.5]})
    ax_in.imshow(_for_display(grey), cmap="gray", vmin=0, vmax=1)
    ax_in.set_title(f"input (grey levels) · {grey.shape[1]}×{grey.shape[0]} px", fontsize=10)
    ax_seen.imshow(digit, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax_seen.set_title("what the model saw · 28×28", fontsize=10)
    for ax in (ax_in, ax_seen):
        ax.set_xticks([])
        ax.set_yticks([])

    labels = [names[i] for i in order]
    colors = ["C3" if i == best else "0.65" for i in order]
    ax_bars.barh(range(len(order)), values[order], color=colors)
    ax_bars.set_yticks(range(len(order)), labels, fontsize=9)
    ax_bars.invert_yaxis()                         # first class (or most probable) on top
    ax_bars.set_xlim(0, 1.12)
    ax_bars.set_xlabel("probability")
    for y, i in enumerate(order):
        if values[i] >= 0.005:
            ax_bars.text(values[i] + 0.01, y, f"{100 * values[i]:.1f}%", va="center", fontsize=8)
    ax_bars.spines[["top", "right"]].set_visible(False)
    ax_bars.set_title("class probabilities", fontsize=10)
    fig.suptitle(f"{path.name}: {names[best]} ({100 * values[best]:.1f}%)", fontsize=12)
    save_figure(fig, out)


def explain_results(results: list[dict], out_dir) -> list[Path]:
    """One PNG per ``predict_files`` result in ``out_dir``, named after the input file."""
    out_dir = Path(out_dir)
    taken: set = set()
    written = []
    for r in results:
        path = Path(r["path"])
        out = _unique_path(out_dir, path.stem, taken)
        explain_figure(path, r["probs"], out)
        written.append(out)
    return written
