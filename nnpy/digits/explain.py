"""``nnpy demo --explain DIR``: one PNG per input showing how the reading came about.

One digit: the stages of ``nnpy.digits.preprocess`` side by side — the image as read, the
paper's estimated background, the flattened ink with its threshold, the ink mask with
the digit's box (the components kept in red), the 28×28 the model saw — and the class
probabilities. An image that could not be read shows the stages up to the failure,
with the error as the title ("no ink found" next to the flattened image and its
threshold). A row (``--multi``): the photo with each digit's box and label, and the
28×28 of every digit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..viz import new_figure, save_figure

MAX_BARS = 20          # with more classes, only the most probable ones are drawn
DISPLAY_SIDE = 400     # large photos are reduced to this longer side for display


def _for_display(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    if max(h, w) <= DISPLAY_SIDE:
        return grey
    k = DISPLAY_SIDE / max(h, w)
    img = Image.fromarray(np.ascontiguousarray(grey, dtype=np.float32))
    return np.asarray(img.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX))


def output_names(paths: list) -> list[str]:
    """A distinct PNG name per input: ``<stem>.png``, or ``<stem>-<ext>.png`` when
    several inputs share a stem (``a.jpg`` and ``a.png``), then ``-2``, ``-3`` … when
    even that repeats (the same name in two folders)."""
    stems = [Path(p).stem for p in paths]
    names, taken = [], set()
    for path, stem in zip(paths, stems):
        ext = Path(path).suffix.lstrip(".").lower()
        base = f"{stem}-{ext}" if stems.count(stem) > 1 and ext else stem
        name, k = f"{base}.png", 1
        while name in taken:
            k += 1
            name = f"{base}-{k}.png"
        taken.add(name)
        names.append(name)
    return names


def _image_panel(ax, image, title, cmap="gray", vmax=1.0):
    ax.imshow(image, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _mask_overlay(st) -> np.ndarray:
    """RGB: ink mask in grey, the kept components in red."""
    rgb = np.repeat((st.mask * 0.55)[..., None], 3, axis=2)
    if st.kept is not None:
        rgb[st.kept] = (0.9, 0.15, 0.1)
    return rgb


def _bars(ax, probs: dict) -> None:
    names, values = list(probs), np.array(list(probs.values()))
    order = np.argsort(-values)[:MAX_BARS] if len(values) > MAX_BARS else np.arange(len(values))
    best = int(np.argmax(values))
    ax.barh(range(len(order)), values[order], color=["C3" if i == best else "0.65" for i in order])
    ax.set_yticks(range(len(order)), [names[i] for i in order], fontsize=9)
    ax.invert_yaxis()                              # first class (or most probable) on top
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("probability")
    for y, i in enumerate(order):
        if values[i] >= 0.005:
            ax.text(values[i] + 0.01, y, f"{100 * values[i]:.1f}%", va="center", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("class probabilities", fontsize=9)


def digit_figure(grey: np.ndarray, st, title: str, probs: dict | None, out: Path) -> None:
    """The stages ``st`` (``DigitStages``, complete or up to a failure) of one image."""
    panels = [(_for_display(grey), f"input · {grey.shape[1]}×{grey.shape[0]} px", {})]
    if st.background is not None:
        panels.append((st.background, "paper (estimated background)", {}))
    if st.ink is not None:
        top = max(float(st.ink.max()), 1e-6)
        panels.append((st.ink, f"flattened ink · max {top:.2f}\nthreshold {st.threshold:.3f}",
                       {"cmap": "magma", "vmax": max(top, st.threshold)}))
    if st.mask is not None:
        box = "" if st.box is None else " · box"
        panels.append((_mask_overlay(st), f"ink > threshold{box}\n(kept in red)", {}))
    if st.digit is not None:
        panels.append((st.digit, "what the model saw · 28×28", {}))
    ratios = [1] * len(panels) + ([1.6] if probs else [])
    fig = new_figure((2.6 * len(panels) + (4 if probs else 0), 3.4))
    axes = fig.subplots(1, len(ratios), gridspec_kw={"width_ratios": ratios})
    axes = np.atleast_1d(axes)
    for ax, (image, text, kw) in zip(axes, panels):
        _image_panel(ax, image, text, **kw)
    if st.box is not None and len(panels) >= 4:
        x0, y0, x1, y1 = st.box
        axes[3].add_patch(_rectangle(x0, y0, x1, y1, "C0"))
    if probs:
        _bars(axes[-1], probs)
    fig.suptitle(title, fontsize=11, y=1.06, color="C3" if probs is None else "black")
    save_figure(fig, out)


def _rectangle(x0, y0, x1, y1, color):
    from matplotlib.patches import Rectangle

    return Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, lw=1.5)


def row_figure(grey: np.ndarray, result: dict, out: Path) -> None:
    """The photo of a row with each digit's box and label, and each digit's 28×28."""
    row = result["stages"]
    digits = result["digits"]
    n = len(digits)
    fig = new_figure((max(6.0, 0.9 * n + 1), 4.2))
    grid = fig.add_gridspec(2, n, height_ratios=[2.2, 1])
    ax = fig.add_subplot(grid[0, :])
    shown = _for_display(grey)
    k = shown.shape[1] / grey.shape[1]
    _image_panel(ax, shown, f"{grey.shape[1]}×{grey.shape[0]} px · {n} digits")
    for d in digits:
        x0, y0, x1, y1 = (v * k for v in d["box"])
        ax.add_patch(_rectangle(x0, y0, x1, y1, "C3"))
        ax.text(x0, y0 - 2, d["label"], color="C3", fontsize=11, va="bottom", weight="bold")
    for i, (digit, d) in enumerate(zip(row.digits, digits)):
        _image_panel(fig.add_subplot(grid[1, i]), digit, f"{d['label']} {100 * d['probs'][d['label']]:.0f}%")
    fig.suptitle(f"{Path(result['path']).name}: {result['text']}", fontsize=12)
    save_figure(fig, out)


def _title(item: dict) -> str:
    """"file.png: 7 (99.9%)" for one prediction."""
    return f"{Path(item['path']).name}: {item['label']} ({100 * item['probs'][item['label']]:.1f}%)"


def image_figure(path, seen: np.ndarray, title: str, probs: dict, out: Path) -> None:
    """An image-folder model's input: the file, what the model saw (its size and channels), bars."""
    original = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255
    fig = new_figure((9.5, 3.4))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.6]})
    _image_panel(axes[0], original, f"input · {original.shape[1]}×{original.shape[0]} px")
    shown = seen[0] if seen.shape[0] == 1 else np.moveaxis(seen, 0, -1)
    _image_panel(axes[1], shown, f"what the model saw · {seen.shape[2]}×{seen.shape[1]}")
    _bars(axes[2], probs)
    fig.suptitle(title, fontsize=11, y=1.06)
    save_figure(fig, out)


def explain_results(results: list[dict], failures: list[dict], out_dir) -> list[tuple[str, Path]]:
    """One PNG per result and per failure with stages (from ``predict_files(...,
    keep_stages=True)``) in ``out_dir``; ``[(input path, picture), …]`` in input order."""
    from ..data.images import read_grey

    out_dir = Path(out_dir)
    items = [("ok", r) for r in results] + [("failed", f) for f in failures if f.get("stages")]
    names = output_names([item["path"] for _, item in items])
    written = []
    for (kind, item), name in zip(items, names):
        out = out_dir / name
        if kind == "ok" and "seen" in item:      # an image-folder model: image_figure reads the file
            image_figure(item["path"], item["seen"], _title(item), item["probs"], out)
        elif kind == "failed":
            digit_figure(read_grey(item["path"]), item["stages"], item["error"], None, out)
        elif "digits" in item:
            row_figure(read_grey(item["path"]), item, out)
        else:
            digit_figure(read_grey(item["path"]), item["stages"], _title(item), item["probs"], out)
        written.append((item["path"], out))
    return written
